package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

// TestDecodeDictTo checks decoding into a reused DictBuf against the
// allocating decoder: dictionaries at the size limits of the code
// widths (127/128 values: one byte or two; 16383/16384: two or three;
// 65535: the most), absent rows, constants, and a buffer that goes from
// large to small and back.
func TestDecodeDictTo(t *testing.T) {
	var buf DictBuf
	sizes := []int{1, 127, 128, 255, 256, 16383, 16384, 65535, 3, 65535, 2}
	for _, n := range sizes {
		for _, width := range []int{1, 3} {
			rows := 700 + n%13
			codes := make([]int, rows)
			for i := range codes {
				codes[i] = (i*7919 + n) % (n + 1) // 0: absent
			}
			codes[0], codes[rows-1] = n, 0 // the largest code, an absent row
			chunk := wideDict(n, codes, width)
			want, err := decodeDict(chunk, rows)
			if err != nil {
				t.Fatalf("n %d width %d: %v", n, width, err)
			}
			got, err := decodeDictTo(chunk, rows, &buf)
			if err != nil {
				t.Fatalf("n %d width %d: decodeDictTo: %v", n, width, err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("n %d width %d: decodeDictTo differs (-want +got):\n%s", n, width, d)
			}
			// Codes of one byte left as stored.
			buf.narrow = true
			got, err = decodeDictTo(chunk, rows, &buf)
			buf.narrow = false
			if err != nil {
				t.Fatalf("n %d width %d: narrow: %v", n, width, err)
			}
			if width == 1 && n < 128 {
				if got.Codes != nil || len(buf.codes8) != rows || !slices.Equal(got.Dict, want.Dict) {
					t.Fatalf("n %d: narrow: %d codes, %d bytes", n, len(got.Codes), len(buf.codes8))
				}
				for i, c := range buf.codes8 {
					if uint16(c) != want.Codes[i] {
						t.Fatalf("n %d: narrow row %d: %d, want %d", n, i, c, want.Codes[i])
					}
				}
			} else if d := cmp.Diff(want, got); d != "" || buf.codes8 != nil {
				t.Fatalf("n %d width %d: narrow differs (-want +got):\n%s", n, width, d)
			}
			// One row more or less: an error, as decodeDict gives.
			for _, r := range []int{rows - 1, rows + 1} {
				if _, err := decodeDictTo(chunk, r, &buf); err == nil {
					t.Errorf("n %d width %d: %d rows decoded without error", n, width, r)
				}
			}
		}
	}
	for _, vals := range [][]string{{"c", "c", "c"}, {""}, {"x"}} {
		chunk := encodeColumn(nil, vals, nil, levelFast)
		got, err := decodeDictTo(chunk, len(vals), &buf)
		if err != nil || got.Codes != nil || !slices.Equal(got.Dict, vals[:1]) {
			t.Errorf("constant %q: %+v, %v", vals, got, err)
		}
	}
	bad := wideDict(300, []int{1, 301, 2}, 1)
	if _, err := decodeDictTo(bad, 3, &buf); err == nil {
		t.Error("code out of range: no error")
	}
	small := wideDict(5, []int{1, 6, 2}, 1)
	if _, err := decodeDictTo(small, 3, &buf); err == nil {
		t.Error("one-byte code out of range: no error")
	}
	buf.narrow = true
	if _, err := decodeDictTo(small, 3, &buf); err == nil {
		t.Error("narrow: one-byte code out of range: no error")
	}
	buf.narrow = false
}

// TestLoadDictTo checks LoadDictTo and LoadIPv4To, with one buffer for
// every block and column, against LoadDict and LoadIPv4.
func TestLoadDictTo(t *testing.T) {
	rows := dictRows(3000)
	for i, e := range rows {
		ip := fmt.Sprintf("10.%d.%d.%d", i%3, i%200, i%251)
		if i%5 != 1 {
			e.Fields = append(e.Fields, event.Field{Name: "src_ip", Value: ip})
		}
		e.Fields = append(e.Fields, event.Field{Name: "dst_ip", Value: ip}) // every row
		if i%9 != 0 {                                                       // 150 values: codes of one and two bytes
			e.Fields = append(e.Fields, event.Field{Name: "many", Value: fmt.Sprint("v", i%150)})
		}
	}
	p := loadTestPart(t, rows, 1024)
	var buf DictBuf
	bytesSeen := 0
	for range 2 { // the second round reuses a full buffer
		for blk := range p.blocks {
			ref := &partRef{p: p, i: blk}
			for _, name := range []string{"app", "outcome", "rare", "user", "many", "src_ip", "dst_ip", "missing", event.FieldRaw, event.FieldHost} {
				want, err := ref.LoadDict(name)
				if err != nil {
					t.Fatal(err)
				}
				got, err := ref.LoadDictTo(name, &buf)
				if err != nil {
					t.Fatalf("LoadDictTo(%d, %s): %v", blk, name, err)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("LoadDictTo(%d, %s) differs (-LoadDict +LoadDictTo):\n%s", blk, name, d)
				}
				if name == "many" && (got == nil || len(got.Dict) != 150 || got.Codes == nil) {
					t.Errorf("block %d: many is not coded with 150 values", blk)
				}
				dc8, codes8, err := ref.LoadDictBytes(name, &buf)
				if err != nil {
					t.Fatalf("LoadDictBytes(%d, %s): %v", blk, name, err)
				}
				if codes8 != nil {
					if want == nil || dc8.Codes != nil || len(codes8) != len(want.Codes) || !slices.Equal(dc8.Dict, want.Dict) {
						t.Fatalf("LoadDictBytes(%d, %s): %+v with %d bytes, LoadDict %+v", blk, name, dc8, len(codes8), want)
					}
					for i, c := range codes8 {
						if uint16(c) != want.Codes[i] {
							t.Fatalf("LoadDictBytes(%d, %s) row %d: %d, want %d", blk, name, i, c, want.Codes[i])
						}
					}
					bytesSeen++
				} else if d := cmp.Diff(want, dc8); d != "" {
					t.Fatalf("LoadDictBytes(%d, %s) differs (-LoadDict +LoadDictBytes):\n%s", blk, name, d)
				}
				wantIP, err := ref.LoadIPv4(name)
				if err != nil {
					t.Fatal(err)
				}
				gotIP, err := ref.LoadIPv4To(name, &buf)
				if err != nil {
					t.Fatalf("LoadIPv4To(%d, %s): %v", blk, name, err)
				}
				if d := cmp.Diff(wantIP, gotIP); d != "" {
					t.Fatalf("LoadIPv4To(%d, %s) differs (-LoadIPv4 +LoadIPv4To):\n%s", blk, name, d)
				}
				keep := make([]bool, p.blocks[blk].rows)
				for i := range keep {
					keep[i] = i%3 != 1
				}
				for _, kp := range [][]bool{nil, keep} {
					sel, marked, ok, err := ref.LoadIPv4Where(name, kp, &buf)
					if err != nil || ok != (wantIP != nil) {
						t.Fatalf("LoadIPv4Where(%d, %s) = ok %v, %v; LoadIPv4 %v", blk, name, ok, err, wantIP != nil)
					}
					if !ok {
						continue
					}
					var want []uint32
					n := 0
					for i, a := range wantIP.Addrs {
						if kp != nil && !kp[i] {
							continue
						}
						n++
						if wantIP.Absent == nil || !wantIP.Absent[i] {
							want = append(want, a)
						}
					}
					if !slices.Equal(sel, want) || marked != n {
						t.Fatalf("LoadIPv4Where(%d, %s): %d addresses, %d marked; want %d, %d", blk, name, len(sel), marked, len(want), n)
					}
				}
				if (name == "src_ip" || name == "dst_ip") && gotIP == nil {
					t.Errorf("block %d: %s is not stored as ipv4", blk, name)
				}
			}
		}
	}
	if bytesSeen == 0 {
		t.Error("no column with codes of one byte")
	}
	// A nil buffer is allowed.
	if dc, err := (&partRef{p: p}).LoadDictTo("outcome", nil); err != nil || dc == nil {
		t.Errorf("LoadDictTo(nil buffer) = %v, %v", dc, err)
	}
}

// TestDecodeIPv4To checks the decoder with reused buffers against a
// plain reference decoder, on bitmaps of every shape.
func TestDecodeIPv4To(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var addrs []uint32
	var absentBuf []bool
	for _, rows := range []int{1, 7, 8, 9, 63, 64, 65, 1000, 8192, 5} {
		for _, every := range []int{0, 1, 2, 3, 64, -1} { // -1: every row absent
			vals := make([]string, rows)
			var absent []bool
			if every != 0 {
				absent = make([]bool, rows)
			}
			for i := range vals {
				vals[i] = string(AppendIPv4(nil, r.Uint32()))
				if every == -1 || (every > 0 && i%every == 0) {
					absent[i] = true
					vals[i] = ""
				}
			}
			body, ok := encodeIPv4(vals, absent)
			if !ok {
				if !slices.Contains(absent, false) {
					continue // no present row: not an ipv4 column
				}
				t.Fatalf("rows %d every %d: encodeIPv4 refused", rows, every)
			}
			wantA, wantAbs := refDecodeIPv4(t, string(body), rows)
			var gotAbs []bool
			var err error
			addrs, gotAbs, err = decodeIPv4To(string(body), rows, addrs, absentBuf)
			if err != nil {
				t.Fatalf("rows %d every %d: %v", rows, every, err)
			}
			if gotAbs != nil {
				absentBuf = gotAbs
			}
			if !slices.Equal(addrs, wantA) || !equalAbsent(gotAbs, wantAbs) {
				t.Fatalf("rows %d every %d: decodeIPv4To differs from the reference", rows, every)
			}
			checkSelectIPv4(t, string(body), rows, r)
		}
	}
	// Every row absent (a bitmap and no address): all zero, all absent.
	body := []byte{ipv4HasAbsent, 0xff, 0x03}
	a, ab, err := decodeIPv4To(string(body), 10, []uint32{1, 2, 3}, nil)
	if err != nil || len(a) != 10 || slices.ContainsFunc(a, func(x uint32) bool { return x != 0 }) || slices.Contains(ab, false) {
		t.Errorf("all absent: %v %v %v", a, ab, err)
	}
}

// checkSelectIPv4 checks selectIPv4 on a valid body against the plain
// reference, with no, some, all and no rows marked.
func checkSelectIPv4(t *testing.T, body string, rows int, r *rand.Rand) {
	t.Helper()
	wantA, wantAbs := refDecodeIPv4(t, body, rows)
	dst := []uint32{7, 7, 7}
	for _, every := range []int{0, 1, 2, 5, -1} { // 0: nil keep, -1: none marked
		var keep []bool
		if every != 0 {
			keep = make([]bool, rows)
			for i := range keep {
				keep[i] = every > 0 && (i%every == 0 || r.IntN(3) == 0)
			}
		}
		var want []uint32
		marked := 0
		for i := range rows {
			if keep != nil && !keep[i] {
				continue
			}
			marked++
			if wantAbs == nil || !wantAbs[i] {
				want = append(want, wantA[i])
			}
		}
		got, gotMarked, err := selectIPv4(body, rows, keep, dst)
		if err != nil {
			t.Fatalf("selectIPv4(rows %d, keep every %d): %v", rows, every, err)
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) || gotMarked != marked {
			t.Fatalf("selectIPv4(rows %d, keep every %d) = %d addresses, %d marked; want %d, %d", rows, every, len(got), gotMarked, len(want), marked)
		}
		dst = got
	}
	if _, _, err := selectIPv4(body, rows, make([]bool, rows+1), nil); err == nil {
		t.Errorf("rows %d: keep of another length: no error", rows)
	}
}

// refDecodeIPv4 decodes a kindIPv4 body the plain way.
func refDecodeIPv4(t *testing.T, body string, rows int) ([]uint32, []bool) {
	t.Helper()
	flags, rest := body[0], body[1:]
	var absent []bool
	n := rows
	if flags&ipv4HasAbsent != 0 {
		absent = make([]bool, rows)
		for i := range absent {
			if rest[i/8]>>(i%8)&1 == 1 {
				absent[i] = true
				n--
			}
		}
		rest = rest[(rows+7)/8:]
	}
	addrs := make([]uint32, rows)
	j := 0
	for i := range addrs {
		if absent != nil && absent[i] {
			continue
		}
		addrs[i] = uint32(rest[j])<<24 | uint32(rest[n+j])<<16 | uint32(rest[2*n+j])<<8 | uint32(rest[3*n+j])
		j++
	}
	return addrs, absent
}

func TestBitsToBools(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for rows := range 70 {
		bitmap := make([]byte, (rows+7)/8)
		for i := range bitmap {
			bitmap[i] = byte(r.Uint32())
		}
		dst := make([]bool, rows)
		for i := range dst {
			dst[i] = i%2 == 0 // stale values must be overwritten
		}
		got := bitsToBools(dst, string(bitmap))
		want := 0
		for i := range rows {
			set := bitmap[i/8]>>(i%8)&1 == 1
			if dst[i] != set {
				t.Fatalf("rows %d: row %d = %v, want %v", rows, i, dst[i], set)
			}
			if set {
				want++
			}
		}
		if got != want {
			t.Fatalf("rows %d: %d set, want %d", rows, got, want)
		}
	}
}

func TestBytesAtMost(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		n := r.IntN(128)
		s := make([]byte, r.IntN(40))
		for i := range s {
			s[i] = byte(r.IntN(n + 1))
		}
		if len(s) > 0 && r.IntN(2) == 0 {
			s[r.IntN(len(s))] = byte(n + 1 + r.IntN(255-n)) // one too large (maybe >= 128)
		}
		want := true
		for _, b := range s {
			want = want && int(b) <= n
		}
		if got := bytesAtMost(string(s), n); got != want {
			t.Fatalf("bytesAtMost(%v, %d) = %v, want %v", s, n, got, want)
		}
	}
}
