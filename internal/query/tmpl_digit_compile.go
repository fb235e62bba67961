package query

import (
	"strings"

	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/token"
)

// compileDigit decides what the references of skeleton id of the
// view's block say about dp's term, as quickIn does: tmplMaybe for every
// row at two values side by side (or an escape), at the stream's host or
// source holding or joining the term, or at a value whose inside the
// term matcher does not search; else the joins to check per row. A term
// with a digit never lies in the literal text alone: its digits are in
// variables or values.
func (bv *blockView) compileDigit(dp *digitProgs, id int) {
	tv := &bv.tv
	s := &dp.skel[id]
	lo := len(dp.joins)
	sk := tv.tmpl.Skeleton(id)
	ans, vars := bv.digitRefs(dp, sk)
	// Whether the skeleton has a place for the term matters only when its
	// references leave its rows open (a scan of the whole skeleton, but
	// for a term of one run: any placeholder is a place).
	vars = vars && ans == tmplNo && (dp.inner == placeholder || strings.Contains(sk, dp.inner))
	switch {
	case ans != tmplNo:
		dp.joins = dp.joins[:lo]
		s.ans = uint8(ans) + 1
	case !vars && len(dp.joins) == lo:
		s.ans = uint8(tmplNo) + 1
	default:
		s.lo, s.hi, s.ans, s.vars = int32(lo), int32(len(dp.joins)), digitRows, vars
	}
}

// placeholder is a skeleton's variable (the inner pattern of a term of
// one run).
const placeholder = string(rune(store.TemplateEscape)) + string(rune(store.TemplateVar))

// digitRefs walks the references of skeleton sk (compileDigit),
// appending its joins to dp.joins; vars: sk has placeholders.
func (bv *blockView) digitRefs(dp *digitProgs, sk string) (ans tmplAnswer, vars bool) {
	start := 0 // where the piece before the escape at q starts
	q := strings.IndexByte(sk, store.TemplateEscape)
	for q >= 0 {
		if q+1 >= len(sk) || sk[q+1] == store.TemplateEscape {
			return tmplMaybe, vars // an escape (or a bad skeleton): the general path
		}
		next, end := -1, len(sk)
		if j := strings.IndexByte(sk[q+2:], store.TemplateEscape); j >= 0 {
			next = q + 2 + j
			end = next
		}
		if (q == start && start > 0) || (end == q+2 && next >= 0) {
			return tmplMaybe, vars // two values side by side
		}
		if sk[q+1] == store.TemplateVar {
			vars = true
		} else if bv.digitRef(dp, sk[q+1], sk[start:q], sk[q+2:end], start > 0, next >= 0) {
			return tmplMaybe, vars
		}
		start, q = q+2, next
	}
	return tmplNo, vars
}

// digitRef decides the reference with the given code between pieces
// left and right (openL, openR: a value or variable lies beyond them):
// true for tmplMaybe on every row, else its join, if any, goes to
// dp.joins.
func (bv *blockView) digitRef(dp *digitProgs, code byte, left, right string, openL, openR bool) bool {
	tv := &bv.tv
	tf := dp.tf
	var ends, starts uint64
	if len(tf.term) >= 2 {
		if len(left) > 0 {
			ends = tf.endSplits(left, openL)
		}
		if len(right) > 0 {
			starts = tf.startSplits(right, openR)
		}
	}
	if code < store.TemplateColumn0 {
		v, _ := bv.refValue(code, 0)
		return tv.streamHit(tf, code, v) || tf.goesOn(ends, v) || tf.leadsIn(starts, v)
	}
	k := int(code - store.TemplateColumn0)
	if k >= len(tv.covered) || !tv.covered[k] {
		return true
	}
	if ends|starts != 0 && tv.tmpl.MayHoldAny(k, tv.joinBytes(tf, ends, starts)) {
		dp.joins = append(dp.joins, digitJoin{k: int32(k), ends: ends, starts: starts})
	}
	return false
}

