package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/mamori/mamori/internal/event"
)

// An alias column holds, in every row of its block, the same presence and
// value as an earlier column of the block (the JSON normalizer adds ECS
// names such as source.ip beside the original src_ip). Its chunk is
//
//	kindAlias | codecNone | uvarint bodyLen | uvarint k
//
// where k is the position of the earlier column in the block's column
// list (colmeta order, 0 is _raw). Readers resolve it to the column k's
// values; k may itself be an alias (always of a column before it), but a
// writer never makes such chains.
const kindAlias byte = 6

var errAlias = errors.New("bad alias column")

// appendAliasChunk appends the chunk of an alias of column k to dst.
func appendAliasChunk(dst []byte, k int) []byte {
	var body [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(body[:], uint64(k))
	dst = append(dst, kindAlias, codecNone)
	dst = binary.AppendUvarint(dst, uint64(n))
	return append(dst, body[:n]...)
}

// aliasTarget returns the column position an alias chunk of the block's
// column self refers to; it must come before self.
func aliasTarget(chunk []byte, self int) (int, error) {
	if len(chunk) < 3 || chunk[0] != kindAlias {
		return 0, fmt.Errorf("%w: short or not an alias chunk", errAlias)
	}
	if chunk[1] != codecNone {
		return 0, fmt.Errorf("%w: codec %d", errAlias, chunk[1])
	}
	n, k := binary.Uvarint(chunk[2:])
	if k <= 0 || n != uint64(len(chunk)-2-k) {
		return 0, fmt.Errorf("%w: body length", errAlias)
	}
	t, m := binary.Uvarint(chunk[2+k:])
	if m <= 0 || uint64(m) != n {
		return 0, fmt.Errorf("%w: bad column index", errAlias)
	}
	if t >= uint64(self) {
		return 0, fmt.Errorf("%w: column %d refers to column %d, not an earlier one", errAlias, self, t)
	}
	return int(t), nil
}

// blockAliasTarget returns the target of the alias column k of block bm
// (after checking the chunk's checksum).
func (p *part) blockAliasTarget(bm *blockMeta, k int) (int, error) {
	ch, err := p.chunk(bm.cols[k])
	if err != nil {
		return 0, err
	}
	return aliasTarget(ch, k)
}

// isAlias reports whether column c is stored as an alias.
func (p *part) isAlias(c colMeta) bool {
	return c.size > 0 && p.data[c.off] == kindAlias
}

// valueColumn is column for readers of values: an alias resolves to the
// column holding the values (its offset, size and checksum), keeping the
// alias's name. A damaged alias gives a colMeta of size 0 (loadDict then
// leaves the column to Load, which reports the damage).
func (p *part) valueColumn(bm *blockMeta, name string) (colMeta, bool) {
	k := slices.IndexFunc(bm.cols, func(c colMeta) bool { return p.names[c.name] == name })
	if k < 0 {
		return colMeta{}, false
	}
	c := bm.cols[k]
	for p.isAlias(bm.cols[k]) { // targets come strictly first: this ends
		t, err := p.blockAliasTarget(bm, k)
		if err != nil {
			return colMeta{name: c.name}, true
		}
		k = t
	}
	t := bm.cols[k]
	t.name = c.name
	return t, true
}

// checkAliases checks the alias chunks of block i (for verify): each
// refers to an earlier column that is not _raw's templates.
func (p *part) checkAliases(i int) error {
	bm := &p.blocks[i]
	for k, c := range bm.cols {
		if !p.isAlias(c) {
			continue
		}
		t, err := p.blockAliasTarget(bm, k)
		if err != nil {
			return fmt.Errorf("column %s: %w", p.names[c.name], err)
		}
		if tc := bm.cols[t]; tc.size > 0 && isTemplateKind(p.data[tc.off]) {
			return fmt.Errorf("column %s: %w: refers to the templates of column %d", p.names[c.name], errAlias, t)
		}
	}
	return nil
}

// aliasColumn returns alias column k (chunk ch, named name) of block i:
// the values and absent flags of its target, decoded with col (shared,
// not copied), or an error naming the part, block and column when the
// reference is bad or points at _raw's templates.
func aliasColumn(p *part, bm *blockMeta, i int, ch []byte, k int, name string, col func(k int) (Column, error)) (Column, error) {
	t, err := aliasTarget(ch, k)
	if err == nil && bm.cols[t].size > 0 && isTemplateKind(p.data[bm.cols[t].off]) {
		err = fmt.Errorf("%w: refers to the templates of column %d", errAlias, t)
	}
	if err != nil {
		return Column{}, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
	}
	tc, err := col(t)
	if err != nil {
		return Column{}, err
	}
	return Column{Name: name, Values: tc.Values, Absent: tc.Absent}, nil
}

// alias decodes the alias column k whose chunk is ch.
func (l *blockLoader) alias(k int, ch []byte, name string) (Column, error) {
	col, err := aliasColumn(l.p, l.bm, l.i, ch, k, name, l.col)
	if err != nil {
		return Column{}, err
	}
	l.cols[k] = col
	return col, nil
}

// wantTargets marks the columns that wanted aliases refer to as wanted
// too, so that they are decoded into memory that outlives the load (an
// alias shares its target's values), and drops their pruned bodies.
func (l *blockLoader) wantTargets() {
	for k := len(l.bm.cols) - 1; k > 0; k-- {
		if !l.want[k] || !l.p.isAlias(l.bm.cols[k]) {
			continue
		}
		t, err := l.p.blockAliasTarget(l.bm, k)
		if err != nil {
			continue // reported when the column is decoded
		}
		l.want[t] = true
		if l.pre != nil {
			l.pre[t] = preBody{}
		}
	}
}

// pruneAliases extends a PruneCols decision to aliases: a wanted alias of
// a pruned column is pruned too (it holds the same values). It returns
// pruned with the aliases' names added.
func (l *blockLoader) pruneAliases(cols, pruned []string) []string {
	if len(pruned) == 0 {
		return pruned
	}
	for k, c := range l.bm.cols {
		name := l.p.names[c.name]
		if !l.want[k] || !l.p.isAlias(c) || !slices.Contains(cols, name) {
			continue
		}
		t := k
		for l.p.isAlias(l.bm.cols[t]) {
			var err error
			if t, err = l.p.blockAliasTarget(l.bm, t); err != nil {
				break
			}
		}
		if t != k && !l.p.isAlias(l.bm.cols[t]) && slices.Contains(pruned, l.p.names[l.bm.cols[t].name]) {
			l.want[k] = false
			pruned = append(pruned, name)
		}
	}
	return pruned
}

// findAliases sets alias[i] to the first earlier column whose presence and
// values equal column i's in every row, or -1 (never for _raw, which is
// column 0, and never to it). It is cheap: columns are compared in full
// only when their first and last present rows agree, and equal strings
// of a normalized event usually share their bytes, so comparing them
// costs a pointer check.
func findAliases(alias []int, cols []builtCol) []int {
	alias = alias[:0]
	type sig struct{ first, last int }
	var sigs [64]sig
	ss := sigs[:0]
	for i := range cols {
		c := &cols[i]
		s := sig{-1, -1}
		for j := range c.vals {
			if c.absent == nil || !c.absent[j] {
				s.first = j
				break
			}
		}
		for j := len(c.vals) - 1; j >= 0; j-- {
			if c.absent == nil || !c.absent[j] {
				s.last = j
				break
			}
		}
		ss = append(ss, s)
		a := -1
		for t := 1; t < i && s.first >= 0; t++ {
			// _received adds no tokens to the bloom filter, so its
			// aliases would lack theirs.
			if alias[t] >= 0 || ss[t] != s || cols[t].name == event.FieldReceived || !sameColumn(&cols[t], c, s.first, s.last) {
				continue
			}
			a = t
			break
		}
		alias = append(alias, a)
	}
	return alias
}

// sameColumn reports whether a and b hold the same present rows and
// values; both have first and last as their first and last present rows.
func sameColumn(a, b *builtCol, first, last int) bool {
	if len(a.vals) != len(b.vals) || a.vals[first] != b.vals[first] || a.vals[last] != b.vals[last] {
		return false
	}
	if (a.absent == nil) != (b.absent == nil) {
		return false
	}
	if a.absent != nil && !slices.Equal(a.absent[first:last+1], b.absent[first:last+1]) {
		return false
	}
	av, bv := a.vals[first:last+1], b.vals[first:last+1]
	for j := range av {
		// String equality checks the length, then the pointers (the same
		// bytes: the common case of a copied value), then the bytes.
		if av[j] != bv[j] {
			return false
		}
	}
	return true
}
