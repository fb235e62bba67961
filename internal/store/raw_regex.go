package store

// Questions a search asks about a block's columns while it decides its
// _raw templates, answered from the block's bloom filter (coverage keys,
// covered_cols.go) without decompressing anything.

import (
	"fmt"

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

// RowVar returns variable j of row as Var does, but decompresses only the
// groups of variables that hold the row's when the block's variables are
// framed (as RowsWithVar's later reads do), not the whole block's: for a
// search that reads the variables of a few rows of a block (a regexp's
// windows). Later reads of the block's variables (Var, RowVars,
// AppendRaw, Template) then decode only the groups they need.
func (t *RawTemplates) RowVar(row, j int) (string, error) {
	sb := t.sb
	if !sb.loaded && t.vg == nil {
		vg, err := openVarGroups(sb)
		if err != nil {
			return "", fmt.Errorf("part %s block %d column %s: %w", t.l.p.path, t.l.i, event.FieldRaw, err)
		}
		t.vg = vg
	}
	return t.Var(row, j)
}
