package store

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

func TestColumnRoundTrip(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name   string
		vals   []string
		absent []bool
		kind   byte
	}{
		{"const", many(100, func(int) string { return "sshd" }), nil, kindConst},
		{"const empty", many(3, func(int) string { return "" }), nil, kindConst},
		{"ints", many(100, func(i int) string { return strconv.Itoa(1000 - i*7) }), nil, kindInt},
		{"int extremes", []string{"-922337203685477580", "0", "922337203685477580", "-1"}, nil, kindInt},
		{"not canonical ints", []string{"01", "+1", "-0", "1", "2"}, nil, 0},
		{"dict", many(100, func(i int) string { return []string{"success", "failure", ""}[i%3] }), nil, kindDict},
		{"dict absent", many(64, func(i int) string { return []string{"a", "", "b", "c"}[i%4] }),
			func() []bool { a := make([]bool, 64); a[1], a[5] = true, true; return a }(), kindDict},
		{"plain", many(300, func(i int) string { return strings.Repeat("x", i%17) + strconv.Itoa(i*7919) }), nil, kindPlain},
		{"ns times", many(100, func(i int) string { return strconv.Itoa(1795661667596513125 + i*1000) }), nil, kindInt},
		// Large dictionaries (dictpol.go): many distinct values that repeat.
		{"large dict", many(4000, func(i int) string { return "user." + strconv.Itoa(rng.IntN(1200)) }), nil, kindDict},
		{"large dict absent", many(4000, func(i int) string { return "u" + strconv.Itoa(int(uint32(i*2654435761)>>20)%900) }),
			func() []bool { a := make([]bool, 4000); a[3], a[3999] = true, true; return a }(), kindDict},
		{"too many distinct", many(4000, func(i int) string { return "u" + strconv.Itoa(int(uint32(i*2654435761)>>20)%1800) }), nil, kindPlain},
		{"numeric not large dict", many(4000, func(i int) string { return strconv.Itoa(int(uint32(i*2654435761)>>20) % 1500) }),
			func() []bool { a := make([]bool, 4000); a[0] = true; return a }(), kindPlain},
		{"unique", many(4000, func(i int) string { return "req-" + strconv.Itoa(i*7919) }), nil, kindPlain},
		{"plain absent", []string{"a", "", "b\x00\x01"}, []bool{false, true, false}, kindPlain},
		{"binary", []string{"\x00\xff\x01", "\xc3\x28", "long " + strings.Repeat("z", 5000)}, nil, kindPlain},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, lv := range []level{levelFast, levelBetter} {
				chunk := encodeColumn(nil, c.vals, c.absent, lv)
				if c.kind != 0 && chunk[0] != c.kind {
					t.Errorf("kind %d, want %d", chunk[0], c.kind)
				}
				vals, absent, err := decodeColumn(chunk, len(c.vals))
				if err != nil {
					t.Fatalf("decodeColumn: %v", err)
				}
				want := append([]string(nil), c.vals...)
				for i := range c.absent {
					if c.absent[i] {
						want[i] = ""
					}
				}
				if d := cmp.Diff(want, vals); d != "" {
					t.Errorf("values (-want +got):\n%s", d)
				}
				if !equalAbsent(c.absent, absent) {
					t.Errorf("absent = %v, want %v", absent, c.absent)
				}
			}
		})
	}
}

func equalAbsent(a, b []bool) bool {
	n := max(len(a), len(b))
	for i := 0; i < n; i++ {
		if (i < len(a) && a[i]) != (i < len(b) && b[i]) {
			return false
		}
	}
	return true
}

func TestTimesRoundTrip(t *testing.T) {
	ts := []int64{-5, 0, 1, 1, 1767225600204747131, 1767225600204747131 + 17e9}
	got, err := decodeTimes(encodeTimes(nil, ts), len(ts))
	if err != nil || !cmp.Equal(got, ts) {
		t.Fatalf("decodeTimes = %v, %v; want %v", got, err, ts)
	}
	if _, err := decodeTimes(encodeTimes(nil, ts), len(ts)+1); err == nil {
		t.Fatal("decodeTimes with too many rows: no error")
	}
}

