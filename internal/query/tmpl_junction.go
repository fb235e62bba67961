package query

import (
	"math/bits"
	"strings"

	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/token"
)

// Junctions decided on a skeleton's text and the column's stored bytes.
//
// A match that runs from the piece left of a reference into its value
// (a split k of endSplits: left ends with term[:k]) continues with
// term[k:] =: rest. Either the value holds all of rest at its start,
// and so contains it, or the value is a proper start rest[:j] of it and
// the match goes on into the piece right of the value with rest[j:].
// The second is decided on the skeleton's text alone; the first by
// store.RawTemplates.MayContain, which looks at the column's stored
// bytes once per block (a dictionary column's distinct values are in
// them), not at the values row by row. A match that runs out of the
// value into right (a split of startSplits) is the mirror image: the
// value contains term[:k] at its end, or is a proper end of it and left
// ends with the rest.
//
// joinsByText reports false when no value of column k can take part in
// such a match in any row; true when some may (the rows are then asked
// one by one). The reference is t[q:q+2] of template t, the piece before
// it starts at start, the next reference (-1: none) is at next; lit is
// for a regexp's literal.
func (bv *blockView) joinsByText(tf *tmplFinder, k int, ends, starts uint64, t string, start, q, next int, lit bool) bool {
	end := len(t)
	if next >= 0 {
		end = next
	}
	left, right, openL, openR := t[start:q], t[q+2:end], start > 0, next >= 0
	term := tf.term
	if (ends|starts)>>63 != 0 {
		return true // long terms: splits not told apart
	}
	// A value containing a longer rest (head) contains the shortest
	// too: one look at the column's bytes often rules out every split.
	contains := false
	if ends != 0 {
		contains = bv.colMayContain(k, term[63-bits.LeadingZeros64(ends):])
	}
	if !contains && starts != 0 {
		contains = bv.colMayContain(k, term[:bits.TrailingZeros64(starts)])
	}
	for ; ends != 0; ends &= ends - 1 {
		s := bits.TrailingZeros64(ends)
		rest := term[s:]
		if bv.shortVia(tf, k, s, right, openR, false, t, next, lit) || contains && bv.colMayContain(k, rest) {
			return true
		}
	}
	for ; starts != 0; starts &= starts - 1 {
		s := bits.TrailingZeros64(starts)
		head := term[:s]
		if bv.shortVia(tf, k, s, left, openL, true, t, start, lit) || contains && bv.colMayContain(k, head) {
			return true
		}
	}
	return false
}

// shortVia is shortThrough for a value of column k: the value, term[s:x]
// (term[x:s] with back), must be one column k may hold (colMayContain: a
// value without a space is no part of a phrase holding one), and a match
// that would go on past piece p (open: into the hole beyond it, at hole:
// the end of the hole before p in t with back, else the start of the one
// after) is kept only when that hole may hold its part of the term
// (farHole).
func (bv *blockView) shortVia(tf *tmplFinder, k, s int, p string, open, back bool, t string, hole int, lit bool) bool {
	term := tf.term
	if len(p) == 0 {
		return open
	}
	var code byte
	var fp string
	var fopen bool
	far := 0                      // 0 not looked up, 1 known, -1 cannot be read (kept)
	through := func(x int) bool { // the hole must hold term[:x] (back) or term[x:]
		if far == 0 {
			var ok bool
			if back {
				code, fp, fopen, ok = holeBefore(t, hole)
			} else {
				code, fp, fopen, ok = holeAfter(t, hole)
			}
			far = -1
			if ok {
				far = 1
			}
		}
		return far < 0 || bv.farHole(tf, code, x, fp, fopen, lit, back)
	}
	if back {
		for _, e := range tf.endAt[foldByte(p[len(p)-1])] {
			x := int(e) + 1
			if x > s {
				break
			}
			n := min(len(p), x)
			if (n == x || open) && token.EqualFold(p[len(p)-n:], term[x-n:x]) && (n == x || through(x-n)) &&
				(x == s || bv.colMayContain(k, term[x:s])) {
				return true
			}
		}
		return false
	}
	for _, x := range tf.startAt[foldByte(p[0])] {
		if int(x) < s {
			continue
		}
		n := min(len(p), len(term)-int(x))
		if (n == len(term)-int(x) || open) && token.EqualFold(p[:n], term[int(x):int(x)+n]) && (n == len(term)-int(x) || through(int(x)+n)) &&
			(int(x) == s || bv.colMayContain(k, term[s:x])) {
			return true
		}
	}
	return false
}

