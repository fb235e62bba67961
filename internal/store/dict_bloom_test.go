package store

import (
	"bytes"
	mbits "math/bits"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// refBlockBloom is the block filter as writeBlock built it before the
// dictionary columns' keys came from their row codes (session 12): every
// column's rows compared with the previous added row's value, coverage
// bytes from every row. writeBlock must give the same bytes.
func refBlockBloom(pw *partWriter) []byte {
	var bb bloomBuilder
	bb.reset()
	cb, kinds := &pw.cols, pw.kinds
	for i := range cb.cols {
		c := &cb.cols[i]
		if c.name == event.FieldReceived {
			continue
		}
		kind := kinds[i]
		if kind == kindAlias {
			kind = kinds[pw.alias[i]]
		}
		exact := kind == kindDict || kind == kindConst
		if kinds[i] == kindAlias && !exact {
			continue
		}
		var last string
		for j, v := range c.vals {
			if (c.absent != nil && c.absent[j]) || (j > 0 && v == last) {
				continue
			}
			last = v
			if kinds[i] != kindAlias && (i == 0 || c.covered == nil || !c.covered[j]) {
				bb.addText(v)
			}
			if exact {
				bb.addHash(exactHash(c.name, v))
			}
		}
	}
	raw := &cb.cols[0]
	for i := 1; i < len(cb.cols); i++ {
		c := &cb.cols[i]
		if event.IsMeta(c.name) {
			continue
		}
		if !columnCovered(c, raw) {
			bb.addHash(uncoveredHash(c.name))
		}
		set := nonWordBytes(c)
		for w, bits := range set {
			for ; bits != 0; bits &= bits - 1 {
				bb.addHash(byteHash(c.name, byte(w*64+mbits.TrailingZeros64(bits))))
			}
		}
	}
	for _, h := range coverMarks {
		bb.addHash(h)
	}
	return bb.finish(nil)
}

// dictBloomRows makes rows whose columns take every encoding path:
// dictionaries (with "" among the values, absent rows, values in and out
// of the raw text), constants, aliases, integers, addresses and plain
// values.
func dictBloomRows(n int, rng *rand.Rand) []*event.Event {
	users := []string{"", "root", "admin", "Zack.Hill", "ünï-Ünï", "a b", "x.y-z", "CORP\\ivan", "203.0.113.7", "q=1&r"}
	rows := make([]*event.Event, n)
	for i := range rows {
		u := users[rng.IntN(len(users))]
		app := []string{"sshd", "kernel", "", "cron"}[rng.IntN(4)]
		raw := "host x " + app + "[" + strconv.Itoa(rng.IntN(99999)) + "]: user " + u + " from 10.0." + strconv.Itoa(rng.IntN(4)) + "." + strconv.Itoa(rng.IntN(256))
		if rng.IntN(3) == 0 {
			raw = "no user here: " + strconv.Itoa(i)
		}
		e := &event.Event{Time: int64(i) * 1e6, Raw: raw, Host: "h"}
		if rng.IntN(5) != 0 {
			e.Fields = append(e.Fields, event.Field{Name: "user", Value: u})
			if rng.IntN(2) == 0 {
				e.Fields = append(e.Fields, event.Field{Name: "user.name", Value: u})
			}
		}
		e.Fields = append(e.Fields, event.Field{Name: "app", Value: app}, event.Field{Name: "const", Value: "same value!"})
		if rng.IntN(4) != 0 {
			e.Fields = append(e.Fields, event.Field{Name: "pid", Value: strconv.Itoa(rng.IntN(50))})
		}
		e.Fields = append(e.Fields, event.Field{Name: "src_ip", Value: "10.0." + strconv.Itoa(rng.IntN(4)) + "." + strconv.Itoa(rng.IntN(256))})
		if rng.IntN(2) == 0 {
			e.Fields = append(e.Fields, event.Field{Name: "id", Value: strconv.FormatUint(rng.Uint64(), 36) + "-" + u})
		}
		rows[i] = e
	}
	return rows
}

// TestDictBloomSameBytes writes blocks of many shapes and sizes and
// checks each block's filter against refBlockBloom, byte for byte, and
// that dictionary columns did take the row-code path.
func TestDictBloomSameBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	w, err := createPart(filepath.Join(t.TempDir(), "p.part"), "main", 0, levelBetter)
	if err != nil {
		t.Fatal(err)
	}
	defer w.abort()
	dictPaths := 0
	check := func(rows []*event.Event) {
		t.Helper()
		if err := w.writeBlock("", "h", rows); err != nil {
			t.Fatal(err)
		}
		if want := refBlockBloom(w); !bytes.Equal(w.buf, want) {
			t.Fatalf("block of %d rows: filter of %d bytes differs from the reference's %d", len(rows), len(w.buf), len(want))
		}
		for i := range w.cols.cols {
			if w.kinds[i] == kindDict && w.dicts[i].ok {
				dictPaths++
			}
		}
	}
	for _, n := range []int{1, 2, 15, 16, 17, 40, 300, 1000, 5000} {
		for k := 0; k < 3; k++ {
			check(dictBloomRows(n, rng))
		}
	}
	// Rows of a block that start with absent and "" values.
	rows := dictBloomRows(200, rng)
	for _, e := range rows[:20] {
		e.Fields = slices.DeleteFunc(e.Fields, func(f event.Field) bool { return f.Name == "user" })
	}
	for _, e := range rows[20:40] {
		for j := range e.Fields {
			if e.Fields[j].Name == "user" {
				e.Fields[j].Value = ""
			}
		}
	}
	check(rows)
	// "" only at the start: after absent rows (never added: the first
	// comparison is with "") and as row 0 (added).
	rows = dictBloomRows(100, rng)
	for j, e := range rows {
		note, note2 := "", ""
		if j >= 20 {
			note = []string{"v1", "v2"}[j%2]
		}
		if j > 0 {
			note2 = []string{"a", "b", "c"}[j%3]
		}
		if j >= 10 {
			e.Fields = append(e.Fields, event.Field{Name: "note", Value: note})
		}
		e.Fields = append(e.Fields, event.Field{Name: "note2", Value: note2})
	}
	check(rows)
	if dictPaths == 0 {
		t.Fatal("no dictionary column took the row-code path")
	}
	// The bench records, when present.
	if evs := measureEventsIfAny(t); len(evs) > 0 {
		by, hosts := byHost(evs)
		slices.Sort(hosts)
		for _, h := range hosts {
			rs := by[h]
			slices.SortStableFunc(rs, cmpTime)
			check(rs)
		}
	}
}

// measureEventsIfAny loads 24,000 bench records (MAMORI_BENCH_FILE or
// /tmp/sec-1m.ndjson) when the file exists, else none.
func measureEventsIfAny(t *testing.T) []event.Event {
	var evs []event.Event
	t.Run("bench", func(t *testing.T) {
		if testing.Short() {
			t.Skip("short")
		}
		evs = measureEvents(t)
	})
	return evs
}
