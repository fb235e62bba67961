package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// intBody returns a kindInt body of the running values vals (zig-zag
// varint deltas).
func intBody(vals []int64) string {
	var b []byte
	var prev int64
	for _, v := range vals {
		d := v - prev
		b = binary.AppendUvarint(b, uint64(d<<1)^uint64(d>>63))
		prev = v
	}
	return string(b)
}

func randomInts(rng *rand.Rand, n int) []int64 {
	vals := make([]int64, n)
	var v int64
	for i := range vals {
		switch rng.IntN(6) {
		case 0:
			v = int64(rng.Uint64()) // nine or ten bytes of delta
		case 1:
			v -= int64(rng.IntN(1000))
		case 2:
			v = math.MinInt64 + int64(rng.IntN(3))
		default:
			v += int64(rng.IntN(1 << (1 + rng.IntN(40))))
		}
		vals[i] = v
	}
	return vals
}

// randomRows returns ascending rows of n.
func randomRows(rng *rand.Rand, n int) []int {
	var rows []int
	for r := range n {
		if rng.IntN(n) < 1+rng.IntN(20) || r == n-1 && rng.IntN(2) == 0 || r == 0 && rng.IntN(2) == 0 {
			rows = append(rows, r)
		}
	}
	return rows
}

// TestDeltaMarks checks deltasAt on built marks against decodeDeltas of
// the whole body, for bodies of every length around the marks' step.
func TestDeltaMarks(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, n := range []int{1, 127, 128, 129, 255, 256, 257, 1000, 4096, 5791, 8192} {
		for range 4 {
			vals := randomInts(rng, n)
			body := intBody(vals)
			full := make([]int64, n)
			if _, err := decodeDeltas(body, full); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(full, vals) {
				t.Fatal("intBody does not round-trip")
			}
			m, err := buildDeltaMarks(body, n)
			if err != nil || len(m) != deltaMarksLen(n) {
				t.Fatalf("%d rows: marks of %d bytes (want %d), %v", n, len(m), deltaMarksLen(n), err)
			}
			for range 20 {
				rows := randomRows(rng, n)
				got := make([]int64, len(rows))
				if err := deltasAt(body, m, rows, got); err != nil {
					t.Fatal(err)
				}
				for j, r := range rows {
					if got[j] != vals[r] {
						t.Fatalf("%d rows: row %d = %d, want %d", n, r, got[j], vals[r])
					}
				}
			}
		}
	}
	// A body shorter than its rows: no marks, or an error reading.
	vals := randomInts(rng, 1000)
	body := intBody(vals)
	if _, err := buildDeltaMarks(body[:len(body)/2], 1000); err == nil {
		t.Error("marks of a short body")
	}
	m, _ := buildDeltaMarks(body, 1000)
	if err := deltasAt(body, m, []int{1000}, make([]int64, 1)); err == nil {
		t.Error("a row past the marks read")
	}
}

