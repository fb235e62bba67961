package store

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/mamori/mamori/internal/event"
)

// TermDictLoader is implemented by the BlockRefs of parts: a field
// column that a search reads only through its terms, decided on its
// dictionary. Load with LoadOptions.PruneCols decompresses such a
// column's body to look for the terms' texts and, when one is there,
// decodes all of its rows; the search then matches every row's value.
// A dictionary column holds a few hundred distinct values in 8,192 rows:
// matching each distinct value once and keeping only the rows of the
// values that match costs a small part of that.
type TermDictLoader interface {
	// LoadTermDicts decides the columns names for a search of texts (the
	// search's terms, as LoadOptions.PruneTexts) that reads them only
	// through its terms; match reports whether a value matches one of
	// the terms. It appends to decided the names it decided: those the
	// block stores as a constant or a dictionary (or lacks); the others
	// are to be loaded. Of the decided columns, those holding a value
	// that a term matches are appended to cols: in every row, the row's
	// value when the value matches, "" when it does not or the row lacks
	// the field (a term never matches ""). Such a column the terms cannot
	// tell from the stored one, but it does not hold the column's values.
	// An appended column reuses the Values of the Column found past
	// len(cols) in cols' capacity, if any; its strings are copies.
	LoadTermDicts(names, texts []string, match func(string) bool, cols []Column, decided []string, buf *DictBuf) ([]Column, []string, error)
}

// LoadTermDicts implements TermDictLoader.
func (r *partRef) LoadTermDicts(names, texts []string, match func(string) bool, cols []Column, decided []string, buf *DictBuf) ([]Column, []string, error) {
	if buf == nil {
		buf = new(DictBuf)
	}
	p, i := r.p, r.i
	bm := &p.blocks[i]
	bl := p.bloom(i)
	cov := p.hasCoverage(bl)
	// seen: the bodies read, by offset, and the column each gave (-1:
	// none): an alias shares its target's body.
	type read struct {
		off uint64
		col int
	}
	var seen []read
	for _, name := range names {
		if event.IsMeta(name) {
			continue
		}
		c, ok := p.valueColumn(bm, name) // an alias of a dictionary column is one
		if !ok {
			decided = append(decided, name) // no row has the field
			continue
		}
		if c.size == 0 {
			continue
		}
		if kind := p.data[c.off]; kind != kindDict && kind != kindConst {
			continue
		}
		decided = append(decided, name)
		if cov && !slices.ContainsFunc(texts, func(t string) bool { return !lacksText(bl, name, t) }) {
			continue // as pruneColumns: nothing to decompress
		}
		if k := slices.IndexFunc(seen, func(r read) bool { return r.off == c.off }); k >= 0 {
			if j := seen[k].col; j >= 0 {
				// A copy: every column of cols has Values of its own
				// (reused for another column of a later block).
				var vals []string
				if len(cols) < cap(cols) {
					vals = cols[: len(cols)+1 : len(cols)+1][len(cols)].Values
				}
				cols = append(cols, Column{Name: name, Values: append(vals[:0], cols[j].Values...)})
			}
			continue
		}
		ch, err := r.bb.chunk(p, i, c)
		if err != nil {
			return cols, decided, err
		}
		kind, body, err := r.bb.decodeBody(p, i, c, ch, &buf.sc)
		if err != nil {
			return cols, decided, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
		}
		var vals []string
		if len(cols) < cap(cols) {
			vals = cols[: len(cols)+1 : len(cols)+1][len(cols)].Values
		}
		var marks string
		if kind == kindDict && r.bb != nil {
			_, marks, _ = sharedBodies.getTag(p, c.off, tagDictMarks)
		}
		col, lacks, err := termDictColumnMarks(kind, body, int(bm.rows), texts, match, vals, &buf.dict, marks)
		if err != nil {
			return cols, decided, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
		}
		seen = append(seen, read{c.off, -1})
		if !lacks {
			col.Name = name
			seen[len(seen)-1].col = len(cols)
			cols = append(cols, col)
		}
	}
	return cols, decided, nil
}

// termDictColumn decides one column of LoadTermDicts: a kindConst or
// kindDict body of rows rows; kept is scratch for the matching values, by
// code. lacks is true when no value matches.
func termDictColumn(kind byte, body string, rows int, texts []string, match func(string) bool, vals []string, kept *[]string) (col Column, lacks bool, err error) {
	return termDictColumnMarks(kind, body, rows, texts, match, vals, kept, "")
}

