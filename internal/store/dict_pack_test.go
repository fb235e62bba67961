package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

// dictBody returns a kindDict body of n values v0..v(n-1) and the codes
// (0 absent, else index+1), and the length of its head.
func dictBody(n int, codes []int) ([]byte, int) {
	b := binary.AppendUvarint(nil, uint64(n))
	for i := range n {
		b = appendStr(b, fmt.Sprintf("v%d", i))
	}
	head := len(b)
	for _, c := range codes {
		b = binary.AppendUvarint(b, uint64(c))
	}
	return b, head
}

// storedChunk returns body as an uncompressed chunk of the given kind.
func storedChunk(kind byte, body []byte) []byte {
	out := binary.AppendUvarint([]byte{kind, codecNone}, uint64(len(body)))
	return append(out, body...)
}

// TestPackedRoundTrip packs the codes of dictionaries of up to 127
// values at every width they fit, at row counts around the words, and
// checks that every reader gives what it gives for the kindDict body.
func TestPackedRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, nd := range []int{0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 63, 127} {
		for _, rows := range []int{1, 7, 8, 9, 20, 21, 22, 63, 64, 65, 100, 1000, 1003} {
			for w := max(1, bits.Len(uint(nd))); w <= maxPackedWidth; w += 2 {
				codes := make([]int, rows)
				for i := range codes {
					codes[i] = r.Intn(nd + 1)
				}
				body, head := dictBody(nd, codes)
				chunk := appendPackedChunk([]byte{0xee}, body, head, w)[1:]
				name := fmt.Sprintf("nd %d rows %d w %d", nd, rows, w)
				checkPacked(t, name, chunk, storedChunk(kindDict, body), rows)
			}
		}
	}
}