// dictBody returns a kindDict body of values dict and codes (0 absent).
func dictMarksBody(dict []string, codes []int) string {
	b := binary.AppendUvarint(nil, uint64(len(dict)))
	for _, v := range dict {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	for _, c := range codes {
		b = binary.AppendUvarint(b, uint64(c))
	}
	return string(b)
}

// TestDictMarks checks dictAt on built marks against the codes and
// values the body was made of.
func TestDictMarks(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, n := range []int{1, 31, 32, 33, 200, 5000} {
		for _, rows := range []int{1, 128, 129, 300, 4096, 6000} {
			dict := make([]string, n)
			for i := range dict {
				dict[i] = fmt.Sprintf("v%d-%s", i, string(make([]byte, rng.IntN(200))))
			}
			codes := make([]int, rows)
			for i := range codes {
				if rng.IntN(7) > 0 {
					codes[i] = 1 + rng.IntN(n)
				}
			}
			body := dictMarksBody(dict, codes)
			m, err := buildDictMarks(body, rows)
			if err != nil || len(m) != dictMarksLen(n, rows) {
				t.Fatalf("%d values %d rows: marks of %d bytes (want %d), %v", n, rows, len(m), dictMarksLen(n, rows), err)
			}
			for range 10 {
				sel := randomRows(rng, rows)
				col := Column{Values: make([]string, rows), Absent: make([]bool, rows)}
				if err := dictAt(body, m, sel, col); err != nil {
					t.Fatal(err)
				}
				for _, r := range sel {
					want, absent := "", codes[r] == 0
					if !absent {
						want = dict[codes[r]-1]
					}
					if col.Absent[r] != absent || col.Values[r] != want {
						t.Fatalf("%d values %d rows: row %d = %q absent %v, want %q %v", n, rows, r, col.Values[r], col.Absent[r], want, absent)
					}
				}
			}
		}
	}
	// Short bodies and a code past the dictionary.
	long := make([]int, 600)
	for i := range long {
		long[i] = 1 + i%2
	}
	if lb := dictMarksBody([]string{"a", "b"}, long); true {
		if _, err := buildDictMarks(lb[:len(lb)-300], 600); err == nil {
			t.Error("marks of a short body")
		}
		// The build reads every code: a body short in its last group
		// gets no marks; and a read with marks that do not fit the body
		// (built from another) fails, never reads past it.
		if _, err := buildDictMarks(lb[:len(lb)-10], 600); err == nil {
			t.Error("marks of a body short in its last group")
		}
		m, err := buildDictMarks(lb, 600)
		if err != nil {
			t.Fatal(err)
		}
		col := Column{Values: make([]string, 600), Absent: make([]bool, 600)}
		if err := dictAt(lb[:len(lb)-10], m, []int{599}, col); err == nil {
			t.Error("a code past the body read")
		}
	}
	body := dictMarksBody([]string{"a", "b"}, []int{1, 2, 3, 0})
	if _, err := buildDictMarks(body, 4); err == nil {
		t.Error("marks of a body with code 3 of 2 values")
	}
	m, err := buildDictMarks(dictMarksBody([]string{"a", "b"}, []int{1, 2, 1, 0}), 4)
	if err != nil {
		t.Fatal(err)
	}
	col := Column{Values: make([]string, 4), Absent: make([]bool, 4)}
	if err := dictAt(body, m, []int{2}, col); err == nil {
		t.Error("code 3 of 2 values read")
	}
}

// FuzzDeltaMarks: on any body, marks are built only when every row's
// varint is there, and then deltasAt agrees with decodeDeltas; dict
// marks likewise never make dictAt panic, and agree with the codes read
// one by one.
func FuzzDeltaMarks(f *testing.F) {
	f.Add(intBody([]int64{1, 2, 3, -5, math.MaxInt64, 7}), uint16(300))
	f.Add(dictMarksBody([]string{"x", "yy"}, []int{0, 1, 2, 2, 1}), uint16(5))
	f.Fuzz(func(t *testing.T, body string, rows16 uint16) {
		rows := int(rows16%2000) + 1
		full := make([]int64, rows)
		_, ferr := decodeDeltas(body, full)
		if m, err := buildDeltaMarks(body, rows); err == nil {
			all := make([]int, rows)
			for i := range all {
				all[i] = i
			}
			got := make([]int64, rows)
			gerr := deltasAt(body, m, all, got)
			if ferr == nil && (gerr != nil || !slices.Equal(got, full)) {
				t.Fatalf("marks read %v (%v), want %v", got, gerr, full)
			}
		}
		if m, err := buildDictMarks(body, rows); err == nil {
			col := Column{Values: make([]string, rows), Absent: make([]bool, rows)}
			for r := range rows {
				_ = dictAt(body, m, []int{r}, col)
			}
		}
	})
}

// TestRowLoadCache loads few rows of every block of a store three times
// through a BlockBodies (a needle's row loads: the second admits, the
// third reads the cache), checking every row, and that the cache then
// holds frames and the marks of int and dictionary bodies, and served
// them. Before each row load, a needle's dictionary search of the block
// through the same BlockBodies (codeRows once the marks are there) gives
// what it gives without them.
func TestRowLoadCache(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(45, 46))
	opts := testOptions(t.TempDir())
	opts.BlockRows, opts.FullFlush = 4000, true
	s := openTest(t, opts)
	defer s.Close()
	const n = 12000
	evs := make([]event.Event, n)
	tm := int64(1_700_000_000_000_000_000)
	users := make([]string, 700)
	for i := range users {
		users[i] = fmt.Sprintf("user-%d-%x", i, rng.Uint32())
	}
	for i := range evs {
		tm += int64(rng.IntN(1 << (1 + rng.IntN(30))))
		noise := fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
		u := users[rng.IntN(len(users))]
		e := event.Event{Time: tm, Host: "h1", Source: "sysmon",
			Raw: fmt.Sprintf("EventID=1 user=%s hash=%s pid=%d", u, noise, rng.IntN(1<<20)),
			Fields: []event.Field{{Name: "id", Value: strconv.Itoa(i)}, {Name: "size", Value: strconv.Itoa(rng.IntN(1<<20) - 1<<19)},
				{Name: "hash", Value: noise}}}
		if i%4 != 0 {
			e.Fields = append(e.Fields, event.Field{Name: "user", Value: u})
		}
		evs[i] = e
	}
	if err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sn := s.Snapshot()
	defer sn.Release()
	refs, _, err := sn.Blocks(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	hits0 := sharedBodies.hits.Load()
	var bb BlockBodies
	for round := range 4 {
		for bi, r := range refs {
			pr, ok := r.(*partRef)
			if !ok {
				continue
			}
			// A needle's search first (codeRows), against the same
			// search without BlockBodies.
			for _, text := range []string{evs[rng.IntN(n)].Raw[len(evs[0].Raw)-50 : len(evs[0].Raw)-18], users[rng.IntN(len(users))], "none-such"} {
				texts := []string{text}
				match := func(v string) bool { return containsFold(v, text) }
				names := []string{"user", "hash", "size"}
				got, gotDec, err := pr.WithBodies(&bb).(TermDictLoader).LoadTermDicts(names, texts, match, nil, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				want, wantDec, err := pr.LoadTermDicts(names, texts, match, nil, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(gotDec) != fmt.Sprint(wantDec) || len(got) != len(want) {
					t.Fatalf("round %d block %d %q: decided %v cols %d, want %v %d", round, bi, text, gotDec, len(got), wantDec, len(want))
				}
				for k := range got {
					if got[k].Name != want[k].Name || !slices.Equal(got[k].Values, want[k].Values) {
						t.Fatalf("round %d block %d %q: column %s differs", round, bi, text, got[k].Name)
					}
				}
			}
			ref := pr.WithBodies(&bb).(RowLoader)
			sel := []int{(bi*977 + 13) % r.Rows(), r.Rows() - 1 - bi%3}
			if round == 3 {
				sel = randomRows(rng, r.Rows())[:3] // other rows of the same blocks
			}
			slices.Sort(sel)
			sel = slices.Compact(sel)
			b, err := ref.(interface {
				LoadRowsTimes([]string, []int, []int64) (*Block, error)
			}).LoadRowsTimes([]string{"_raw", "id", "size", "user", "hash"}, sel, nil)
			if err != nil {
				t.Fatal(err)
			}
			for j := range sel {
				k, err := strconv.Atoi(b.Column("id").Values[j])
				if err != nil {
					t.Fatal(err)
				}
				e := &evs[k]
				if b.Times[j] != e.Time {
					t.Fatalf("round %d row %d: time %d, want %d", round, k, b.Times[j], e.Time)
				}
				if got := b.Column("_raw").Values[j]; got != e.Raw {
					t.Fatalf("round %d row %d: _raw %q, want %q", round, k, got, e.Raw)
				}
				for _, name := range []string{"size", "user", "hash"} {
					want, ok := e.Get(name)
					if c := b.Column(name); c.Has(j) != ok || c.Values[j] != want {
						t.Fatalf("round %d row %d %s = %q (%v), want %q (%v)", round, k, name, c.Values[j], c.Has(j), want, ok)
					}
				}
			}
			bb.Release()
		}
	}
	kinds := map[string]int{}
	sharedBodies.mu.Lock()
	for k, e := range sharedBodies.m {
		if k.p.refs.Load() <= 0 {
			continue
		}
		switch {
		case k.tag == tagDeltaMarks:
			kinds["delta marks"]++
		case k.tag == tagDictMarks:
			kinds["dict marks"]++
		case e.kind == frameKind:
			kinds["frames"]++
		default:
			kinds["bodies"]++
		}
	}
	sharedBodies.mu.Unlock()
	t.Logf("cache entries: %v", kinds)
	for _, k := range []string{"delta marks", "dict marks", "frames", "bodies"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in the cache", k)
		}
	}
	if sharedBodies.hits.Load() == hits0 {
		t.Error("no hits")
	}
}

// plainCodeRows is termDictColumn's codes loop for one matching value:
// the rows whose code is hit (false when a code does not read).
func plainCodeRows(body string, codes, rows, hit int) ([]int, bool) {
	r := reader{s: body, off: codes}
	var out []int
	for i := range rows {
		if c := r.uvarint(); r.err != nil {
			return nil, false
		} else if c == uint64(hit) {
			out = append(out, i)
		}
	}
	return out, r.off == len(body)
}

func checkCodeRows(t testing.TB, body string, rows int, hits []int) {
	m, err := buildDictMarks(body, rows)
	if err != nil {
		return
	}
	n, codes := int(binary.LittleEndian.Uint32([]byte(m))), int(binary.LittleEndian.Uint32([]byte(m[4:])))
	for _, hit := range hits {
		if hit < 1 || hit > n {
			continue
		}
		want, ok := plainCodeRows(body, codes, rows, hit)
		if !ok {
			return
		}
		vals := make([]string, rows)
		if !codeRows(body, m, n, codes, rows, hit, "x", vals) {
			t.Fatalf("marks refused")
		}
		var got []int
		for i, v := range vals {
			if v != "" {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%d rows, code %d of %d: rows %v, want %v", rows, hit, n, got, want)
		}
	}
	if codeRows(body, m[:len(m)-4], n, codes, rows, 1, "x", make([]string, rows)) || codeRows(body, m, n, codes+1, rows, 1, "x", make([]string, rows)) {
		t.Fatal("marks not of the body taken")
	}
}

// TestCodeRows: the rows of one code found by its bytes from the marks
// are those the codes read one by one give, for codes of one to three
// bytes whose bytes also occur inside other codes.
func TestCodeRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	for _, n := range []int{1, 5, 127, 128, 300, 16383, 16384, 20000} {
		for _, rows := range []int{1, 128, 129, 700, 5791} {
			dict := make([]string, n)
			for i := range dict {
				dict[i] = strconv.Itoa(i)
			}
			codes := make([]int, rows)
			hits := []int{1, n, 1 + rng.IntN(n), 128, 129, 0x81, 0x0101, 16384}
			for i := range codes {
				switch rng.IntN(5) {
				case 0:
					codes[i] = 0
				case 1:
					codes[i] = hits[rng.IntN(len(hits))]
				default:
					codes[i] = 1 + rng.IntN(n)
				}
				codes[i] = min(codes[i], n)
			}
			checkCodeRows(t, dictMarksBody(dict, codes), rows, hits)
		}
	}
}

// FuzzCodeRows: on any body whose marks build and whose codes all read,
// codeRows gives the rows of the codes read one by one.
func FuzzCodeRows(f *testing.F) {
	f.Add(dictMarksBody([]string{"a", "b"}, []int{1, 2, 0, 2, 1}), uint16(5), uint16(2))
	f.Add(dictMarksBody(make([]string, 200), []int{129, 1, 128, 0x81, 129}), uint16(5), uint16(129))
	f.Fuzz(func(t *testing.T, body string, rows16, hit16 uint16) {
		checkCodeRows(t, body, int(rows16%3000)+1, []int{int(hit16), 1, 2, 129})
	})
}

// TestDictMarksDamagedBody checks that a dictionary body the plain read
// rejects (a code past the dictionary, trailing bytes, a short body:
// damage that passes the CRC, such as a writer or copy bug) gets no
// marks, so the paths that use marks (codeRows) report it the same way.
func TestDictMarksDamagedBody(t *testing.T) {
	const n, rows = 10, 300
	dict := binary.AppendUvarint(nil, n)
	for v := range n {
		s := fmt.Sprintf("v%d", v)
		dict = binary.AppendUvarint(dict, uint64(len(s)))
		dict = append(dict, s...)
	}
	codes := func(last uint64) []byte {
		b := dict
		for r := range rows - 1 {
			b = binary.AppendUvarint(b, uint64(r%n+1))
		}
		return binary.AppendUvarint(b, last)
	}
	good := codes(3)
	for name, body := range map[string][]byte{
		"code out of range": codes(99),
		"trailing bytes":    append(codes(3), 1),
		"short":             good[:len(good)-1],
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := buildDictMarks(string(body), rows); err == nil {
				t.Error("marks built for a damaged body")
			}
			var kept []string
			match := func(s string) bool { return s == "v3" }
			if _, _, err := termDictColumn(kindDict, string(body), rows, []string{"v3"}, match, nil, &kept); err == nil {
				t.Error("the plain read accepts the damaged body")
			}
		})
	}
	m, err := buildDictMarks(string(good), rows)
	if err != nil {
		t.Fatal(err)
	}
	var k1, k2 []string
	match := func(s string) bool { return s == "v3" }
	c1, _, e1 := termDictColumnMarks(kindDict, string(good), rows, []string{"v3"}, match, nil, &k1, "")
	c2, _, e2 := termDictColumnMarks(kindDict, string(good), rows, []string{"v3"}, match, nil, &k2, m)
	if e1 != nil || e2 != nil || !slices.Equal(c1.Values, c2.Values) {
		t.Errorf("good body: plain %v, marks %v, same values %v", e1, e2, slices.Equal(c1.Values, c2.Values))
	}
}