// termDictColumnMarks is termDictColumn with the body's dictionary marks
// (rowload_cache.go) when the body cache has them, else "": a column
// with one matching value then finds that value's rows by its code's
// bytes (codeRows) instead of reading every row's code.
func termDictColumnMarks(kind byte, body string, rows int, texts []string, match func(string) bool, vals []string, kept *[]string, marks string) (col Column, lacks bool, err error) {
	r := &reader{s: body}
	switch kind {
	case kindConst:
		v := r.str()
		if r.err == nil && r.off != len(body) {
			r.err = fmt.Errorf("%d trailing bytes", len(body)-r.off)
		}
		if r.err != nil {
			return Column{}, false, fmt.Errorf("decode column: %w", r.err)
		}
		if !match(v) {
			return Column{}, true, nil
		}
		v = strings.Clone(v)
		vals = slices.Grow(vals[:0], rows)[:rows]
		for i := range vals {
			vals[i] = v
		}
		return Column{Values: vals}, false, nil
	case kindDict:
	default:
		return Column{}, false, fmt.Errorf("decode column: kind %d is not a dictionary", kind)
	}
	n := r.count(1)
	start := r.off
	// ends[j]: where value j ends in the values' bytes.
	ep := valueEndsPool.Get().(*[]int32)
	defer valueEndsPool.Put(ep)
	ends := slices.Grow((*ep)[:0], n)[:n]
	*ep = ends
	for j := range ends {
		// Lengths of one byte inline, the others through the reader.
		if off := r.off; off < len(body) && body[off] < 0x80 && int(body[off]) < len(body)-off {
			r.off = off + 1 + int(body[off])
		} else {
			r.str()
		}
		ends[j] = int32(r.off - start)
	}
	if r.err != nil {
		return Column{}, false, fmt.Errorf("decode column: %w", r.err)
	}
	// A value that a term matches contains its text: most columns hold
	// none of the texts anywhere in their values, as pruneColumns finds.
	// Only the values holding a find of a text are matched (all of them
	// for a text not ASCII, which indexFold does not search).
	dict := body[start:r.off]
	var firstBuf [4]int
	first := firstBuf[:0] // each text's first find
	found, all := false, false
	for _, t := range texts {
		p := indexFold(dict, t, 0)
		first = append(first, p)
		found = found || p != -1
		all = all || p == -2
	}
	if !found {
		return Column{}, true, nil
	}
	keep := slices.Grow((*kept)[:0], n)[:n]
	*kept = keep
	clear(keep)
	hits, hit := 0, 0 // values that match; the code of the last
	// valueAt(j): value j and where its bytes start (after its length).
	valueAt := func(j int) (int, string) {
		vr := reader{s: dict}
		if j > 0 {
			vr.off = int(ends[j-1])
		}
		v := vr.str()
		return vr.off - len(v), v
	}
	try := func(v string, j int) {
		if keep[j] == "" && match(v) {
			keep[j] = strings.Clone(v)
			hits, hit = hits+1, j+1
		}
	}
	if all {
		for j := range keep {
			_, v := valueAt(j)
			try(v, j)
		}
	} else {
		for x, t := range texts {
			for p := first[x]; p >= 0; {
				// The value whose bytes hold the find, if one does: it is
				// matched whole, and the finds after it are searched.
				j, _ := slices.BinarySearch(ends, int32(p+1))
				if j >= n {
					break
				}
				if k, v := valueAt(j); p >= k && p+len(t) <= int(ends[j]) {
					try(v, j)
					p = indexFold(dict, t, int(ends[j]))
					continue
				}
				p = indexFold(dict, t, p+1)
			}
		}
	}
	if hits == 0 {
		// The codes are left unread: the load that would decode them
		// checks them (and the chunk's CRC held).
		return Column{}, true, nil
	}
	vals = slices.Grow(vals[:0], rows)[:rows]
	clear(vals) // only the rows of a matching value are written
	if hits == 1 && codeRows(body, marks, n, r.off, rows, hit, keep[hit-1], vals) {
		return Column{Values: vals}, false, nil
	}
	off, nv := r.off, uint64(n)
	for i := range vals {
		// Codes of one or two bytes inline (up to 16383 values), the
		// others through the reader.
		var c uint64
		switch {
		case off < len(body) && body[off] < 0x80:
			c, off = uint64(body[off]), off+1
		case off+1 < len(body) && body[off+1] < 0x80:
			c, off = uint64(body[off]&0x7f)|uint64(body[off+1])<<7, off+2
		default:
			r.off = off
			c, off = r.uvarint(), r.off
		}
		if r.err != nil {
			break
		}
		if c > nv {
			r.err = fmt.Errorf("dictionary index %d out of %d", c, n)
			break
		}
		if c == uint64(hit) || hits > 1 && c > 0 && keep[c-1] != "" {
			vals[i] = keep[c-1]
		}
	}
	r.off = off
	if r.err == nil && r.off != len(body) {
		r.err = fmt.Errorf("%d trailing bytes", len(body)-r.off)
	}
	if r.err != nil {
		return Column{}, false, fmt.Errorf("decode column: %w", r.err)
	}
	return Column{Values: vals}, false, nil
}

// valueEndsPool holds termDictColumn's ends of a dictionary's values.
var valueEndsPool = sync.Pool{New: func() any { return new([]int32) }}
