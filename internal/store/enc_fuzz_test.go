package store

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// The decoders of on-disk data must return an error, never panic, on any
// input.

func FuzzDecodeColumn(f *testing.F) {
	f.Add(encodeColumn(nil, []string{"a", "b", "a", "c"}, nil, levelFast), 4)
	f.Add(encodeColumn(nil, []string{"1", "2", "3"}, nil, levelFast), 3)
	f.Add(encodeColumn(nil, []string{strings.Repeat("abc ", 100), "x", ""}, []bool{false, false, true}, levelFast), 3)
	f.Add(encodeColumn(nil, []string{"same", "same"}, nil, levelFast), 2)
	f.Add(encodeTimes(nil, []int64{1, 5, 9}), 3)
	f.Add(appendAliasChunk(nil, 1), 2)
	big := make([]string, 2000)
	for i := range big {
		big[i] = "u" + strconv.Itoa(int(uint32(i*2654435761)>>20)%700)
	}
	f.Add(encodeColumn(nil, big, nil, levelFast), len(big))
	f.Fuzz(func(t *testing.T, chunk []byte, rows int) {
		if rows < 0 || rows > 1<<16 {
			return
		}
		vals, absent, err := decodeColumn(chunk, rows)
		if err == nil && (len(vals) != rows || (absent != nil && len(absent) != rows)) {
			t.Fatalf("decodeColumn: %d values for %d rows", len(vals), rows)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
		// The scratch variant (used for columns a load needs only
		// briefly) must agree, also on a reused scratch.
		sc := getScratch()
		defer putScratch(sc)
		for range 2 {
			svals, sabsent, serr := decodeColumnTo(chunk, rows, sc, true)
			if (serr == nil) != (err == nil) || (err == nil && (!slices.Equal(svals, vals) || !equalAbsent(sabsent, absent))) {
				t.Fatalf("decodeColumnTo = %q, %v, %v; decodeColumn = %q, %v, %v", svals, sabsent, serr, vals, absent, err)
			}
		}
		_, _ = decodeTimes(chunk, rows) // must not panic
		if k, err := aliasTarget(chunk, rows); err == nil && (k < 0 || k >= rows) {
			t.Fatalf("aliasTarget = %d for column %d", k, rows)
		}
	})
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(appendBatch(nil, testEvents(0, 3)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		evs, err := decodeBatch(string(p))
		if err == nil && !bytes.Equal(appendBatch(nil, evs), p) {
			// Only canonical encodings round-trip exactly; a decoded batch
			// must at least re-decode to itself.
			again, err := decodeBatch(string(appendBatch(nil, evs)))
			if err != nil || len(again) != len(evs) {
				t.Fatalf("re-decode: %v", err)
			}
		}
	})
}

func FuzzExpandTemplate(f *testing.F) {
	f.Add("a \x01\x04 b \x01\x02 \x01\x01", 0)
	f.Fuzz(func(t *testing.T, tmpl string, row int) {
		if row < 0 || row > 2 {
			return
		}
		cols := []Column{{Name: "_raw", Values: []string{"", "", ""}}, {Name: "x", Values: []string{"1", "2", "3"}, Absent: []bool{false, true, false}}}
		_, _ = expand(nil, tmpl, "h", "s", cols, row)
	})
}

// FuzzParsePart feeds corrupted part files to the index decoder and block
// loader.
func FuzzParsePart(f *testing.F) {
	good := buildTestPart(f)
	f.Add(good, 0, byte(0))
	aliased := buildAliasTestPart(f)
	f.Add(aliased, len(aliased)/3, byte(0x10))
	f.Add(good, len(good)/2, byte(0xff))
	f.Add(good[:len(good)-3], 10, byte(1))
	f.Fuzz(func(t *testing.T, data []byte, at int, x byte) {
		if at >= 0 && at < len(data) {
			data = bytes.Clone(data)
			data[at] ^= x
		}
		p, err := parsePart(data)
		if err != nil {
			return
		}
		for i := range p.blocks {
			_, _ = p.loadBlock(i, nil) // errors are fine, panics are not
			_, _ = p.loadBlock(i, []string{event.FieldRaw})
			_, _ = p.loadBlock(i, []string{"source.ip"})
			_, _ = p.loadBlockWith(i, []string{"user.name", "user"}, LoadOptions{PruneCols: []string{"user.name"}, PruneTexts: []string{"x"}})
			_, _ = p.loadDict(i, "app2")
			_ = p.checkAliases(i)
			_ = bloomHas(p.bloom(i), 42)
		}
	})
}

func FuzzManifest(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("0000000000000000000000000000000000000000000000000000000000000000 {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, probs := readManifest(bytes.NewReader(data))
		if st == nil {
			t.Fatal("nil state")
		}
		for _, p := range probs {
			if p.What == "" {
				t.Fatal("empty problem")
			}
		}
	})
}

// buildTestPart writes a small part and returns its bytes.
func buildTestPart(tb testing.TB) []byte {
	evs := testEvents(0, 40)
	rows := make([]*event.Event, len(evs))
	for i := range evs {
		rows[i] = &evs[i]
	}
	return partBytes(tb, func(w *partWriter) error {
		if err := w.writeBlock("sshd", "h", rows[:25]); err != nil {
			return err
		}
		return w.writeBlock("sshd", "h2", rows[25:])
	})
}

// buildAliasTestPart writes a small part with alias columns and returns
// its bytes.
func buildAliasTestPart(tb testing.TB) []byte {
	return partBytes(tb, func(w *partWriter) error { return w.writeBlock("sshd", "h", aliasRows(40)) })
}

// partBytes returns the bytes of a part whose blocks write writes.
func partBytes(tb testing.TB, write func(w *partWriter) error) []byte {
	path := tb.TempDir() + "/x.part"
	w, err := createPart(path, "main", 20454, levelFast)
	if err != nil {
		tb.Fatal(err)
	}
	if err := write(w); err != nil {
		tb.Fatal(err)
	}
	if _, err := w.finish(); err != nil {
		tb.Fatal(err)
	}
	b, err := readFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzParseIndex feeds the decoded index (behind the CRC and zstd in a
// real file) directly, then loads every block it accepts.
func FuzzParseIndex(f *testing.F) {
	good := buildTestPart(f)
	p, err := parsePart(good)
	if err != nil {
		f.Fatal(err)
	}
	pw := &partWriter{partition: p.info.Partition, day: p.info.Day, names: p.names, streams: p.streams, blocks: p.blocks}
	f.Add(pw.encodeIndex(), good)
	f.Fuzz(func(t *testing.T, idx, data []byte) {
		q := &part{data: data}
		if err := q.parseIndex(string(idx), uint64(len(data))); err != nil {
			return
		}
		for i := range q.blocks {
			_, _ = q.loadBlock(i, nil)
			_ = q.bloom(i)
		}
	})
}
