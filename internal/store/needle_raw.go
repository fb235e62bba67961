package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// RawTermsChecker is implemented by the BlockRefs of parts (type-assert a
// BlockRef for it): whether a term search may leave a block's _raw out,
// decided from its refs summary (needle_refs.go) without decoding the
// skeletons. Safe for concurrent use, like the BlockRef.
type RawTermsChecker interface {
	// TermsOnlyInValues reports whether, for each of terms (matched as
	// token.Match does, no wildcards), every match in the raw text of
	// any row of the block lies inside the value of a reference to a
	// column named in cols: a search that matches the terms against
	// those columns' values then finds every matching row without
	// reading _raw. False when that cannot be told: blocks without a
	// refs summary (written before session 8, or whose variables are
	// not framed), terms without a digit (they may lie in the literal
	// text), terms a variable of the block may equal, terms holding a
	// byte that lies next to a reference, references to other columns.
	TermsOnlyInValues(terms, cols []string) (bool, error)
}

// TermMayStayInValues reports whether TermsOnlyInValues may answer true
// for a search holding term t, on any block: false when t holds no digit,
// since such a term may lie in the literal text (noLiteralMatch). A
// caller decides it once per search from its terms and skips the check
// (its reads of the refs summary and the _raw chunk) when a term fails.
func TermMayStayInValues(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i]-'0' < 10 {
			return true
		}
	}
	return false
}

// refsMaxRows bounds the rows of dirty skeletons whose values
// TermsOnlyInValues checks (more: it answers false).
const refsMaxRows = 256

// needleScratch holds TermsOnlyInValues's buffers (pooled).
type needleScratch struct {
	ht   headTable
	ft   frameTable
	f    varsFilter
	sb   *skelBlock // a head that is not grouped, decoded whole
	lens []byte
	item []byte
	ids  []byte
	rows []int
}

var needleScratchPool = sync.Pool{New: func() any { return new(needleScratch) }}

// refsBlock is what TermsOnlyInValues needs of a block besides its _raw
// chunk.
type refsBlock struct {
	pool         *partPool // the part's skeleton pool (nil: none)
	rows         int
	cols         []string // the block's columns (colmeta order)
	host, source string
	// loadRows loads field columns of the listed rows (RowLoader.LoadRows;
	// the Block's Times may be nil).
	loadRows func(cols []string, rows []int) (*Block, error)
}

// TermsOnlyInValues implements RawTermsChecker.
func (r *partRef) TermsOnlyInValues(terms, cols []string) (bool, error) {
	if len(terms) == 0 {
		return false, nil
	}
	for _, t := range terms {
		if !TermMayStayInValues(t) {
			return false, nil // decide would fail on every block
		}
	}
	p, bm := r.p, r.bm()
	k := -1
	for j, c := range bm.cols {
		if p.names[c.name] == event.FieldRaw && c.size >= 2 && p.data[c.off] == kindSkeleton {
			k = j
		}
	}
	if k < 0 {
		return false, nil
	}
	ns := needleScratchPool.Get().(*needleScratch)
	defer needleScratchPool.Put(ns)
	defer ns.release()
	// Blocks without a summary (older parts) answer before the chunk's
	// CRC is checked: the load that follows checks it anyway. Errors of
	// the unchecked bytes are left to that load too. A block with one is
	// decided on what this open read once the CRC holds: the same bytes
	// (the chunk is p.data's), so opening them again would read the same.
	c := bm.cols[k]
	has, err := ns.open(p.data[c.off:c.off+uint64(c.size)], int(bm.rows), p.pool)
	if err != nil || !has {
		return false, nil
	}
	if _, err := r.bb.chunk(p, r.i, c); err != nil {
		return false, err
	}
	b := refsBlock{pool: p.pool, rows: int(bm.rows), cols: p.blockColumns(bm)[1:], host: r.Host(), source: r.Source(), loadRows: r.loadValues}
	ok, err := ns.decide(&b, terms, cols)
	if err != nil {
		err = fmt.Errorf("part %s block %d column %s: %w", p.path, r.i, event.FieldRaw, err)
	}
	return ok, err
}