func TestTemplateRoundTrip(t *testing.T) {
	rows := []*event.Event{
		{Raw: "Accepted password for bob from 10.1.2.3 port 22 on h1", Host: "h1", Source: "sshd",
			Fields: []event.Field{{Name: "user", Value: "bob"}, {Name: "src_ip", Value: "10.1.2.3"}, {Name: "port", Value: "22"}}},
		{Raw: "esc \x01 byte \x01\x01 and bob bob", Host: "h1", Source: "sshd", Fields: []event.Field{{Name: "user", Value: "bob"}}},
		{Raw: "overlap abcdef", Host: "h1", Source: "sshd", Fields: []event.Field{{Name: "a", Value: "abcd"}, {Name: "b", Value: "cdef"}, {Name: "c", Value: "abcdef"}}},
		{Raw: "", Host: "h1", Source: "sshd", Fields: []event.Field{{Name: "user", Value: "zed"}, {Name: "user", Value: "dup"}}},
	}
	var cb colBuilder
	cb.build(rows)
	var tp templater
	body := tp.body(rows, &cb)
	chunk := encodeChunk(nil, kindTemplate, body, levelFast)
	vals, _, err := decodeColumn(chunk, len(rows))
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]Column, len(cb.cols))
	for i, c := range cb.cols {
		cols[i] = Column{Name: c.name, Values: c.vals, Absent: c.absent}
	}
	for i, v := range vals {
		got, err := expand(nil, v, "h1", "sshd", cols, i)
		if err != nil || string(got) != rows[i].Raw {
			t.Errorf("row %d: expand = %q, %v; want %q", i, got, err, rows[i].Raw)
		}
	}
	if len(body) >= len(rows[0].Raw)+len(rows[1].Raw)+len(rows[2].Raw) {
		t.Errorf("templates (%d bytes) saved nothing", len(body))
	}
	for _, bad := range []string{"\x01", "\x01\x00", "\x01\x09", "\x01\x05"} {
		if _, err := expand(nil, bad, "h", "s", cols[:1], 0); err == nil {
			t.Errorf("expand(%q): no error", bad)
		}
	}
}

// TestDictPolicy checks the dictionary policy's limits and that nearly
// unique values give up early.
func TestDictPolicy(t *testing.T) {
	vals := make([]string, 8192)
	for i := range vals {
		vals[i] = "id-" + strconv.Itoa(i)
	}
	var db dictBuilder
	if _, ok := db.encode(vals, nil, smallDict, true); ok {
		t.Fatal("unique values coded by the first step")
	}
	if _, ok := db.encode(vals, nil, maxDict, false); ok {
		t.Fatal("unique values coded by the second step")
	}
	if db.pos > 2*smallDict {
		t.Errorf("unique values: gave up after %d rows, want about %d", db.pos, smallDict)
	}
	// A third of the present rows distinct is the limit.
	for _, tc := range []struct {
		distinct int
		want     bool
	}{{1000, true}, {1365, true}, {1366, false}, {2000, false}} {
		for i := range 4096 {
			vals[i] = "v" + strconv.Itoa(i%tc.distinct)
		}
		for i := range 100 {
			vals[i] = "v1" // repeats early: the second step goes on
		}
		absent := make([]bool, 8192)
		for i := 4096; i < 8192; i++ {
			vals[i], absent[i] = "", true
		}
		n := map[string]bool{}
		for i := range 4096 {
			n[vals[i]] = true
		}
		var db dictBuilder
		_, ok := db.encode(vals, absent, smallDict, true)
		if !ok {
			_, ok = db.encode(vals, absent, maxDict, false)
		}
		if ok != (len(n) <= 4096/3) || ok != tc.want {
			t.Errorf("%d distinct of 4096 present rows: coded %v", len(n), ok)
		}
	}
}

func TestIsCanonicalInt(t *testing.T) {
	f := func(s string, want bool) {
		t.Helper()
		v, ok := isCanonicalInt(s)
		if ok != want {
			t.Errorf("isCanonicalInt(%q) = %v, want %v", s, ok, want)
		}
		if ok && string(appendInt(nil, v)) != s {
			t.Errorf("appendInt(%d) = %q, want %q", v, appendInt(nil, v), s)
		}
	}
	f("0", true)
	f("-1", true)
	f("123456789012345678", true)
	f("1234567890123456789", true) // 19 digits: Unix ns times
	f("9223372036854775807", true)
	f("-9223372036854775807", true)
	f("9223372036854775808", false)
	f("-9223372036854775808", false) // int64, but never needed
	f("9999999999999999999", false)
	f("12345678901234567890", false)
	f("", false)
	f("-", false)
	f("-0", false)
	f("007", false)
	f("+1", false)
	f("1.5", false)
}

func TestBatchRoundTrip(t *testing.T) {
	evs := testEvents(0, 10)
	evs[3].Partition, evs[4].Received, evs[5].Time = "wallet", 99, -1
	got, err := decodeBatch(string(appendBatch(nil, evs)))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(evs, got); d != "" {
		t.Fatalf("batch round trip (-want +got):\n%s", d)
	}
}
