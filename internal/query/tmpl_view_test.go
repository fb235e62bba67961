package query

import (
	"encoding/binary"
	"testing"
)

// FuzzSparseDecode feeds arbitrary stored codes to sparseCol.decode: no
// panics, and when it accepts them they are exactly rows uvarints, each
// at most the dictionary's size (as binary.Uvarint reads them).
func FuzzSparseDecode(f *testing.F) {
	f.Add([]byte{1, 2, 0, 3}, uint8(4), uint8(3))
	f.Add([]byte{0x81, 0x01, 2}, uint8(2), uint8(200))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, uint8(1), uint8(5))
	f.Fuzz(func(t *testing.T, b []byte, rows, nd uint8) {
		sc := &sparseCol{dict: make([]string, nd)}
		ok := sc.decode(string(b), int(rows))
		off := 0
		want := true
		for range int(rows) {
			c, w := binary.Uvarint(b[off:])
			if w <= 0 || c > uint64(nd) {
				want = false
				break
			}
			off += w
		}
		want = want && off == len(b)
		if ok != want {
			t.Fatalf("decode(%x, %d rows, %d values) = %v, want %v", b, rows, nd, ok, want)
		}
		if ok {
			off = 0
			for r := range int(rows) {
				c, w := binary.Uvarint(b[off:])
				off += w
				if uint64(sc.codes[r]) != c {
					t.Fatalf("row %d: code %d, want %d", r, sc.codes[r], c)
				}
			}
		}
	})
}