// termsOnlyInValues is TermsOnlyInValues on the kindSkeleton _raw chunk
// ch (CRC checked) of block b.
func (ns *needleScratch) termsOnlyInValues(ch []byte, b *refsBlock, terms, cols []string) (bool, error) {
	defer ns.release()
	ok, err := ns.open(ch, b.rows, b.pool)
	if err != nil || !ok {
		return false, err
	}
	return ns.decide(b, terms, cols)
}

// decide is termsOnlyInValues once ns is open.
func (ns *needleScratch) decide(b *refsBlock, terms, cols []string) (bool, error) {
	f := &ns.f
	for c := tmplColBase; c < 256; c++ {
		if !f.refs.codes.has(byte(c)) {
			continue
		}
		if j := c - tmplColBase; j >= len(b.cols) || !slices.Contains(cols, b.cols[j]) {
			return false, nil
		}
	}
	for _, t := range terms {
		if !f.outsideText(t) ||
			f.refs.codes.has(tmplHost) && refValueMay(b.host, t, f.refs.joins.has(tmplHost)) ||
			f.refs.codes.has(tmplSource) && refValueMay(b.source, t, f.refs.joins.has(tmplSource)) {
			return false, nil
		}
	}
	if f.refs.many {
		return false, nil
	}
	if len(f.refs.dirty) == 0 {
		return true, nil
	}
	return ns.dirtyOK(b, terms)
}

func (ns *needleScratch) release() {
	if ns.sb != nil {
		ns.sb.release()
		ns.sb = nil
	}
	ns.ht.frames, ns.ft.frames, ns.f.words = nil, nil, ""
}

// open reads the filter item of kindSkeleton chunk ch of rows rows into
// ns.f, and the table of its head into ns.ht when grouped (else the
// head, decoded whole, into ns.sb); ok when the item has a refs summary.
func (ns *needleScratch) open(ch []byte, rows int, pool *partPool) (ok bool, err error) {
	var nv int
	head, vars, grouped := groupedHeadOf(ch)
	if grouped {
		n, k := binary.Uvarint(head[2:])
		if k <= 0 || n > maxChunkBytes {
			return false, fmt.Errorf("%w: body length", errHead)
		}
		if err := ns.ht.parse(head[2+k:], n); err != nil {
			return false, err
		}
		if got := ns.ht.rowEnds[len(ns.ht.rowEnds)-1]; got != rows {
			return false, fmt.Errorf("%w: %d rows of ids for %d", errHead, got, rows)
		}
		nv = ns.ht.varStart[len(ns.ht.rowEnds)]
	} else {
		if ns.sb, err = decodeSkeletonHead(ch, rows, pool); err != nil {
			return false, err
		}
		if err := ns.sb.count(); err != nil {
			return false, err
		}
		vars, nv = ns.sb.vars, int(ns.sb.vstart[rows])
	}
	if len(vars) < 2 || vars[0] != kindSkeleton || vars[1] != codecFramed {
		return false, nil
	}
	n, k := binary.Uvarint(vars[2:])
	if k <= 0 || n > maxChunkBytes {
		return false, fmt.Errorf("skeleton variables: bad body length")
	}
	ft := &ns.ft
	if err := ft.parse(vars[2+k:], n); err != nil {
		return false, fmt.Errorf("skeleton variables: %w", err)
	}
	g, err := varsFilterGroups(ft, nv)
	if err != nil || g == len(ft.itemEnds) {
		return false, err
	}
	all := len(ft.itemEnds)
	if ns.lens, err = decodeFrame(ft.frame(all-1), ns.lens[:0], ft.ends[all-1]-ft.start(all-1)); err != nil {
		return false, fmt.Errorf("skeleton variables: %w", err)
	}
	if ns.item, err = decodeFrame(ft.frame(2*all-1), ns.item[:0], ft.ends[2*all-1]-ft.start(2*all-1)); err != nil {
		return false, fmt.Errorf("skeleton variables: %w", err)
	}
	l, w := binary.Uvarint(ns.lens)
	if w != len(ns.lens) || l != uint64(len(ns.item)) {
		return false, fmt.Errorf("%w: item of %d bytes in a frame of %d, length in %d bytes", errVarsFilter, l, len(ns.item), len(ns.lens))
	}
	if err := ns.f.parse(bytesToString(ns.item), g); err != nil {
		return false, err
	}
	return ns.f.hasRefs, nil
}