// alignDigit compiles the checks of the variables of skeleton id
// (compiled by compileDigit) into dp.aligns.
func (bv *blockView) alignDigit(dp *digitProgs, id int) {
	tv := &bv.tv
	s := &dp.skel[id]
	s.aligned = true
	s.alo = int32(len(dp.aligns))
	dp.aligns = appendAligns(dp.aligns, dp.tf, &dp.shape, tv.tmpl.Skeleton(id), &tv.digit)
	s.ahi = int32(len(dp.aligns))
}

// appendAligns appends to ops a check for each place of skeleton sk
// where the term's literal text lies with its runs on placeholders (no
// value in the match or at its boundaries but those flagged maybe).
func appendAligns(ops []digitOp, tf *tmplFinder, shape *digitShape, sk string, ds *digitState) []digitOp {
	if !cutSkeleton(ds, sk) {
		return ops
	}
	r, n := len(shape.runs), len(ds.codes)
	for e := 0; e+r <= n; e++ {
		if ok, maybe := alignsAt(tf, shape.texts, ds, e); ok {
			ops = append(ops, digitOp{j: ds.vars[e], maybe: maybe})
		}
	}
	return ops
}

// cutSkeleton cuts sk into ds.pieces and ds.codes (pieces[0] codes[0]
// pieces[1] ...) and numbers its placeholders in ds.vars (-1 for a
// reference); false at an escaped 0x01 or a cut reference.
func cutSkeleton(ds *digitState, sk string) bool {
	ds.pieces, ds.codes, ds.vars = ds.pieces[:0], ds.codes[:0], ds.vars[:0]
	nv := int32(0)
	start := 0
	for {
		q := indexFrom(sk, store.TemplateEscape, start)
		if q < 0 {
			break
		}
		if q+1 >= len(sk) || sk[q+1] == store.TemplateEscape {
			return false
		}
		code := sk[q+1]
		ds.pieces, ds.codes = append(ds.pieces, sk[start:q]), append(ds.codes, code)
		if code == store.TemplateVar {
			ds.vars = append(ds.vars, nv)
			nv++
		} else {
			ds.vars = append(ds.vars, -1)
		}
		start = q + 2
	}
	ds.pieces = append(ds.pieces, sk[start:])
	return true
}

// alignsAt reports whether the term may lie in the cut skeleton with its
// first run on element e (and the others on the next ones), and whether
// a word boundary of such a match falls on a value (maybe).
func alignsAt(tf *tmplFinder, texts []string, ds *digitState, e int) (ok, maybe bool) {
	r, n := len(texts)-1, len(ds.codes)
	for q := range r {
		if ds.codes[e+q] != store.TemplateVar {
			return false, false
		}
		if q > 0 && !equalFold(ds.pieces[e+q], texts[q]) {
			return false, false
		}
	}
	pre, post := ds.pieces[e], ds.pieces[e+r]
	t0, tr := texts[0], texts[r]
	if len(t0) > len(pre) || !equalFold(pre[len(pre)-len(t0):], t0) ||
		len(tr) > len(post) || !equalFold(post[:len(tr)], tr) {
		return false, false // a match there runs into a value: the joins check it
	}
	if tf.wantL {
		switch {
		case len(t0) < len(pre):
			if token.IsWordByte(pre[len(pre)-len(t0)-1]) {
				return false, false
			}
		case e > 0:
			if ds.codes[e-1] == store.TemplateVar {
				return false, false // the byte before is a variable's
			}
			maybe = true
		}
	}
	if tf.wantR {
		switch {
		case len(tr) < len(post):
			if token.IsWordByte(post[len(tr)]) {
				return false, false
			}
		case e+r < n:
			if ds.codes[e+r] == store.TemplateVar {
				return false, false
			}
			maybe = true
		}
	}
	return true, maybe
}

func equalFold(a, b string) bool { return len(a) == len(b) && token.EqualFold(a, b) }
