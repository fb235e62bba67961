package detect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mamori/mamori/internal/event"
)

// entitiesByGet is the reference Entities: one e.Get per entity field, in
// the order of entityFields (the single pass must give the same list).
func entitiesByGet(e *event.Event) []Entity {
	var out []Entity
	add := func(typ, v string) {
		v = strings.TrimSpace(v)
		if !useful(typ, v) {
			return
		}
		for _, x := range out {
			if x.Type == typ && strings.EqualFold(x.Value, v) {
				return
			}
		}
		out = append(out, Entity{Type: typ, Value: v})
	}
	if e.Host != "" {
		add(EntityHost, e.Host)
	}
	for _, ef := range entityFields {
		v, ok := e.Get(ef.field)
		if !ok || v == "" {
			continue
		}
		if ef.typ == EntityHash && strings.Contains(v, "=") {
			for _, part := range strings.Split(v, ",") {
				if k, h, ok := strings.Cut(part, "="); ok && strings.EqualFold(k, "SHA256") {
					add(EntityHash, strings.ToLower(h))
				}
			}
			continue
		}
		add(ef.typ, v)
	}
	return out
}

func TestEntitiesSinglePassSameAsGet(t *testing.T) {
	f := func(kv ...string) []event.Field {
		var out []event.Field
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, event.Field{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for name, e := range map[string]event.Event{
		"empty":     {},
		"host only": {Host: "ws1"},
		"windows": {Host: "ws1", Fields: f("winlog.computer_name", "WS1.corp", "winlog.event_data.User", "CORP\\bob",
			"winlog.event_data.Image", `C:\x.exe`, "winlog.event_data.Hashes", "SHA1=AA,MD5=BB,SHA256=CCDD", "source.ip", "10.0.0.1")},
		// A repeated name: the first value counts (Get's rule), and an
		// empty first value hides the second.
		"duplicates": {Fields: f("user.name", "alice", "user.name", "mallory", "src", "", "src", "10.1.1.1", "dst_ip", "127.0.0.1")},
		"order": {Fields: f("dst", "192.0.2.9", "src", "192.0.2.8", "user", "SYSTEM", "target_user", "carol", "query", "evil.example",
			"dns.question.name", "Evil.Example", "wallet", "NADDR", "sha256", "ABC")},
		"unrelated": {Fields: f("message", "hello", "a", "b", strings.Repeat("x", 80), "long name")},
	} {
		if diff := cmp.Diff(entitiesByGet(&e), Entities(&e)); diff != "" {
			t.Errorf("%s (-Get +single pass):\n%s", name, diff)
		}
	}
}

func FuzzEntities(f *testing.F) {
	f.Add("host", "user.name", "bob", "src", "10.0.0.1", "user.name", "eve")
	f.Add("", "winlog.event_data.Hashes", "SHA256=AB,MD5=CD", "query", "x.example", "dst", "::1")
	f.Fuzz(func(t *testing.T, host, n1, v1, n2, v2, n3, v3 string) {
		e := event.Event{Host: host, Fields: []event.Field{{Name: n1, Value: v1}, {Name: n2, Value: v2}, {Name: n3, Value: v3}}}
		if diff := cmp.Diff(entitiesByGet(&e), Entities(&e)); diff != "" {
			t.Errorf("-Get +single pass:\n%s", diff)
		}
	})
}
