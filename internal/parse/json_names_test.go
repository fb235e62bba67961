package parse

import (
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestNameInfo keeps newNameInfo in step with what it caches: keyRanks,
// shapeOf, the metadata names, jsonMap and the host members.
func TestNameInfo(t *testing.T) {
	names := []string{"", "x", "ab", "abc", "abcd", "abcdefg", "abcdefgh", "abcdefghijklmno", "abcdefghijklmnop", strings.Repeat("long", 9),
		"_source", "_host", "_category", "_partition", "_raw", "host", "hostname", "host.name", "Host", "winlog.event_id", "Event.System.EventID",
		"Event.System.EventID.#text", "eventSource", "eventName", "k\"ey", "k\\ey", "日本", "a\x01"}
	names = append(names, TimeKeys...)
	names = append(names, MessageKeys...)
	for _, m := range jsonMap.table {
		names = append(names, m.from, m.to)
	}
	for _, name := range names {
		in := newNameInfo(name)
		tr, mr := keyRanks(name)
		if int(in.timeRank) != tr || int(in.msgRank) != mr {
			t.Errorf("%q: ranks %d %d, keyRanks %d %d", name, in.timeRank, in.msgRank, tr, mr)
		}
		sh := shapeOf([]event.Field{{Name: name}})
		if sh.windows != (in.flags&nameWindows != 0) || sh.ctSource != (in.flags&nameCTSource != 0) || sh.ctName != (in.flags&nameCTName != 0) {
			t.Errorf("%q: flags %b, shape %+v", name, in.flags, sh)
		}
		meta := name == event.FieldSource || name == event.FieldHost || name == event.FieldCategory || name == event.FieldPartition
		if meta != (in.flags&nameMeta != 0) {
			t.Errorf("%q: meta flag %v, want %v", name, !meta, meta)
		}
		if want := map[string]uint8{"host": 1, "hostname": 2, "host.name": 3}[name]; in.hostRank != want {
			t.Errorf("%q: hostRank %d, want %d", name, in.hostRank, want)
		}
		var wantEnts []mapping
		var wantBit uint64
		if name != "" {
			wantEnts = jsonMap.lookup(name)
			if i := jsonMap.key(name, fieldHash(name)); i != 0 && jsonMap.keys[i].target >= 0 {
				wantBit = 1 << jsonMap.keys[i].target
			}
		}
		var got []mapping
		c := in.class
		for _, e := range jsonMap.ents[c.ecsLo:c.ecsHi] {
			got = append(got, e.mapping)
		}
		if len(got) != len(wantEnts) || in.ecsBit != wantBit {
			t.Errorf("%q: ecs %v bit %x, want %v %x", name, got, in.ecsBit, wantEnts, wantBit)
		}
		for i := range got {
			if got[i] != wantEnts[i] {
				t.Errorf("%q: ecs %v, want %v", name, got, wantEnts)
			}
		}
		// DecodeJSONLine uses the ECS bits gathered before it drops the
		// time, message and metadata members: none may be an ECS name or
		// mapped.
		if (in.timeRank >= 0 || in.msgRank >= 0 || in.flags&nameMeta != 0) && (in.ecsBit != 0 || c.mapped()) {
			t.Errorf("%q: a time, message or metadata name that is an ECS name or mapped", name)
		}
		// The class the decoder copies per field says the same.
		if c.ecsBit() != in.ecsBit || c.mapped() != (len(wantEnts) > 0) || c.hostRank() != in.hostRank || c.timeRank != in.timeRank ||
			c.meta() != (in.flags&nameMeta != 0) || c.bits&(1<<classHostShift-1) != in.flags {
			t.Errorf("%q: class %+v, info %+v", name, c, in)
		}
		// isName: the name quoted matches, with anything after it; a
		// longer, shorter or changed name does not.
		if !in.plain {
			continue
		}
		for _, tail := range []string{"", ":", `:"value of some length"}`} {
			d := jsonDecoder{buf: []byte(`"` + name + `"` + tail)}
			if !d.isName(in) {
				t.Errorf("isName(%q) on %q = false", name, d.buf)
			}
			for _, other := range []string{name + "x", "x" + name, strings.TrimSuffix(name, name[min(len(name), 1):]) + "\x00"} {
				if other == name {
					continue
				}
				d := jsonDecoder{buf: []byte(`"` + other + `"` + tail)}
				if d.isName(in) {
					t.Errorf("isName(%q) on %q = true", name, d.buf)
				}
			}
		}
	}
}

// TestInternName checks that interning returns the same entry for the
// same bytes and the right name whatever collides in the cache.
func TestInternName(t *testing.T) {
	var all []string
	for i := 0; i < 20000; i++ {
		all = append(all, strings.Repeat("k", i%40)+string(rune('a'+i%26))+strings.Repeat("z", i/1000))
	}
	for round := 0; round < 2; round++ {
		for _, s := range all {
			if in := internName([]byte(s)); in.name != s {
				t.Fatalf("internName(%q) = %q", s, in.name)
			}
		}
	}
	a, b := internName([]byte("user_name")), internName([]byte("user_name"))
	if a != b {
		t.Errorf("internName of the same name twice: two entries")
	}
}
