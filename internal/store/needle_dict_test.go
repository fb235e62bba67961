package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// refTermDict is termDictColumn by decoding every row (decodeBody).
func refTermDict(kind byte, body string, rows int, match func(string) bool) ([]string, bool, error) {
	vals, absent, err := decodeBody(kind, body, rows, nil, false)
	if err != nil {
		return nil, false, err
	}
	lacks := true
	out := make([]string, rows)
	for i, v := range vals {
		if (absent == nil || !absent[i]) && match(v) {
			out[i], lacks = v, false
		}
	}
	return out, lacks, nil
}

// substrMatch matches values that contain one of texts, ASCII case
// folded (what a term needs at least).
func substrMatch(texts []string) func(string) bool {
	return func(v string) bool {
		return slices.ContainsFunc(texts, func(t string) bool { return containsFold(v, t) })
	}
}

// TestTermDictColumn checks termDictColumn against decoding every row on
// constant and dictionary bodies (packed and not) of random values, some
// rows absent, with texts that match none, some or all values, and Values
// reused from an earlier column.
func TestTermDictColumn(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	var reuse []string
	var kept []string
	wide := 0 // rounds with two-byte codes
	for round := range 300 {
		rows := 1 + rng.IntN(400)
		pool := make([]string, 1+rng.IntN(40))
		if round%5 == 4 {
			// More than 127 values: codes of two bytes.
			rows, pool = 4000+rng.IntN(2000), make([]string, 150+rng.IntN(600))
		}
		for i := range pool {
			pool[i] = fmt.Sprintf("v%x-%s", rng.IntN(1<<20), []string{"Alpha", "beta", "GAMMA"}[rng.IntN(3)])
		}
		vals := make([]string, rows)
		absent := make([]bool, rows)
		for i := range vals {
			if round%3 == 0 && rng.IntN(5) == 0 {
				absent[i] = true
				continue
			}
			vals[i] = pool[rng.IntN(len(pool))]
		}
		kind, body, err := chunkBodyTo(encodeColumn(nil, vals, absent, levelFast), nil)
		if err != nil {
			t.Fatal(err)
		}
		if kind != kindDict && kind != kindConst {
			continue
		}
		if r := (&reader{s: body}); kind == kindDict && r.uvarint() > 127 {
			wide++
		}
		texts := [][]string{{"alpha"}, {"zzz"}, {pool[0][1:4], "Gamma"}, {"-"}}[round%4]
		match := substrMatch(texts)
		want, wantLacks, err := refTermDict(kind, body, rows, match)
		if err != nil {
			t.Fatal(err)
		}
		col, lacks, err := termDictColumn(kind, body, rows, texts, match, reuse, &kept)
		if err != nil || lacks != wantLacks {
			t.Fatalf("round %d (kind %d, texts %q): lacks %v %v, want %v", round, kind, texts, lacks, err, wantLacks)
		}
		if !lacks {
			if !slices.Equal(col.Values, want) || col.Absent != nil {
				t.Fatalf("round %d (kind %d, texts %q): values\n%q\nwant\n%q", round, kind, texts, col.Values, want)
			}
			reuse = col.Values
		}
	}
	if wide < 10 {
		t.Errorf("%d dictionaries of more than 127 values, want 10 or more", wide)
	}
}

