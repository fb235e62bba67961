package store

import (
	"encoding/binary"
	"testing"
)

// FuzzRowValues feeds arbitrary chunks to the row-wise readers of plain,
// dict and ipv4 columns (plainValues with sumLengths, packedValues,
// fewIPv4 and the selection of many rows) and
// compares what they read with the whole decode of the same chunk: when
// both succeed the listed rows must agree, and a chunk the whole decode
// refuses may still load rows (only those rows are checked) but never
// panics.
func FuzzRowValues(f *testing.F) {
	plain := []byte{}
	for i := range 40 {
		plain = binary.AppendUvarint(plain, uint64(i%7)) // lengths+1, some absent
	}
	for i := range 40 {
		plain = append(plain, "abcdef"[:max(i%7-1, 0)]...)
	}
	f.Add(encodeChunk(nil, kindPlain, plain, levelFast), uint8(40), uint8(3))
	f.Add(storedChunk(kindPlain, plain), uint8(40), uint8(1))
	dict := []byte{3, 1, 'a', 2, 'b', 'c', 0}
	for i := range 70 {
		dict = append(dict, byte(i%4))
	}
	f.Add(appendPackedChunk(nil, dict, 7, 2), uint8(70), uint8(5))
	f.Add(storedChunk(kindDict, dict), uint8(70), uint8(2))
	ips := make([]string, 30)
	absent := make([]bool, 30)
	for i := range ips {
		if absent[i] = i%4 == 1; !absent[i] {
			ips[i] = string(AppendIPv4(nil, uint32(i*77)))
		}
	}
	if b, ok := encodeIPv4(ips, absent); ok {
		f.Add(storedChunk(kindIPv4, b), uint8(30), uint8(4))
	}
	f.Fuzz(func(t *testing.T, ch []byte, rows, pick uint8) {
		if len(ch) < 2 || rows == 0 || (ch[0] != kindPlain && ch[0] != kindDict && ch[0] != kindIPv4) {
			return
		}
		n := int(rows)
		var sel []int
		for r := range n {
			if (r*7+int(pick))%5 == 0 {
				sel = append(sel, r)
			}
		}
		if len(sel) == 0 {
			sel = []int{n - 1}
		}
		bm := &blockMeta{rows: uint32(n)}
		l := &rowLoader{bm: bm, rows: sel}
		defer l.release()
		col, err := l.decode(ch)
		if err != nil {
			return
		}
		vals, absent, werr := decodeColumn(ch, n)
		if werr != nil {
			return
		}
		for _, r := range sel {
			a := absent != nil && absent[r]
			if col.Absent[r] != a || (!a && col.Values[r] != vals[r]) {
				t.Fatalf("row %d: %q absent %v, whole decode %q absent %v", r, col.Values[r], col.Absent[r], vals[r], a)
			}
		}
	})
}
