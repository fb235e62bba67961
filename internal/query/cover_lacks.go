package query

import "github.com/mamori/mamori/internal/token"

// Blocks written with coverage keys (store covered_cols.go) tell, from
// the bloom filter alone, which bytes other than word bytes the values
// of each field column may hold: a column whose values lack a byte of a
// text cannot contain the text, so a search need not decompress it to
// find out (a phrase holds a space, few user names or addresses do).

// coverBytes caches a block's answers of store.RawTemplates.MayHoldByte.
type coverBytes struct {
	state int8        // 0 not asked yet, 1 the block has coverage keys, -1 it has not
	known [][2]uint64 // by block column: the bytes asked
	has   [][2]uint64 // by block column: the bytes its values may hold
}

func (cb *coverBytes) reset() { cb.state = 0 }

// wordOnly reports whether the values of block column k hold only word
// bytes, from the block's coverage keys; false when they cannot tell.
func (bv *blockView) wordOnly(k int) bool {
	for b := 0; b < 0x80; b++ {
		if !token.IsWordByte(byte(b)) && !bv.lacks(k, string(rune(b))) {
			return false
		}
	}
	return true
}

// lacks reports whether no value of block column k can contain text
// (ignoring ASCII case), from the block's coverage keys; false when they
// cannot tell.
func (bv *blockView) lacks(k int, text string) bool {
	tv := &bv.tv
	cb := &tv.cover
	if cb.state == 0 {
		cb.state = -1
		if tv.tmpl.Coverage() {
			cb.state = 1
			n := tv.tmpl.Columns()
			cb.known = append(cb.known[:0], make([][2]uint64, n)...)
			cb.has = append(cb.has[:0], make([][2]uint64, n)...)
		}
	}
	if cb.state < 0 || k < 0 || k >= len(cb.known) {
		return false
	}
	for i := 0; i < len(text); i++ {
		b := text[i]
		if token.IsWordByte(b) {
			continue
		}
		w, bit := b>>6, uint64(1)<<(b&63)
		if cb.known[k][w]&bit == 0 {
			cb.known[k][w] |= bit
			if tv.tmpl.MayHoldByte(k, b) {
				cb.has[k][w] |= bit
			}
		}
		if cb.has[k][w]&bit == 0 {
			return true
		}
	}
	return false
}