// shortThrough reports whether a value that is a proper start of
// term[s:] (with back, a proper end of term[:s]) may be followed by
// piece p (preceded, with back) in a match: the value is term[s:x] and
// p goes on with term[x:] as far as both go (term[x:s] with back, p
// ending with it), and when p is shorter the match may go on past it
// (open). The empty value (x = s) is included.
func (tf *tmplFinder) shortThrough(s int, p string, open, back bool) bool {
	t := tf.term
	if len(p) == 0 {
		return open
	}
	if back {
		// term[:x] ends the piece before the value: its last byte is
		// term[x-1], for 1 <= x <= s.
		for _, e := range tf.endAt[foldByte(p[len(p)-1])] {
			x := int(e) + 1
			if x > s {
				break
			}
			n := min(len(p), x)
			if (n == x || open) && token.EqualFold(p[len(p)-n:], t[x-n:x]) {
				return true
			}
		}
		return false
	}
	// term[x:] starts the piece after the value, s <= x < len.
	for _, x := range tf.startAt[foldByte(p[0])] {
		if int(x) < s {
			continue
		}
		n := min(len(p), len(t)-int(x))
		if (n == len(t)-int(x) || open) && token.EqualFold(p[:n], t[int(x):int(x)+n]) {
			return true
		}
	}
	return false
}

// colMayContain reports whether some value of block column k may
// contain text (case-insensitively); an error reading the column says
// true (the exact path reports it). The block's coverage keys answer
// many texts without decompressing the column.
func (bv *blockView) colMayContain(k int, text string) bool {
	may := !bv.lacks(k, text)
	if may {
		var err error
		may, err = bv.tv.tmpl.MayContain(k, text)
		may = err != nil || may
	}
	if bv.tv.recOn {
		bv.tv.fact(factColMay, k, text, may, 0, 0)
	}
	return may
}

// lacksRec is lacks, noted for a recorded decision (tmpl_skel_memo.go).
func (bv *blockView) lacksRec(k int, text string) bool {
	a := bv.lacks(k, text)
	if bv.tv.recOn {
		bv.tv.fact(factLacks, k, text, a, 0, 0)
	}
	return a
}

// skelMemo is the answer of a term on the last row of a skeleton that
// skelByValues decided, with the values it depends on.
type skelMemo struct {
	init, have, off bool
	n               int8 // columns in cols
	cols            [4]int16
	vals            [4]string
	ans             tmplAnswer
}

// skelByValues decides term tf (without digits) on row i of skeleton
// id, which the skeleton alone does not decide. The answer depends only
// on the values of the skeleton's references to columns whose values
// may hold a byte of the term (a variable never takes part in a match of
// such a term, see varAnswer; the stream's host and source are the
// block's), so rows with the same values as the skeleton's last decided
// row (a dictionary's values, the same user in every row) take its
// answer without deciding again.
func (bv *blockView) skelByValues(tf *tmplFinder, id, i int) tmplAnswer {
	tv := &bv.tv
	c := tv.skelCache(tf, false)
	if len(c.memo) != len(c.ans) {
		c.memo = append(c.memo[:0], make([]skelMemo, len(c.ans))...)
	}
	e := &c.memo[id]
	if !e.init {
		e.init = true
		e.off = !bv.valueCols(tf, tv.tmpl.Skeleton(id), id, e)
	}
	if e.off {
		return bv.skelRow(tf, id, i, nil)
	}
	var vals [4]string
	for j := range e.n {
		v, ok, err := bv.colValue(int(e.cols[j]), i)
		if err != nil || !ok {
			return bv.skelRow(tf, id, i, nil) // reports it, or decides without
		}
		vals[j] = v
	}
	if e.have && vals == e.vals {
		return e.ans
	}
	a := bv.skelRow(tf, id, i, e)
	if a != tmplMaybe {
		e.vals, e.ans, e.have = vals, a, true
	}
	return a
}

