package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

// dictRows has a constant column (app), a dictionary column (outcome,
// absent in some rows), a plain one (user), an int one (port) and a
// column only some blocks have (rare).
func dictRows(n int) []*event.Event {
	rows := make([]*event.Event, n)
	for i := range rows {
		e := &event.Event{Time: int64(i) * 1e9, Host: "h1", Source: "sshd",
			Raw: fmt.Sprintf("Failed password for user%d port %d", i%300, 1000+i%50),
			Fields: []event.Field{{Name: "app", Value: "sshd"}, {Name: "user", Value: fmt.Sprintf("user%d", i%300)},
				{Name: "port", Value: fmt.Sprint(1000 + i%50)}}}
		if i%3 != 0 {
			e.Fields = append(e.Fields, event.Field{Name: "outcome", Value: []string{"success", "failure"}[i%2]})
		}
		if i >= 1024 && i%7 == 0 {
			e.Fields = append(e.Fields, event.Field{Name: "rare", Value: "Only-Here"})
		}
		rows[i] = e
	}
	return rows
}

// TestLoadDict checks that dictionary codes give back the values Load
// gives, and which columns are refused.
func TestLoadDict(t *testing.T) {
	rows := dictRows(2048)
	p := loadTestPart(t, rows, 1024)
	for blk := range p.blocks {
		for _, name := range []string{"app", "outcome", "rare", "user", "port", "missing", event.FieldRaw, event.FieldTime, event.FieldHost} {
			dc, err := p.loadDict(blk, name)
			if err != nil {
				t.Fatalf("loadDict(%d, %s): %v", blk, name, err)
			}
			b, err := p.loadBlock(blk, []string{name})
			if err != nil {
				t.Fatal(err)
			}
			col := b.Column(name)
			switch name {
			case "user", "port", event.FieldRaw, event.FieldTime, event.FieldHost:
				if dc != nil {
					t.Errorf("loadDict(%d, %s) = %+v, want nil (not coded)", blk, name, dc)
				}
				continue
			}
			if dc == nil {
				t.Fatalf("loadDict(%d, %s) = nil, want codes", blk, name)
			}
			var got, want []string
			for i := range b.Rows() {
				v := "<absent>"
				switch {
				case len(dc.Dict) == 0:
				case dc.Codes == nil:
					v = dc.Dict[0]
				case dc.Codes[i] > 0:
					v = dc.Dict[dc.Codes[i]-1]
				}
				got = append(got, v)
				if col.Has(i) {
					want = append(want, col.Values[i])
				} else {
					want = append(want, "<absent>")
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("block %d column %s: codes differ from Load (-want +got):\n%s", blk, name, d)
			}
		}
	}
}

// TestLoadPrune checks that pruning leaves out exactly the columns that
// cannot contain a text, and that _raw still expands the pruned columns
// its templates refer to.
func TestLoadPrune(t *testing.T) {
	rows := dictRows(2048)
	p := loadTestPart(t, rows, 1024)
	cols := []string{event.FieldRaw, "app", "outcome", "user", "port", "rare"}
	full, err := p.loadBlock(1, cols)
	if err != nil {
		t.Fatal(err)
	}
	f := func(texts []string, want ...string) {
		t.Helper()
		b, err := p.loadBlockWith(1, cols, LoadOptions{PruneCols: cols, PruneTexts: texts})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range b.Cols {
			got = append(got, c.Name)
			if d := cmp.Diff(full.Column(c.Name), &c); d != "" {
				t.Errorf("texts %q: column %s differs from a full load:\n%s", texts, c.Name, d)
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("texts %q: columns (-want +got):\n%s", texts, d)
		}
	}
	f([]string{"SSHD"}, event.FieldRaw, "app")
	f([]string{"ailu", "USER29"}, event.FieldRaw, "outcome", "user")
	f([]string{"10"}, event.FieldRaw, "user", "port") // user10 and port 10xx
	f([]string{"1a"}, event.FieldRaw)
	f([]string{"only-here"}, event.FieldRaw, "rare")
	f(nil, event.FieldRaw)
	f([]string{"usér"}, event.FieldRaw, "app", "outcome", "user", "rare") // non-ASCII: no shortcut, but not an int
}

func TestContainsFold(t *testing.T) {
	ref := func(s, sub string) bool {
		return strings.Contains(lowerASCII(s), lowerASCII(sub))
	}
	cases := [][2]string{
		{"", ""}, {"abc", ""}, {"", "a"}, {"abc", "ABC"}, {"xxAbCxx", "abc"}, {"ab", "abc"},
		{"Failed password for invalid user", "PASSWORD FOR"}, {"a-b-c-d", "-D"}, {"zzzzzzzq", "zq"},
		{"QQQQq", "qq"}, {"aaaa", "aab"}, {"203.0.113.77", "113.77"}, {"x203.0.113.7", "113.77"},
	}
	for _, c := range cases {
		if got, want := containsFold(c[0], c[1]), ref(c[0], c[1]); got != want {
			t.Errorf("containsFold(%q, %q) = %v, want %v", c[0], c[1], got, want)
		}
	}
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func FuzzContainsFold(f *testing.F) {
	f.Add("Failed password for invalid user root", "INVALID user")
	f.Add("aaaaAAAAb", "aab")
	f.Fuzz(func(t *testing.T, s, sub string) {
		got := containsFold(s, sub)
		if strings.ContainsFunc(sub, func(r rune) bool { return r >= 0x80 }) || strings.Contains(sub, "\ufffd") {
			return // non-ASCII: always true, by contract
		}
		if want := strings.Contains(lowerASCII(s), lowerASCII(sub)); got != want {
			t.Fatalf("containsFold(%q, %q) = %v, want %v", s, sub, got, want)
		}
	})
}

// TestDecodeDictBad feeds malformed chunks: errors, never panics.
func TestDecodeDictBad(t *testing.T) {
	vals := strings.Split("a,b,a,,a,b,b,a,a,b,a,b,a,b,a,b", ",")
	absent := make([]bool, len(vals))
	absent[3] = true
	good := encodeColumn(nil, vals, absent, levelFast)
	if dc, err := decodeDict(good, 16); err != nil || len(dc.Dict) != 2 || len(dc.Codes) != 16 || dc.Codes[3] != 0 {
		t.Fatalf("decodeDict(good) = %+v, %v", dc, err)
	}
	for _, c := range [][]byte{
		nil, {kindDict}, {kindDict, codecNone, 3, 9, 9, 9}, {kindPlain, codecNone, 1, 0},
		{kindDict, codecNone, 4, 1, 1, 'a', 2},             // code 2 of 1 value
		{kindDict, codecNone, 4, 1, 1, 'a', 1},             // one code for 4 rows
		{kindConst, codecNone, 3, 1, 'a', 'b'},             // trailing byte
		{kindDict, codecNone, 7, 1, 1, 'a', 0, 1, 2, 1},    // code 2 of 1 value, one byte per row
		{kindDict, codecNone, 7, 1, 1, 'a', 0, 1, 0x81, 0}, // a two-byte code
	} {
		if dc, err := decodeDict(c, 4); err == nil {
			t.Errorf("decodeDict(%v) = %+v, want an error", c, dc)
		}
	}
	for cut := range good {
		_, _ = decodeDict(good[:cut], 16) // errors are fine, panics are not
	}
}

// wideDict returns a kindDict chunk of n values v0..v(n-1) and the codes
// (0 absent, else index+1), each code written with width bytes at least.
func wideDict(n int, codes []int, width int) []byte {
	b := binary.AppendUvarint(nil, uint64(n))
	for i := range n {
		b = appendStr(b, fmt.Sprintf("v%d", i))
	}
	for _, c := range codes {
		for k := 1; k < width; k++ { // 7 bits each, with the continuation bit
			b = append(b, byte(c>>(7*(k-1)))|0x80)
		}
		if width > 1 {
			b = append(b, byte(c>>(7*(width-1))))
			continue
		}
		b = binary.AppendUvarint(b, uint64(c))
	}
	return encodeChunk(nil, kindDict, b, levelFast)
}

// TestDecodeDictWide checks the decoding of codes of one and two bytes,
// and of longer ones, against the text decoder.
func TestDecodeDictWide(t *testing.T) {
	for _, n := range []int{5, 127, 128, 300, 16383, 16384, 20000} {
		codes := make([]int, 1000)
		for i := range codes {
			codes[i] = (i * 7919) % (n + 1) // 0: absent
		}
		for _, width := range []int{1, 3} {
			chunk := wideDict(n, codes, width)
			dc, err := decodeDict(chunk, len(codes))
			if err != nil {
				t.Fatalf("n %d width %d: %v", n, width, err)
			}
			vals, absent, err := decodeColumn(chunk, len(codes))
			if err != nil {
				t.Fatalf("n %d width %d: decodeColumn: %v", n, width, err)
			}
			for i, c := range codes {
				if int(dc.Codes[i]) != c {
					t.Fatalf("n %d width %d row %d: code %d, want %d", n, width, i, dc.Codes[i], c)
				}
				if (c == 0) != (absent != nil && absent[i]) || (c > 0 && vals[i] != dc.Dict[c-1]) {
					t.Fatalf("n %d width %d row %d: text %q absent %v, code %d", n, width, i, vals[i], absent != nil && absent[i], c)
				}
			}
			if _, err := decodeDict(chunk, len(codes)+1); err == nil {
				t.Errorf("n %d width %d: one row more decoded without error", n, width)
			}
		}
	}
	bad := wideDict(300, []int{1, 301, 2}, 1)
	if _, err := decodeDict(bad, 3); err == nil || !strings.Contains(err.Error(), "out of") {
		t.Errorf("code out of range: %v", err)
	}
}

func FuzzDecodeDict(f *testing.F) {
	f.Add(wideDict(200, []int{0, 1, 200, 130, 5}, 1), 5)
	f.Add(encodeColumn(nil, strings.Split("a,b,a,b,a,b,a,b,a,b,a,b", ","), nil, levelFast), 12)
	f.Add(encodeColumn(nil, []string{"c", "c", "c"}, nil, levelFast), 3)
	f.Fuzz(func(t *testing.T, chunk []byte, rows int) {
		if rows < 0 || rows > 1<<16 {
			return
		}
		dc, err := decodeDict(chunk, rows)
		// Into a buffer that holds an earlier decode: the same answer.
		var buf DictBuf
		if _, err := decodeDictTo(wideDict(300, []int{300, 1, 0, 129}, 1), 4, &buf); err != nil {
			t.Fatal(err)
		}
		dc2, err2 := decodeDictTo(chunk, rows, &buf)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("decodeDict error %v, decodeDictTo error %v", err, err2)
		}
		if err == nil && !cmp.Equal(dc, dc2) {
			t.Fatalf("decodeDictTo differs: %s", cmp.Diff(dc, dc2))
		}
		// Codes of one byte left as stored: the same codes, or the error.
		buf.narrow = true
		dc3, err3 := decodeDictTo(chunk, rows, &buf)
		if (err == nil) != (err3 == nil) {
			t.Fatalf("decodeDict error %v, narrow error %v", err, err3)
		}
		if err == nil && buf.codes8 != nil {
			if dc3.Codes != nil || len(buf.codes8) != rows || !slices.Equal(dc3.Dict, dc.Dict) {
				t.Fatalf("narrow: %+v with %d bytes", dc3, len(buf.codes8))
			}
			for i, c := range buf.codes8 {
				if uint16(c) != dc.Codes[i] {
					t.Fatalf("narrow row %d: %d, want %d", i, c, dc.Codes[i])
				}
			}
		} else if err == nil && !cmp.Equal(dc, dc3) {
			t.Fatalf("narrow differs: %s", cmp.Diff(dc, dc3))
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, c := range dc.Codes {
			if int(c) > len(dc.Dict) {
				t.Fatalf("code %d out of %d values", c, len(dc.Dict))
			}
		}
		// The text decoder must agree on every row.
		vals, absent, err := decodeColumn(chunk, rows)
		if err != nil {
			t.Fatalf("decodeDict ok, decodeColumn: %v", err)
		}
		for i := range rows {
			got := "<absent>"
			switch {
			case len(dc.Dict) == 0:
			case dc.Codes == nil:
				got = dc.Dict[0]
			case dc.Codes[i] > 0:
				got = dc.Dict[dc.Codes[i]-1]
			}
			want := vals[i]
			if absent != nil && absent[i] {
				want = "<absent>"
			}
			if got != want {
				t.Fatalf("row %d: %q by code, %q as text", i, got, want)
			}
		}
	})
}

// TestLoadRows checks that a load of some rows gives those rows' values
// exactly as a full load does, and rejects rows outside the block.
func TestLoadRows(t *testing.T) {
	rows := loadRows(3000)
	p := loadTestPart(t, rows, 1024)
	all := []string{event.FieldRaw, "user", "src_ip", "port", "req", "rare"}
	for blk := range p.blocks {
		full, err := p.loadBlock(blk, all)
		if err != nil {
			t.Fatal(err)
		}
		for _, sel := range [][]int{{0}, {1, 7, 100, 500}, {full.Rows() - 1}, {}} {
			b, err := p.loadBlockWith(blk, all, LoadOptions{Rows: sel, NoTimes: true})
			if err != nil {
				t.Fatalf("block %d rows %v: %v", blk, sel, err)
			}
			if b.Times != nil || b.Rows() != full.Rows() {
				t.Fatalf("block %d: NoTimes load has times %v, %d rows, want nil and %d", blk, b.Times != nil, b.Rows(), full.Rows())
			}
			for _, r := range sel {
				for _, name := range all {
					got, want := b.Column(name), full.Column(name)
					if got.Values[r] != want.Values[r] || got.Has(r) != want.Has(r) {
						t.Errorf("block %d row %d column %s = %q (%v), want %q (%v)", blk, r, name, got.Values[r], got.Has(r), want.Values[r], want.Has(r))
					}
				}
			}
		}
		for _, bad := range [][]int{{-1}, {full.Rows()}, {5, 2}} {
			if _, err := p.loadBlockWith(blk, all, LoadOptions{Rows: bad}); err == nil {
				t.Errorf("block %d: rows %v loaded without an error", blk, bad)
			}
		}
	}
}

func BenchmarkDecodeDict(b *testing.B) {
	for _, n := range []int{40, 3000} {
		codes := make([]int, 7300)
		for i := range codes {
			codes[i] = 1 + (i*7919)%n
		}
		// Stored, not compressed: the codes loop, not zstd.
		_, body, _ := chunkBody(wideDict(n, codes, 1))
		chunk := append([]byte{kindDict, codecNone}, binary.AppendUvarint(nil, uint64(len(body)))...)
		chunk = append(chunk, body...)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(codes)))
			for b.Loop() {
				if _, err := decodeDict(chunk, len(codes)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