// outsideText reports whether term t cannot match the block's raw text
// in its literal text and variables alone, nor across the edge of a
// value through a byte of the literal text (f has a refs summary).
func (f *varsFilter) outsideText(t string) bool {
	if !f.noLiteralMatch(t) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if f.refs.next.has(t[i]) {
			return false
		}
	}
	return true
}

// noLiteralMatch reports whether t cannot match in the literal text and
// variables of a row. Every digit of the literal text is in a variable,
// and a match there covers each variable it touches whole (an edge
// inside one fails its word boundary), so each run of t's word bytes
// with a digit is a variable of the row, and runs joined by one byte c
// are placeholders joined by c in its skeleton. So t cannot match when
// it has no such run, its longest cannot be a variable (the filter), or
// it has more runs joined by one byte than any skeleton's chain.
func (f *varsFilter) noLiteralMatch(t string) bool {
	var anchor string
	var c byte // the joiner of the chain of runs ending at the last run
	n, end := 0, -1
	for i := 0; i < len(t); {
		if !token.IsWordByte(t[i]) {
			i++
			continue
		}
		j, digit := i, false
		for j < len(t) && token.IsWordByte(t[j]) {
			digit = digit || t[j]-'0' < 10
			j++
		}
		switch {
		case !digit:
			n = 0
		case n > 0 && i == end+1:
			if n >= 2 && t[end] == c {
				n++
			} else {
				c, n = t[end], 2
			}
			if n > max(1, int(f.refs.chainOf(c))) {
				return true // more runs joined by c than any chain
			}
		default:
			n = 1
		}
		if digit {
			end = j
			if j-i > len(anchor) {
				anchor = t[i:j]
			}
		}
		i = j
	}
	if anchor == "" {
		return false // t holds no digit (TermMayStayInValues)
	}
	var h uint64
	if len(anchor) >= f.minLen {
		h = varHash(anchor)
	}
	for g := range f.maxLens {
		if f.mayHold(g, anchor, h) {
			return false
		}
	}
	return true
}

// refValueMay reports whether the value v of a reference (the stream's
// host or source) may hold a match of t, or, joined (the reference lies
// next to a word byte, a variable or another reference), share one
// across its edges.
func refValueMay(v, t string, joined bool) bool {
	return token.Match(v, t) || joined && edgeOverlap(v, t)
}

// edgeOverlap reports whether a match of t (token.Match) may cross an
// edge of value v, which lies right next to a word byte, a variable or
// another value: a part of t after its first byte starts as v does (v
// starts inside the match), or a part before its last byte ends as v
// does (v ends inside it), ASCII case-folded, with the word boundary
// of a match end that falls inside v kept. An empty v: true.
func edgeOverlap(v, t string) bool {
	if v == "" {
		return true
	}
	wantL, wantR := token.IsWordByte(t[0]), token.IsWordByte(t[len(t)-1])
	for j := 1; j < len(t); j++ {
		// v starts at offset j of the match; the match ends inside v
		// when m < len(v), before byte v[m].
		m := min(len(v), len(t)-j)
		if token.EqualFold(v[:m], t[j:j+m]) && (m == len(v) || !wantR || !token.IsWordByte(v[m])) {
			return true
		}
		// v ends at offset j; the match starts inside v when m < len(v),
		// after byte v[len(v)-m-1].
		m = min(len(v), j)
		if token.EqualFold(v[len(v)-m:], t[j-m:j]) && (m == len(v) || !wantL || !token.IsWordByte(v[len(v)-m-1])) {
			return true
		}
	}
	return false
}