func (e *skelMemo) hasCol(k int) bool {
	for j := range e.n {
		if int(e.cols[j]) == k {
			return true
		}
	}
	return false
}

// valueCols lists in e the columns whose values may decide term tf (no
// digits) on the rows of skeleton sk (id): those of references inside
// whose values a match is not found by the field columns, or whose
// values may join a match with the text around them (joinsByText).
// False when there are more than e has room for.
func (bv *blockView) valueCols(tf *tmplFinder, sk string, id int, e *skelMemo) bool {
	tv := &bv.tv
	start := 0
	q := strings.IndexByte(sk, store.TemplateEscape)
	for q >= 0 && q+1 < len(sk) {
		next, end := -1, len(sk)
		if j := strings.IndexByte(sk[q+2:], store.TemplateEscape); j >= 0 {
			next = q + 2 + j
			end = next
		}
		if code := sk[q+1]; code >= store.TemplateColumn0 {
			k := int(code - store.TemplateColumn0)
			left, right := sk[start:q], sk[q+2:end]
			need := bv.insideValue(tf, code, -1-id, false) != tmplNo || len(left) == 0 && start > 0 || len(right) == 0 && next >= 0
			if !need && len(tf.term) >= 2 && tv.tmpl.MayHoldAny(k, tf.term) {
				var ends, starts uint64
				if len(left) > 0 {
					ends = tf.endSplits(left, start > 0)
				}
				if len(right) > 0 {
					starts = tf.startSplits(right, next >= 0)
				}
				if ends|starts != 0 {
					ends = bv.farEnds(tf, sk, start, left, ends, false, true)
					starts = bv.farStarts(tf, sk, next, right, starts, false, true)
				}
				need = ends|starts != 0 && tv.tmpl.MayHoldAny(k, tv.joinBytes(tf, ends, starts)) &&
					bv.joinsByText(tf, k, ends, starts, sk, start, q, next, false)
				if need {
					ends = bv.farEnds(tf, sk, start, left, ends, false, false)
					starts = bv.farStarts(tf, sk, next, right, starts, false, false)
					need = ends|starts != 0
				}
			}
			if need && !e.hasCol(k) {
				if int(e.n) == len(e.cols) {
					return false
				}
				e.cols[e.n] = int16(k)
				e.n++
			}
		}
		start, q = q+2, next
	}
	return true
}

// Junctions through two references. A split of endSplits at which the
// piece left of a reference is shorter than the part of the term before
// the split (openL: a hole lies before the piece) starts the match in
// that hole: `"{method} {path} HTTP/` with `Failed password for invalid
// user` needs a method ending with `Failed password for invalid` (or a
// method that is an end of it, after a piece that goes on with the rest)
// before ` ` and the path. farEnds and farStarts drop the splits that the
// hole on the far side of the piece cannot take part in, from the
// skeleton's text and the column's stored bytes (its coverage keys tell
// a column of words without spaces at once).

// farEnds narrows ends, the splits of a junction at the reference after
// piece left = t[start:q], to those whose match may get through the hole
// before left too; with cheap, a column's hole is asked only what its
// coverage keys tell (farColumnCheap), not its stored bytes.
func (bv *blockView) farEnds(tf *tmplFinder, t string, start int, left string, ends uint64, lit, cheap bool) uint64 {
	keep := ends
	for e := ends &^ (1 << 63); e != 0; e &= e - 1 {
		s := bits.TrailingZeros64(e)
		if s <= len(left) {
			continue // the match starts in left
		}
		code, p, open, ok := holeBefore(t, start)
		if !ok {
			return ends
		}
		if cheap && code >= store.TemplateColumn0 {
			if !bv.farColumnCheap(tf, code, s-len(left), p, open, true) {
				keep &^= 1 << s
			}
			continue
		}
		if !bv.farHole(tf, code, s-len(left), p, open, lit, true) {
			keep &^= 1 << s
		}
	}
	return keep
}