// checkPacked checks every reader of the packed chunk against the same
// kindDict body stored as it is.
func checkPacked(t *testing.T, name string, chunk, stored []byte, rows int) {
	t.Helper()
	_, want, err := chunkBody(stored)
	if err != nil {
		t.Fatalf("%s: stored: %v", name, err)
	}
	kind, got, err := chunkBody(chunk)
	if err != nil || kind != kindDict || got != want {
		t.Fatalf("%s: chunkBody = %d, %q, %v; want the kindDict body", name, kind, got, err)
	}
	sc := &colScratch{body: make([]byte, 3)}
	if _, got, err = chunkBodyTo(chunk, sc); err != nil || got != want {
		t.Fatalf("%s: chunkBodyTo = %q, %v", name, got, err)
	}
	wantDC, err := decodeDict(stored, rows)
	if err != nil {
		t.Fatal(err)
	}
	gotDC, err := decodeDict(chunk, rows)
	if err != nil {
		t.Fatalf("%s: decodeDict: %v", name, err)
	}
	if d := cmp.Diff(wantDC, gotDC); d != "" {
		t.Fatalf("%s: decodeDict (-want +got):\n%s", name, d)
	}
	var buf DictBuf
	for range 2 { // the second time into used buffers
		gotDC, err = decodeDictTo(chunk, rows, &buf)
		if err != nil || !slices.Equal(gotDC.Codes, wantDC.Codes) || !slices.Equal(gotDC.Dict, wantDC.Dict) {
			t.Fatalf("%s: decodeDictTo = %+v, %v", name, gotDC, err)
		}
		buf.narrow = true
		gotDC, err = decodeDictTo(chunk, rows, &buf)
		buf.narrow = false
		if err != nil || gotDC.Codes != nil || len(buf.codes8) != rows || !slices.Equal(gotDC.Dict, wantDC.Dict) {
			t.Fatalf("%s: narrow decodeDictTo = %+v, %d codes, %v", name, gotDC, len(buf.codes8), err)
		}
		for i, c := range buf.codes8 {
			if uint16(c) != wantDC.Codes[i] {
				t.Fatalf("%s: narrow code %d = %d, want %d", name, i, c, wantDC.Codes[i])
			}
		}
	}
	// Left packed (LoadDictCodes), marked per code.
	buf.narrow, buf.lazy = true, true
	gotDC, err = decodeDictTo(chunk, rows, &buf)
	buf.narrow, buf.lazy = false, false
	if err != nil || !buf.hasPC || gotDC.Codes != nil || buf.codes8 != nil || buf.pc.Len() != rows {
		t.Fatalf("%s: lazy decodeDictTo = %+v, %v (packed %v)", name, gotDC, err, buf.hasPC)
	}
	pc := buf.pc
	if b := pc.Bytes(); len(b) != rows || !slices.EqualFunc(b, wantDC.Codes, func(x byte, y uint16) bool { return uint16(x) == y }) {
		t.Fatalf("%s: PackedCodes.Bytes differ", name)
	}
	keep := make([]bool, rows)
	for c := range len(wantDC.Dict) + 2 {
		prev := slices.Clone(keep)
		for _, set := range []bool{true, false} {
			hit := pc.MarkEq(keep, byte(c), set)
			any := false
			for i, k := range keep {
				want := wantDC.Codes[i] == uint16(c) && (set || prev[i])
				if k != want {
					t.Fatalf("%s: MarkEq(%d, set %v) row %d = %v, want %v", name, c, set, i, k, want)
				}
				any = any || k
			}
			if hit != any {
				t.Fatalf("%s: MarkEq(%d, set %v) reports %v, rows left %v", name, c, set, hit, any)
			}
			prev = slices.Clone(keep)
		}
		for i := range keep { // a mixed start for the next code
			keep[i] = i%3 != 0
		}
	}
	vals, absent, err := decodeColumn(chunk, rows)
	wv, wa, werr := decodeColumn(stored, rows)
	if err != nil || werr != nil || !slices.Equal(vals, wv) || !slices.Equal(absent, wa) {
		t.Fatalf("%s: decodeColumn: %v / %v", name, err, werr)
	}
	nd := len(wantDC.Dict)
	for _, vs := range [][]string{{"v0"}, {fmt.Sprintf("v%d", nd-1)}, {"v1", "v2"}, {"v0", "v1", "v2", "v3", "v4"}, {"nope"}} {
		want, err := refCount(stored, rows, vs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := countDictValues(chunk, rows, vs, &buf)
		if err != nil || got != want {
			t.Fatalf("%s: countDictValues(%v) = %d, %v; want %d", name, vs, got, err, want)
		}
	}
	if _, err := decodeDict(chunk, rows+1); err == nil {
		t.Fatalf("%s: decodeDict with a row more: no error", name)
	}
	if _, err := countDictValues(chunk, rows+1, []string{"v0"}, &buf); err == nil && nd > 0 {
		t.Fatalf("%s: countDictValues with a row more: no error", name)
	}
}

// TestPackPolicy checks which kindDict bodies the writer packs.
func TestPackPolicy(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	gen := func(rows int, f func(i int) int) []int {
		c := make([]int, rows)
		for i := range c {
			c[i] = f(i)
		}
		return c
	}
	for _, tc := range []struct {
		name  string
		nd    int
		codes []int
		pack  bool
	}{
		{"three values at random", 3, gen(4000, func(int) int { return 1 + r.Intn(3) }), true},
		{"fifteen values and absent", 15, gen(4000, func(int) int { return r.Intn(16) }), true},
		{"two values, one rare", 2, gen(4000, func(i int) int { return 1 + b2i(i%500 == 0) }), false},
		{"one value nearly everywhere", 1, gen(4000, func(i int) int { return b2i(i != 7) }), false},
		{"sixteen values", 16, gen(4000, func(int) int { return 1 + r.Intn(16) }), false},
		{"few rows", 3, gen(20, func(i int) int { return 1 + i%3 }), false},
	} {
		body, _ := dictBody(tc.nd, tc.codes)
		out, ok := packedDictChunk([]byte{9}, body, len(tc.codes))
		if ok != tc.pack {
			t.Errorf("%s: packed %v, want %v", tc.name, ok, tc.pack)
		}
		if !ok {
			if !bytes.Equal(out, []byte{9}) {
				t.Errorf("%s: dst changed without packing", tc.name)
			}
			continue
		}
		checkPacked(t, tc.name, out[1:], storedChunk(kindDict, body), len(tc.codes))
	}
	// Through encodeColumn, with absent rows.
	vals := make([]string, 3000)
	absent := make([]bool, len(vals))
	for i := range vals {
		vals[i] = []string{"sshd", "sudo", "cron"}[r.Intn(3)]
		absent[i] = r.Intn(5) == 0
		if absent[i] {
			vals[i] = ""
		}
	}
	ch := encodeColumn(nil, vals, absent, levelFast)
	if ch[0] != kindDict || ch[1] != codecPacked {
		t.Fatalf("encodeColumn: kind %d codec %d, want a packed dictionary", ch[0], ch[1])
	}
	gv, ga, err := decodeColumn(ch, len(vals))
	if err != nil || !slices.Equal(gv, vals) || !slices.Equal(ga, absent) {
		t.Fatalf("decodeColumn of the packed column: %v", err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPackedBad checks that malformed packed chunks give an error in
// every reader, never a panic.
func TestPackedBad(t *testing.T) {
	body, head := dictBody(2, []int{1, 2, 0, 1, 2, 2, 1, 0, 1, 1})
	good := appendPackedChunk(nil, body, head, 2)
	hdr := len(good) - 8 - head - 1 // kind, codec, uvarint body length
	word := func(ch []byte, x uint64) []byte {
		ch = slices.Clone(ch)
		binary.LittleEndian.PutUint64(ch[len(ch)-8:], x)
		return ch
	}
	set := func(i int, b byte) []byte {
		ch := slices.Clone(good)
		ch[i] = b
		return ch
	}
	w3body, w3head := dictBody(5, slices.Repeat([]int{1}, 21))
	w3 := appendPackedChunk(nil, w3body, w3head, 3)
	for _, tc := range []struct {
		name  string
		chunk []byte
		rows  int
		msg   string
	}{
		{"empty", nil, 10, "truncated"},
		{"no width", good[:hdr], 10, "truncated"},
		{"width 0", set(hdr, 0), 10, "of 0 bits"},
		{"width 8", set(hdr, 8), 10, "of 8 bits"},
		{"width 255", set(hdr, 255), 10, "of 255 bits"},
		{"values above the width", set(hdr, 1), 10, "2 values in codes of 1 bits"},
		{"too many values", set(hdr+1, 100), 10, "larger than the data"},
		{"value cut short", good[:hdr+4], 10, "truncated"},
		{"code above the values", word(good, 0b11), 10, "index 3 out of 2"},
		{"code past the rows", word(good, 1<<40), 10, "past the codes"},
		{"top bit of a 3-bit word", word(w3, 0x9249249249249249|1<<63), 21, "past the codes"},
		{"words cut", good[:len(good)-1], 10, "7 bytes for 10 rows"},
		{"a word too many", append(slices.Clone(good), make([]byte, 8)...), 10, "16 bytes for 10 rows"},
		{"body length below the head", append([]byte{kindDict, codecPacked, 3}, good[hdr:]...), 10, "below its head"},
		{"body length huge", append([]byte{kindDict, codecPacked, 0xff, 0xff, 0xff, 0xff, 0x0f}, good[hdr:]...), 10, "bad body length"},
		{"kind int", set(0, kindInt), 10, "kind other than dict"},
		{"rows differ", good, 11, "rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				if err == nil || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("%s: %v, want an error with %q", what, err, tc.msg)
				}
			}
			if tc.rows == 10 {
				_, _, err := chunkBody(tc.chunk)
				check("chunkBody", err)
			}
			_, err := decodeDict(tc.chunk, tc.rows)
			check("decodeDict", err)
			buf := &DictBuf{narrow: true}
			_, err = decodeDictTo(tc.chunk, tc.rows, buf)
			check("narrow decodeDictTo", err)
			_, err = countDictValues(tc.chunk, tc.rows, []string{"v0", "v1"}, buf)
			check("countDictValues", err)
			if tc.rows == 10 && len(tc.chunk) > 1 && tc.chunk[1] == codecPacked {
				check("checkPackedChunk", checkPackedChunk(tc.chunk))
			}
			if _, _, err = decodeColumn(tc.chunk, tc.rows); err == nil {
				t.Errorf("decodeColumn: no error") // its message is decodeBody's
			}
		})
	}
	// The good chunk itself reads.
	if err := checkPackedChunk(good); err != nil {
		t.Errorf("checkPackedChunk(good): %v", err)
	}
	checkPacked(t, "good", good, storedChunk(kindDict, body), 10)
	checkPacked(t, "w3", w3, storedChunk(kindDict, w3body), 21)
}

// TestSpread checks the byte spreading of 1-, 2- and 4-bit codes.
func TestSpread(t *testing.T) {
	for v := range 1 << 16 {
		for j := range 8 {
			if got := byte(spread2(uint16(v)) >> (8 * j)); got != byte(v>>(2*j)&3) {
				t.Fatalf("spread2(%#x) byte %d = %d", v, j, got)
			}
			if v < 256 {
				if got := byte(spread1(byte(v)) >> (8 * j)); got != byte(v>>j&1) {
					t.Fatalf("spread1(%#x) byte %d = %d", v, j, got)
				}
			}
		}
	}
	r := rand.New(rand.NewSource(3))
	for range 1000 {
		v := r.Uint32()
		for j := range 8 {
			if got := byte(spread4(v) >> (8 * j)); got != byte(v>>(4*j)&15) {
				t.Fatalf("spread4(%#x) byte %d = %d", v, j, got)
			}
			if got := byte(spread3(uint64(v)|0xff<<24) >> (8 * j)); got != byte(v>>(3*j)&7) {
				t.Fatalf("spread3(%#x) byte %d = %d", v, j, got)
			}
		}
	}
}

func FuzzUnpackDictBody(f *testing.F) {
	body, head := dictBody(3, []int{1, 2, 3, 0, 1, 1, 2, 3, 3, 3, 1})
	good := appendPackedChunk(nil, body, head, 2)
	_, n := binary.Uvarint(good[2:])
	f.Add(good[2+n:], uint64(len(body)), 11)
	b7, h7 := dictBody(100, []int{100, 0, 5, 99, 1, 1, 1, 1, 1, 1})
	c7 := appendPackedChunk(nil, b7, h7, 7)
	_, n = binary.Uvarint(c7[2:])
	f.Add(c7[2+n:], uint64(len(b7)), 10)
	f.Add([]byte{8, 0}, uint64(1), 1)
	f.Add([]byte{1, 1, 0, 3}, uint64(2), 1)
	f.Fuzz(func(t *testing.T, data []byte, bodyLen uint64, rows int) {
		if rows < 0 || rows > 1<<16 {
			return
		}
		chunk := binary.AppendUvarint([]byte{kindDict, codecPacked}, bodyLen)
		chunk = append(chunk, data...)
		_, body, err := chunkBody(chunk)
		buf := &DictBuf{narrow: true}
		if err != nil {
			// Every reader refuses it.
			if _, err2 := decodeDict(chunk, rows); err2 == nil {
				t.Fatalf("chunkBody: %v; decodeDict: no error", err)
			}
			if _, err2 := decodeDictTo(chunk, rows, buf); err2 == nil {
				t.Fatalf("chunkBody: %v; decodeDictTo: no error", err)
			}
			if _, err2 := countDictValues(chunk, rows, []string{"v1"}, buf); err2 == nil {
				t.Fatalf("chunkBody: %v; countDictValues: no error", err)
			}
			return
		}
		// A body that unpacks reads the same packed and stored.
		pk, err := packedChunk(chunk)
		if err != nil {
			t.Fatalf("chunkBody read it, packedChunk: %v", err)
		}
		stored := storedChunk(kindDict, []byte(body))
		if _, err := decodeDict(stored, pk.rows); err != nil {
			t.Fatalf("unpacked body does not decode: %v", err)
		}
		checkPacked(t, "fuzz", chunk, stored, pk.rows)
	})
}

// TestCodesAbove checks the word-at-a-time range check against one code
// at a time, for every width and dictionary size, with one code above
// nd in a random field or none.
func TestCodesAbove(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for w := 1; w <= maxPackedWidth; w++ {
		k := 64 / w
		for nd := 0; nd < 1<<w; nd++ {
			for range 200 {
				var x uint64
				over := -1
				if r.Intn(2) == 0 && nd+1 < 1<<w {
					over = r.Intn(k)
				}
				for j := range k {
					c := r.Intn(nd + 1)
					if j == over {
						c = nd + 1 + r.Intn(1<<w-nd-1)
					}
					x |= uint64(c) << (j * w)
				}
				words := binary.LittleEndian.AppendUint64(nil, x)
				if got := codesAbove(words, w, k, nd); got != (over >= 0) {
					t.Fatalf("w %d nd %d word %#x: codesAbove %v, want %v", w, nd, x, got, over >= 0)
				}
			}
		}
	}
}

// TestPackedPart writes a part whose few-valued columns are packed and
// checks the block readers on them: LoadDict, LoadDictBytes,
// LoadDictCodes and CountValues against the loaded values.
func TestPackedPart(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	rows := dictRows(3000)
	for _, e := range rows {
		e.Fields = append(e.Fields, event.Field{Name: "lvl", Value: []string{"info", "warn", "error", "debug", "trace"}[r.Intn(5)]})
		if r.Intn(4) != 0 {
			e.Fields = append(e.Fields, event.Field{Name: "act", Value: []string{"allow", "deny"}[r.Intn(2)]})
		}
	}
	p := loadTestPart(t, rows, 1024)
	var buf DictBuf
	packedSeen := 0
	for blk := range p.blocks {
		ref := &partRef{p: p, i: blk}
		for _, name := range []string{"lvl", "act", "outcome"} {
			c, _ := p.valueColumn(&p.blocks[blk], name)
			if p.data[c.off+1] == codecPacked {
				packedSeen++
			}
			b, err := p.loadBlock(blk, []string{name})
			if err != nil {
				t.Fatal(err)
			}
			col := b.Column(name)
			want, err := ref.LoadDict(name)
			if err != nil || want == nil {
				t.Fatalf("LoadDict(%d, %s) = %v, %v", blk, name, want, err)
			}
			for i, v := range col.Values {
				absent := col.Absent != nil && col.Absent[i]
				if c := want.Codes[i]; absent != (c == 0) || !absent && want.Dict[c-1] != v {
					t.Fatalf("LoadDict(%d, %s) row %d: code %d, value %q", blk, name, i, c, v)
				}
			}
			_, codes8, err := ref.LoadDictBytes(name, &buf)
			if err != nil || len(codes8) != len(want.Codes) {
				t.Fatalf("LoadDictBytes(%d, %s): %d codes, %v", blk, name, len(codes8), err)
			}
			for i, c := range codes8 {
				if uint16(c) != want.Codes[i] {
					t.Fatalf("LoadDictBytes(%d, %s) row %d: %d, want %d", blk, name, i, c, want.Codes[i])
				}
			}
			dc, codes8, pc, err := ref.LoadDictCodes(name, &buf)
			if err != nil || !slices.Equal(dc.Dict, want.Dict) || (pc != nil) == (codes8 != nil) || (pc != nil) != (p.data[c.off+1] == codecPacked) {
				t.Fatalf("LoadDictCodes(%d, %s) = %v, %d bytes, packed %v, %v", blk, name, dc, len(codes8), pc != nil, err)
			}
			if pc != nil {
				keep := make([]bool, pc.Len())
				pc.MarkEq(keep, 1, true)
				for i, k := range keep {
					if k != (want.Codes[i] == 1) {
						t.Fatalf("MarkEq(%d, %s) row %d: %v, code %d", blk, name, i, k, want.Codes[i])
					}
				}
			}
			for _, vals := range [][]string{{"warn"}, {"deny"}, {"failure", "error"}, {"info", "warn", "error", "debug", "trace"}} {
				n := 0
				for i, v := range col.Values {
					if (col.Absent == nil || !col.Absent[i]) && slices.Contains(vals, v) {
						n++
					}
				}
				got, ok, err := ref.CountValues(name, vals, &buf)
				if err != nil || !ok || got != n {
					t.Fatalf("CountValues(%d, %s, %v) = %d, %v, %v; want %d", blk, name, vals, got, ok, err, n)
				}
			}
		}
	}
	if packedSeen < len(p.blocks)*2 {
		t.Errorf("%d packed columns in %d blocks, want lvl and act packed in each", packedSeen, len(p.blocks))
	}
}

// BenchmarkPackedCodes reads the codes of a 6,000-row column of three
// values (app in the bench data's blocks) stored zstd-compressed and
// packed: one byte a row (LoadDictBytes), a count (CountValues) and a
// mark of one value (LoadDictCodes); ns per row.
func BenchmarkPackedCodes(b *testing.B) {
	r := rand.New(rand.NewSource(6))
	codes := make([]int, 6000)
	for i := range codes {
		codes[i] = 1 + r.Intn(3)
	}
	body, head := dictBody(3, codes)
	initCodecs()
	chunks := map[string][]byte{
		"zstd":   encodeChunk(nil, kindDict, body, levelBetter),
		"packed": appendPackedChunk(nil, body, head, 2),
	}
	keep := make([]bool, len(codes))
	for _, name := range []string{"zstd", "packed"} {
		ch := chunks[name]
		var buf DictBuf
		b.Run(name+"/bytes", func(b *testing.B) {
			for b.Loop() {
				buf.narrow = true
				if _, err := decodeDictTo(ch, len(codes), &buf); err != nil || len(buf.codes8) != len(codes) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(codes)), "ns/row")
		})
		b.Run(name+"/count", func(b *testing.B) {
			for b.Loop() {
				if _, err := countDictValues(ch, len(codes), []string{"v1"}, &buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(codes)), "ns/row")
		})
		if name == "packed" {
			b.Run(name+"/mark", func(b *testing.B) {
				for b.Loop() {
					buf.narrow, buf.lazy = true, true
					if _, err := decodeDictTo(ch, len(codes), &buf); err != nil || !buf.hasPC {
						b.Fatal(err)
					}
					buf.pc.MarkEq(keep, 2, true)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(codes)), "ns/row")
			})
		}
	}
}