// dirtyOK reports whether no match of the terms may cross the edge of a
// joined column's value in a row of a dirty skeleton: it reads those
// rows' ids (from the grouped head's id frames), then their values of
// the joined columns.
func (ns *needleScratch) dirtyOK(b *refsBlock, terms []string) (bool, error) {
	var names []string
	for c := tmplColBase; c < 256; c++ {
		if j := c - tmplColBase; ns.f.refs.joins.has(byte(c)) && j < len(b.cols) {
			names = append(names, b.cols[j])
		}
	}
	if len(names) == 0 {
		return true, nil
	}
	rows, ok, err := ns.dirtyRows(b.rows)
	if err != nil || !ok {
		return false, err
	}
	if len(rows) == 0 {
		return true, nil
	}
	lb, err := b.loadRows(names, rows)
	if err != nil {
		return false, err
	}
	for _, c := range lb.Cols {
		for i, v := range c.Values {
			if !c.Has(i) {
				continue
			}
			for _, t := range terms {
				if edgeOverlap(v, t) {
					return false, nil
				}
			}
		}
	}
	return true, nil
}

// dirtyRows returns the rows (ascending) whose skeleton is dirty; false
// when there are more than refsMaxRows.
func (ns *needleScratch) dirtyRows(rows int) ([]int, bool, error) {
	dirty := ns.f.refs.dirty
	out := ns.rows[:0]
	defer func() { ns.rows = out[:0] }()
	add := func(row int, id uint64) bool {
		if id == 0 || id-1 < uint64(dirty[0]) || id-1 > uint64(dirty[len(dirty)-1]) {
			return true
		}
		if _, found := slices.BinarySearch(dirty, uint32(id-1)); found {
			if len(out) == refsMaxRows {
				return false
			}
			out = append(out, row)
		}
		return true
	}
	if ns.sb != nil {
		for row, id := range ns.sb.ids {
			if !add(row, uint64(id)) {
				return nil, false, nil
			}
		}
		return out, true, nil
	}
	ht := &ns.ht
	nskel := uint64(ht.skelEnds[len(ht.skelEnds)-1])
	row := 0
	for g := range ht.rowEnds {
		var err error
		if ns.ids, err = ht.decode(ht.nskel()+g, ns.ids[:0]); err != nil {
			return nil, false, err
		}
		r := reader{s: bytesToString(ns.ids)}
		for ; row < ht.rowEnds[g]; row++ {
			var id uint64
			if off := r.off; off < len(ns.ids) && ns.ids[off] < 0x80 {
				id = uint64(ns.ids[off])
				r.off++
			} else if off+1 < len(ns.ids) && ns.ids[off+1] < 0x80 {
				// Two bytes: blocks hold a few hundred skeletons.
				id, r.off = uint64(ns.ids[off]&0x7f)|uint64(ns.ids[off+1])<<7, off+2
			} else if id = r.uvarint(); r.err != nil {
				return nil, false, fmt.Errorf("%w: id of row %d", errHead, row)
			}
			if id > nskel {
				return nil, false, fmt.Errorf("%w: skeleton %d of %d in row %d", errHead, id, nskel, row)
			}
			if !add(row, id) {
				return nil, false, nil
			}
		}
		if r.off != len(ns.ids) {
			return nil, false, fmt.Errorf("%w: id group %d: %d bytes left", errHead, g, len(ns.ids)-r.off)
		}
	}
	return out, true, nil
}