// farStarts is farEnds for starts, the splits of a junction at the
// reference before piece right = t[q+2:next]: a match that runs past
// right ends in the hole at next or beyond.
func (bv *blockView) farStarts(tf *tmplFinder, t string, next int, right string, starts uint64, lit, cheap bool) uint64 {
	keep, m := starts, len(tf.term)
	for e := starts &^ (1 << 63); e != 0; e &= e - 1 {
		s := bits.TrailingZeros64(e)
		if len(right) >= m-s {
			continue // the match ends in right
		}
		code, p, open, ok := holeAfter(t, next)
		if !ok {
			return starts
		}
		if cheap && code >= store.TemplateColumn0 {
			if !bv.farColumnCheap(tf, code, s+len(right), p, open, false) {
				keep &^= 1 << s
			}
			continue
		}
		if !bv.farHole(tf, code, s+len(right), p, open, lit, false) {
			keep &^= 1 << s
		}
	}
	return keep
}

// farColumnCheap is farHole for the hole of a column without reading
// the column's stored bytes: false only when no value of the column can
// contain its part of the term (the coverage keys say it lacks one of
// the part's non-word bytes, see lacks) and no proper part of it leads
// through p (shortThrough). So a split whose far side needs a space in a
// column of user names or paths is dropped before any body is
// decompressed for the near side (joinsByText).
func (bv *blockView) farColumnCheap(tf *tmplFinder, code byte, s int, p string, open, back bool) bool {
	k := int(code - store.TemplateColumn0)
	t := tf.term
	if back {
		return tf.shortThrough(s, p, open, true) || !bv.lacksRec(k, t[:s])
	}
	return tf.shortThrough(s, p, open, false) || !bv.lacksRec(k, t[s:])
}

// farHole reports whether the hole with the given code may hold the end
// of term[:s] (back) or the start of term[s:] of a match, with piece p
// beyond it (before it with back) and open when a hole lies beyond p: the
// value contains that part of the term, or is a proper part of it and p
// goes on with the rest (shortThrough).
func (bv *blockView) farHole(tf *tmplFinder, code byte, s int, p string, open, lit, back bool) bool {
	switch {
	case code == store.TemplateVar:
		// A term without digits never overlaps a variable (varAnswer).
		return lit || tf.digit
	}
	if code < store.TemplateColumn0 {
		// The stream's host or source: its value tells.
		if s >= 63 {
			return true
		}
		if back {
			return bv.refJoins(tf, code, 0, 0, 1<<s)
		}
		return bv.refJoins(tf, code, 0, 1<<s, 0)
	}
	k := int(code - store.TemplateColumn0)
	t := tf.term
	if back {
		return tf.shortThrough(s, p, open, true) || bv.colMayContain(k, t[:s])
	}
	return tf.shortThrough(s, p, open, false) || bv.colMayContain(k, t[s:])
}

// holeBefore returns the code of the hole that ends at t[start] (start >=
// 2 follows a reference), the piece before it and whether another hole
// lies before that piece; false when t cannot be read so (an escaped
// escape byte nearby).
func holeBefore(t string, start int) (code byte, p string, open, ok bool) {
	if start < 2 || start > len(t) || t[start-2] != store.TemplateEscape {
		return 0, "", false, false
	}
	code = t[start-1]
	if code == store.TemplateEscape {
		return 0, "", false, false
	}
	j := strings.LastIndexByte(t[:start-2], store.TemplateEscape)
	if j < 0 {
		return code, t[:start-2], false, true
	}
	if j > 0 && t[j-1] == store.TemplateEscape || j+1 < len(t) && t[j+1] == store.TemplateEscape {
		return 0, "", false, false
	}
	return code, t[j+2 : start-2], true, true
}

// holeAfter is holeBefore for the hole that starts at t[next]: its code,
// the piece after it and whether another hole lies after that piece.
func holeAfter(t string, next int) (code byte, p string, open, ok bool) {
	if next < 0 || next+1 >= len(t) || t[next] != store.TemplateEscape {
		return 0, "", false, false
	}
	code = t[next+1]
	if code == store.TemplateEscape {
		return 0, "", false, false
	}
	rest := t[next+2:]
	j := strings.IndexByte(rest, store.TemplateEscape)
	if j < 0 {
		return code, rest, false, true
	}
	if j+1 < len(rest) && rest[j+1] == store.TemplateEscape {
		return 0, "", false, false
	}
	return code, rest[:j], true, true
}
