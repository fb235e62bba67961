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
// one by one). left and right are the pieces around the reference,
// openL and openR whether a value or variable lies beyond them.
func (bv *blockView) joinsByText(tf *tmplFinder, k int, ends, starts uint64, left, right string, openL, openR bool) bool {
	if (ends|starts)>>63 != 0 {
		return true // long terms: splits not told apart
	}
	t := tf.term
	// A value containing a longer rest (head) contains the shortest
	// too: one look at the column's bytes often rules out every split.
	contains := false
	if ends != 0 {
		contains = bv.colMayContain(k, t[63-bits.LeadingZeros64(ends):])
	}
	if !contains && starts != 0 {
		contains = bv.colMayContain(k, t[:bits.TrailingZeros64(starts)])
	}
	for ; ends != 0; ends &= ends - 1 {
		s := bits.TrailingZeros64(ends)
		rest := t[s:]
		if tf.shortThrough(s, right, openR, false) || contains && bv.colMayContain(k, rest) {
			return true
		}
	}
	for ; starts != 0; starts &= starts - 1 {
		s := bits.TrailingZeros64(starts)
		head := t[:s]
		if tf.shortThrough(s, left, openL, true) || contains && bv.colMayContain(k, head) {
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
	if bv.lacks(k, text) {
		return false
	}
	may, err := bv.tv.tmpl.MayContain(k, text)
	return err != nil || may
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
		v, ok, err := tv.tmpl.Value(int(e.cols[j]), i)
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
				need = ends|starts != 0 && tv.tmpl.MayHoldAny(k, tv.joinBytes(tf, ends, starts)) &&
					bv.joinsByText(tf, k, ends, starts, left, right, start > 0, next >= 0)
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
