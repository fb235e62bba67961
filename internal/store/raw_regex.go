package store

// Questions a search asks about a block's columns while it decides its
// _raw templates, answered from the block's bloom filter (coverage keys,
// covered_cols.go) without decompressing anything.

import (
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// Coverage reports whether the block's bloom filter has coverage keys;
// MayHoldByte answers only for blocks that have them.
func (t *RawTemplates) Coverage() bool {
	return t.l.p.hasCoverage(t.l.p.bloom(t.l.i))
}

// MayHoldByte reports whether some value of block column k may hold byte
// b, a byte other than a word byte, on a block with coverage keys
// (Coverage): false is certain. Word bytes, metadata columns and columns
// outside the block answer true.
func (t *RawTemplates) MayHoldByte(k int, b byte) bool {
	l := t.l
	if k < 0 || k >= len(l.bm.cols) || b >= 0x80 || token.IsWordByte(b) {
		return true
	}
	name := l.p.names[l.bm.cols[k].name]
	return event.IsMeta(name) || bloomHas(l.p.bloom(l.i), byteHash(name, b))
}