// TestTermDictColumnBad checks damaged dictionary bodies: errors, never
// panics, whenever the codes are read; a cut in the codes of a column no
// text can match is not seen (the load that would decode them checks
// them).
func TestTermDictColumnBad(t *testing.T) {
	vals := strings.Split("a1,b2,a1,,a1,b2,b2,a1,a1,b2,a1,b2,a1,b2,a1,b2", ",")
	kind, body, err := chunkBodyTo(encodeColumn(nil, vals, nil, levelFast), nil)
	if err != nil || kind != kindDict {
		t.Fatalf("kind %d, %v", kind, err)
	}
	match := substrMatch([]string{"a1"})
	var kept []string
	for name, b := range map[string]string{
		"empty":       "",
		"cut values":  body[:3],
		"cut codes":   body[:len(body)-1],
		"trailing":    body + "\x01",
		"code past":   body[:len(body)-1] + "\x07",
		"many values": "\xff\xff\x03" + body[1:],
	} {
		if _, _, err := termDictColumn(kindDict, b, len(vals), []string{"a1"}, match, nil, &kept); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, _, err := termDictColumn(kindPlain, body, len(vals), []string{"a1"}, match, nil, &kept); err == nil {
		t.Error("a plain body: no error")
	}
	if _, _, err := termDictColumn(kindConst, "\x05ab", 3, []string{"a"}, match, nil, &kept); err == nil {
		t.Error("a cut constant: no error")
	}
	if _, lacks, err := termDictColumn(kindDict, body[:len(body)-1], len(vals), []string{"zz"}, substrMatch([]string{"zz"}), nil, &kept); err != nil || !lacks {
		t.Errorf("cut codes, no text: lacks %v, %v", lacks, err)
	}
}

// FuzzTermDictColumn compares termDictColumn with decoding every row on
// arbitrary bodies: no panic; when both succeed, the same rows; an error
// of the decode is one of termDictColumn too unless no value matches.
// (A column kept for a matching value that no row has holds only "".)
func FuzzTermDictColumn(f *testing.F) {
	_, body, _ := chunkBodyTo(encodeColumn(nil, strings.Split("a1,b2,a1,,a1,b2,b2,a1", ","), nil, levelFast), nil)
	f.Add([]byte(body), true, uint8(8), "a1")
	f.Add([]byte("\x02ab"), false, uint8(3), "b")
	f.Add([]byte("\x020B"), false, uint8(0), "0") // no rows
	f.Fuzz(func(t *testing.T, body []byte, dict bool, rows uint8, text string) {
		kind := kindConst
		if dict {
			kind = kindDict
		}
		match := substrMatch([]string{text})
		want, wantLacks, werr := refTermDict(kind, string(body), int(rows), match)
		var kept []string
		col, lacks, err := termDictColumn(kind, string(body), int(rows), []string{text}, match, nil, &kept)
		switch {
		case err == nil && werr == nil:
			// A value that no row has may leave a column of "" only:
			// the same to the terms as lacks.
			if lacks && !wantLacks || !lacks && !slices.Equal(col.Values, want) {
				t.Fatalf("lacks %v %q, want %v %q", lacks, col.Values, wantLacks, want)
			}
		case err != nil && werr == nil:
			t.Fatalf("error %v; the decode has none", err)
		case err == nil && werr != nil && !lacks:
			t.Fatalf("no error, the decode's %v", werr)
		}
	})
}

// TestLoadTermDicts checks the columns a part decides on their
// dictionaries against a full load: constant, dictionary and absent
// columns decided, others left to the load; the kept columns hold the
// matching rows' values and "" elsewhere.
func TestLoadTermDicts(t *testing.T) {
	rows := dictRows(2048)
	for i, e := range rows {
		e.Fields = append(e.Fields, event.Field{Name: "msg", Value: fmt.Sprintf("note %d of user%d", i, i%300)},
			event.Field{Name: "user.name", Value: fmt.Sprintf("user%d", i%300)}) // an alias of user
	}
	p := loadTestPart(t, rows, 1024)
	if !slices.ContainsFunc(p.blocks[0].cols, func(c colMeta) bool { return p.names[c.name] == "user.name" && p.isAlias(c) }) {
		t.Fatal("user.name is not stored as an alias: the test misses a case")
	}
	names := []string{"app", "outcome", "user", "user.name", "port", "rare", "msg", "missing"}
	var cols []Column
	var buf DictBuf
	for _, texts := range [][]string{{"sshd"}, {"user29"}, {"ailu", "only-here"}, {"zzz"}} {
		match := substrMatch(texts)
		for blk := range p.blocks {
			full, err := p.loadBlock(blk, names)
			if err != nil {
				t.Fatal(err)
			}
			var decided []string
			cols, decided, err = (&partRef{p: p, i: blk}).LoadTermDicts(names, texts, match, cols[:0], nil, &buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				fc := full.Column(n)
				c, ok := p.valueColumn(&p.blocks[blk], n)
				isDict := !ok // absent from the block: decided
				if ok {
					kind := p.data[c.off]
					isDict = kind == kindDict || kind == kindConst
				}
				if slices.Contains(decided, n) != isDict {
					t.Fatalf("block %d, texts %q: %s decided %v", blk, texts, n, slices.Contains(decided, n))
				}
				k := slices.IndexFunc(cols, func(c Column) bool { return c.Name == n })
				var want []string
				if fc != nil {
					want = make([]string, len(fc.Values))
					for i, v := range fc.Values {
						if fc.Has(i) && match(v) {
							want[i] = v
						}
					}
				}
				hits := slices.ContainsFunc(want, func(v string) bool { return v != "" })
				switch {
				case !isDict && k >= 0:
					t.Fatalf("block %d: %s kept, not decided", blk, n)
				case isDict && hits != (k >= 0):
					t.Fatalf("block %d, texts %q: %s kept %v, want %v", blk, texts, n, k >= 0, hits)
				case k >= 0 && !slices.Equal(cols[k].Values, want):
					t.Fatalf("block %d, texts %q: %s\n%q\nwant\n%q", blk, texts, n, cols[k].Values, want)
				}
			}
		}
	}
}

// TestTermDictColumnCodeWidths checks termDictColumn's inline codes of one
// and two bytes and the reader's longer ones against decoding every row:
// a dictionary of 17,000 values whose rows use codes of one, two and
// three bytes and 0 (absent), matching values of each width; and each
// kind of code cut at the end of the body or past the values.
func TestTermDictColumnCodeWidths(t *testing.T) {
	const nv = 17000
	rng := rand.New(rand.NewPCG(7, 8))
	body := binary.AppendUvarint(nil, nv)
	for i := range nv {
		v := fmt.Sprintf("v%05d", i)
		body = binary.AppendUvarint(body, uint64(len(v)))
		body = append(body, v...)
	}
	values := len(body)
	rows := 6000
	for range rows {
		var c uint64
		switch rng.IntN(4) {
		case 0:
			c = uint64(rng.IntN(128)) // one byte (0: absent)
		case 1:
			c = 128 + uint64(rng.IntN(16384-128)) // two bytes
		default:
			c = 16384 + uint64(rng.IntN(nv-16384+1)) // three bytes
		}
		body = binary.AppendUvarint(body, c)
	}
	var kept []string
	var reuse []string
	for _, texts := range [][]string{{"v00005"}, {"v00200"}, {"v16999"}, {"v0001"}, {"v1"}, {"zz"}} {
		match := substrMatch(texts)
		want, wantLacks, err := refTermDict(kindDict, string(body), rows, match)
		if err != nil {
			t.Fatal(err)
		}
		col, lacks, err := termDictColumn(kindDict, string(body), rows, texts, match, reuse, &kept)
		if err != nil || lacks != wantLacks {
			t.Fatalf("%q: lacks %v %v, want %v", texts, lacks, err, wantLacks)
		}
		if !lacks {
			if !slices.Equal(col.Values, want) {
				t.Fatalf("%q: values differ from the decode", texts)
			}
			reuse = col.Values
		}
	}
	match := substrMatch([]string{"v0"})
	for name, codes := range map[string][]byte{
		"two bytes past":    binary.AppendUvarint(nil, nv+1),
		"three bytes past":  binary.AppendUvarint(nil, 1<<20),
		"cut two bytes":     {0x81},
		"cut three bytes":   {0x81, 0x81},
		"endless":           {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"one code too many": {1, 1},
		"one code too few":  nil,
		"two-byte too many": {0x81, 0x01, 0x81, 0x01},
	} {
		b := append(append([]byte(nil), body[:values]...), codes...)
		// One row: a second code is a trailing byte, none is a cut.
		if _, _, err := termDictColumn(kindDict, string(b), 1, []string{"v0"}, match, nil, &kept); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
