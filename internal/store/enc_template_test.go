package store

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestTemplateRepeatedValues checks templates of rows whose fields repeat
// values (the host beside its host field, the normalizer's ECS copies,
// values absent from the raw text, values the raw text holds twice): the
// raw text expands back, and a row is marked covered only where its value
// lies in the raw text at word boundaries (not covered is always safe:
// the bloom then tokenizes the value itself).
func TestTemplateRepeatedValues(t *testing.T) {
	f := func(kv ...string) []event.Field {
		var fs []event.Field
		for i := 0; i+1 < len(kv); i += 2 {
			fs = append(fs, event.Field{Name: kv[i], Value: kv[i+1]})
		}
		return fs
	}
	rows := []*event.Event{
		{Raw: "h1 sshd[25460]: Accepted password for bob from 10.1.2.3 port 22", Host: "h1x", Fields: f(
			"host", "h1x", "app", "sshd", "user", "bob", "src_ip", "10.1.2.3", "dst_ip", "10.9.9.9", "event_id", "ssh_login",
			"pid", "25460", "host.name", "h1x", "user.name", "bob", "source.ip", "10.1.2.3", "destination.ip", "10.9.9.9")},
		{Raw: "copy from 10.1.2.3 to 10.1.2.3 by bob", Host: "h1x", Fields: f(
			"src_ip", "10.1.2.3", "dst_ip", "10.1.2.3", "user", "bob", "source.ip", "10.1.2.3", "outcome", "success", "event.outcome", "success")},
		{Raw: "bobby said bob", Host: "h1x", Fields: f("user", "bob", "user.name", "bob", "nick", "bobby")},
		{Raw: "", Host: "h1x", Fields: f("user", "bob", "user.name", "bob")},
	}
	var cb colBuilder
	cb.build(rows)
	var tp templater
	body := tp.body(rows, &cb)
	vals, _, err := decodeColumn(encodeChunk(nil, kindTemplate, body, levelFast), len(rows))
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]Column, len(cb.cols))
	for i, c := range cb.cols {
		cols[i] = Column{Name: c.name, Values: c.vals, Absent: c.absent}
	}
	for i, v := range vals {
		got, err := expand(nil, v, "h1x", "", cols, i)
		if err != nil || string(got) != rows[i].Raw {
			t.Errorf("row %d: expand = %q, %v; want %q", i, got, err, rows[i].Raw)
		}
	}
	for _, c := range cb.cols {
		for i, cov := range c.covered {
			raw := rows[i].Raw
			at := false
			for p := 0; p <= len(raw)-len(c.vals[i]) && c.vals[i] != ""; p++ {
				if strings.HasPrefix(raw[p:], c.vals[i]) && coveredAt(raw, p, len(c.vals[i])) {
					at = true
				}
			}
			if cov && !at {
				t.Errorf("row %d column %s (%q): covered, but not at word boundaries of %q", i, c.name, c.vals[i], raw)
			}
		}
	}
	// Row 1 holds its IP twice: both occurrences become references.
	if n := strings.Count(vals[1], "\x01"); n < 3 {
		t.Errorf("row 1 template %q: %d references, want both IPs and the user", vals[1], n)
	}
}

// TestSortRefs checks sortRefs against a stable sort by position, longest
// first.
func TestSortRefs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		refs := make([]tmplRef, r.IntN(30))
		for i := range refs {
			refs[i] = tmplRef{pos: r.IntN(20), n: 1 + r.IntN(4), code: byte(i)}
		}
		want := slices.Clone(refs)
		slices.SortStableFunc(want, func(a, b tmplRef) int {
			if a.pos != b.pos {
				return a.pos - b.pos
			}
			return b.n - a.n
		})
		sortRefs(refs)
		if !slices.Equal(refs, want) {
			t.Fatalf("sortRefs = %v, want %v", refs, want)
		}
	}
}

// TestIntColumnRepeats checks integer columns whose values repeat (a
// request's _received on every row) round-trip.
func TestIntColumnRepeats(t *testing.T) {
	for _, vals := range [][]string{
		{"1764000000000000000", "1764000000000000000", "1764000000000000001", "1764000000000000001", "-5", "-5", "0"},
		{"7", "7", "7", "8"},
		{"7", "7", "x7"},
	} {
		got, _, err := decodeColumn(encodeColumn(nil, vals, nil, levelFast), len(vals))
		if err != nil || !slices.Equal(got, vals) {
			t.Errorf("round trip of %q = %q, %v", vals, got, err)
		}
	}
	if kind, _ := chooseEncoding([]string{"3", "3", "4"}, nil); kind != kindInt {
		t.Errorf("ints with repeats: kind %d, want kindInt", kind)
	}
}

// TestReaderStr checks the reader's one-byte-length fast path at the
// data's end.
func TestReaderStr(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{{"\x02ab", "ab", true}, {"\x00", "", true}, {"\x03ab", "", false}, {"", "", false}, {"\x81\x00", "", false}, {"\x80\x01" + strings.Repeat("a", 128), strings.Repeat("a", 128), true}} {
		r := &reader{s: tc.in}
		got := r.str()
		if got != tc.want || (r.err == nil) != tc.ok {
			t.Errorf("str(%q) = %q, %v; want %q, ok %v", tc.in, got, r.err, tc.want, tc.ok)
		}
		if r.err != nil && r.str() != "" {
			t.Errorf("str(%q) after an error: not empty", tc.in)
		}
	}
}
