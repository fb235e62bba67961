package store

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSumLengths checks sumLengths (the lengths of plain and template
// rows before a listed row, eight one-byte lengths a step) against a
// varint loop: one-byte lengths with absent rows, runs of long lengths
// between them, and bodies cut anywhere.
func TestSumLengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for range 300 {
		var b []byte
		var starts []int
		var vals []uint64
		long := rng.IntN(4) // how often a length takes two or more bytes
		for range rng.IntN(400) {
			starts = append(starts, len(b))
			var v uint64
			switch {
			case rng.IntN(10) == 0:
				v = 0 // absent
			case long > 0 && rng.IntN(8) < long:
				v = uint64(128 + rng.IntN(70000))
			default:
				v = uint64(1 + rng.IntN(127))
			}
			b = binary.AppendUvarint(b, v)
			vals = append(vals, v)
		}
		starts = append(starts, len(b))
		cut := len(b)
		if rng.IntN(4) == 0 && cut > 0 {
			cut = rng.IntN(cut)
		}
		body := string(b[:cut])
		sums := make([]int, len(starts))
		for i, v := range vals {
			sums[i+1] = sums[i] + max(int(v)-1, 0)
		}
		for range 20 {
			from := rng.IntN(len(starts))
			n := rng.IntN(len(starts) - from + 2)
			pos, got, ok := sumLengths(body, starts[from], n)
			want := from + n
			if want < len(starts) && starts[want] <= cut {
				if !ok || pos != starts[want] || got != sums[want]-sums[from] {
					t.Fatalf("sum %d from length %d: at %d sum %d %v, want %d sum %d", n, from, pos, got, ok, starts[want], sums[want]-sums[from])
				}
			} else if ok && n > 0 && (want >= len(starts) || starts[want] > cut) {
				t.Fatalf("sum %d from length %d of %d (cut at %d): ok past the end", n, from, len(starts)-1, cut)
			}
		}
	}
}

// TestPackedRowValues reads rows of codecPacked dict chunks of every
// width row-wise (packedValues) against the unpacked body, and checks
// that a code above the values, a short or long word section and a
// width out of range are errors (never a panic).
func TestPackedRowValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for w := 1; w <= maxPackedWidth; w++ {
		nd := 1<<w - 1
		rows := 1 + rng.IntN(700)
		body := binary.AppendUvarint(nil, uint64(nd))
		for v := range nd {
			body = binary.AppendUvarint(body, uint64(2+v%3))
			body = append(body, "abcd"[:2+v%3]...)
		}
		headLen := len(body)
		for range rows {
			body = append(body, byte(rng.IntN(nd+1)))
		}
		ch := appendPackedChunk(nil, body, headLen, w)
		var listed []int
		for i := range rows {
			if rng.IntN(5) == 0 || i == rows-1 {
				listed = append(listed, i)
			}
		}
		l := &rowLoader{rows: listed}
		sc := &rowScratch{}
		col := Column{Values: make([]string, rows), Absent: make([]bool, rows)}
		if err := l.packedValues(ch, col, sc); err != nil {
			t.Fatalf("width %d: %v", w, err)
		}
		r := &reader{s: string(body)}
		dict := make([]string, r.uvarint())
		for i := range dict {
			dict[i] = r.str()
		}
		for _, i := range listed {
			c := body[headLen+i]
			if (c == 0) != col.Absent[i] || (c > 0 && col.Values[i] != dict[c-1]) {
				t.Fatalf("width %d row %d: %q absent %v, want code %d", w, i, col.Values[i], col.Absent[i], c)
			}
		}
		damaged := map[string][]byte{
			"short words": ch[:len(ch)-1],
			"long words":  append(slices.Clone(ch), 0),
			"width 0":     withByte(ch, widthAt(ch), 0),
			"width 8":     withByte(ch, widthAt(ch), 8),
		}
		for name, d := range damaged {
			col := Column{Values: make([]string, rows), Absent: make([]bool, rows)}
			if err := l.packedValues(d, col, sc); err == nil {
				t.Fatalf("width %d, %s: no error", w, name)
			}
		}
	}
	// A code above the dictionary: two values in codes of 2 bits, a 3.
	body := []byte{2, 1, 'a', 1, 'b', 1, 2, 0, 3, 1}
	ch := appendPackedChunk(nil, body, 5, 2)
	l := &rowLoader{rows: []int{0, 3}}
	col := Column{Values: make([]string, 5), Absent: make([]bool, 5)}
	if err := l.packedValues(ch, col, &rowScratch{}); err == nil {
		t.Fatal("code 3 of 2 values: no error")
	}
	l.rows = []int{0, 1, 2, 4}
	if err := l.packedValues(ch, col, &rowScratch{}); err != nil || col.Values[1] != "b" || !col.Absent[2] {
		t.Fatalf("rows without the bad code: %v %q", err, col.Values)
	}
}

// widthAt returns the offset of the width byte of a codecPacked chunk.
func widthAt(ch []byte) int {
	_, k := binary.Uvarint(ch[2:])
	return 2 + k
}

func withByte(b []byte, at int, v byte) []byte {
	b = slices.Clone(b)
	b[at] = v
	return b
}

// TestLengths8 checks the eight-lengths sum against a loop over bytes.
func TestLengths8(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for range 2000 {
		var b [8]byte
		want, wantPlus := 0, 0
		for i := range b {
			b[i] = byte(rng.IntN(128))
			if rng.IntN(4) == 0 {
				b[i] = []byte{0, 1, 127}[rng.IntN(3)]
			}
			want += int(b[i])
			wantPlus += max(int(b[i])-1, 0)
		}
		w := binary.LittleEndian.Uint64(b[:])
		if got := lengths8(w, false); got != want {
			t.Fatalf("%x: %d, want %d", b, got, want)
		}
		if got := lengths8(w, true); got != wantPlus {
			t.Fatalf("%x plus: %d, want %d", b, got, wantPlus)
		}
	}
}
