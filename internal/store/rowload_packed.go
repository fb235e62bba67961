package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// packedValues reads the listed rows' values of a codecPacked dict
// chunk (dict_pack.go) into col: each row's code straight from its word
// (no unpacking of the block's codes), checked against the values.
func (l *rowLoader) packedValues(ch []byte, col Column, sc *rowScratch) error {
	n, k := binary.Uvarint(ch[2:])
	if k <= 0 || n > maxChunkBytes {
		return errors.New("bad body length")
	}
	pk, err := parsePackedHead(ch[0], ch[2+k:], n)
	if err != nil {
		return err
	}
	if pk.rows != len(col.Values) {
		return fmt.Errorf("packed codes: %d rows, want %d", pk.rows, len(col.Values))
	}
	r := &reader{s: bytesToString(pk.head)}
	r.uvarint() // nd, read by parsePackedHead
	dict := slices.Grow(sc.dict[:0], pk.nd)[:pk.nd]
	sc.dict = dict
	for i := range dict {
		dict[i] = r.str() // parsePackedHead read them whole
	}
	for _, i := range l.rows {
		c, err := pk.code(i)
		if err != nil {
			return err
		}
		if c == 0 {
			col.Absent[i] = true
		} else {
			col.Values[i] = dict[c-1]
		}
	}
	return nil
}
