package query

import (
	"slices"
	"strings"

	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/token"
)

// quick decides term tf on row i in one pass over its stored template,
// without splitting it into pieces: a match in literal text away from
// any reference is a yes; a row whose references all sit next to text
// that cannot run into them (or whose values, when fetched, do not go on
// with the term) is a no. Anything else answers tmplMaybe: escapes, a
// match next to a reference, a value that may go on with the term, a
// value of a column the term matcher does not read.
func (bv *blockView) quick(tf *tmplFinder, i int) tmplAnswer {
	return bv.quickIn(tf, bv.template(i), i, false, false)
}

// quickIn is quick on template t of row i. With skel, t is a skeleton
// (store.RawTemplates.Skeleton): a variable is a value known only to be
// a run of word bytes with a digit (varAnswer); and i < 0 stands for
// every row of skeleton -1-i, whose values are asked in each of its rows
// (skelValues). lit is for a regexp's required literal (tf without word
// boundaries): a value holding it is then a yes too.
func (bv *blockView) quickIn(tf *tmplFinder, t string, i int, skel, lit bool) tmplAnswer {
	return bv.quickScan(tf, t, i, skel, lit, nil)
}

// quickScan is quickIn; with holes, the offsets of the references and
// variables of t that a match may overlap are appended to *holes instead
// of answering tmplMaybe (or tmplYes) for them, and the scan goes on: the
// answer tmplNo then says that every match overlaps one of them.
func (bv *blockView) quickScan(tf *tmplFinder, t string, i int, skel, lit bool, holes *[]int32) tmplAnswer {
	m := len(tf.term)
	if m == 0 {
		return tmplYes
	}
	if a := tf.literal(t); a != tmplNo {
		return a
	}
	if skel && i < 0 {
		// Every row of a skeleton (phrase_holes.go).
		return bv.skelScan(tf, t, i, lit, holes)
	}
	start := 0 // where the piece before the reference at q starts
	nv := 0    // variables passed (skeletons)
	q := strings.IndexByte(t, store.TemplateEscape)
	for q >= 0 {
		if q+1 >= len(t) || t[q+1] == store.TemplateEscape {
			return tmplMaybe // an escape (or a bad template): the exact path
		}
		next, end := -1, len(t)
		if j := strings.IndexByte(t[q+2:], store.TemplateEscape); j >= 0 {
			next = q + 2 + j
			end = next
		}
		left, right := t[start:q], t[q+2:end]
		if (len(left) == 0 && start > 0) || (len(right) == 0 && next >= 0) {
			if holes == nil {
				return tmplMaybe // two values side by side
			}
			*holes = append(*holes, int32(q))
			start, q = q+2, next
			continue
		}
		code := t[q+1]
		if code == store.TemplateVar {
			if !skel {
				return tmplMaybe // not in templates: the exact path reports it
			}
			if tf.varAnswer(left, right, start > 0, next >= 0, lit) != tmplNo {
				if a := bv.rowVar(tf, i, nv, left, right, start > 0, next >= 0, lit); a != tmplNo {
					return a
				}
			}
			nv++
			start, q = q+2, next
			continue
		}
		if a := bv.insideValue(tf, code, i, lit); a != tmplNo {
			if holes == nil {
				return a
			}
			*holes = append(*holes, int32(q))
			start, q = q+2, next
			continue
		}
		if m >= 2 {
			// A match across an edge of the value: ask the value only
			// when the text next to it could go on with the term.
			ends, starts := tf.edgeSplits(left, right, start > 0, next >= 0)
			if ends|starts != 0 && bv.joins(tf, code, i, ends, starts, t, start, q, next, lit) {
				if holes == nil {
					return tmplMaybe
				}
				*holes = append(*holes, int32(q))
			}
		}
		start, q = q+2, next
	}
	return tmplNo
}

// literal looks for the term in the literal text of template t: tmplYes
// for a match with its word boundaries away from any reference, tmplMaybe
// for a match near one (or near an escape).
func (tf *tmplFinder) literal(t string) tmplAnswer {
	f := &tf.textFinder
	m := len(f.term)
	if len(t) < m {
		return tmplNo
	}
	end := len(t) - m + f.k + 1
	nextLo, nextUp := -2, -2 // -2: not searched yet, -1: none left
	if f.lo == f.up {
		nextUp = -1
	}
	for i := f.k; i < end; {
		if nextLo != -1 && nextLo < i {
			nextLo = indexFrom(t[:end], f.lo, i)
		}
		if nextUp != -1 && nextUp < i {
			nextUp = indexFrom(t[:end], f.up, i)
		}
		at := nextLo
		if at < 0 || (nextUp >= 0 && nextUp < at) {
			at = nextUp
		}
		if at < 0 {
			return tmplNo
		}
		i = at + 1
		s := at - f.k
		if !token.EqualFold(t[s:s+m], f.term) {
			continue
		}
		// The match and the bytes its word boundaries look at must be
		// literal text: the byte before a reference's code byte is its
		// escape.
		lo, hi := s-1, s+m
		if f.wantL {
			lo--
		}
		if f.wantR {
			hi++
		}
		if strings.IndexByte(t[max(0, lo):min(len(t), hi)], store.TemplateEscape) >= 0 {
			return tmplMaybe
		}
		if (!f.wantL || s == 0 || !token.IsWordByte(t[s-1])) && (!f.wantR || s+m == len(t) || !token.IsWordByte(t[s+m])) {
			return tmplYes
		}
	}
	return tmplNo
}

// insideValue tells what the value of the reference with the given code
// in row i says by itself: for a term, tmplMaybe when a match inside it
// is not found by the field columns (the stream's host or source, a
// column the term matcher does not read); for a literal, tmplYes when the
// value holds it.
func (bv *blockView) insideValue(tf *tmplFinder, code byte, i int, lit bool) tmplAnswer {
	tv := &bv.tv
	if code == store.TemplateHost || code == store.TemplateSource {
		v, _ := bv.refValue(code, i)
		if lit {
			has := strings.Contains(v, tf.term)
			if tv.recOn {
				tv.fact(factRefHas, int(code), "", has, 0, 0)
			}
			if has {
				return tmplYes
			}
		} else if tv.streamHit(tf, code, v) {
			return tmplMaybe
		}
		return tmplNo
	}
	k := int(code - store.TemplateColumn0)
	if !lit {
		if k >= len(tv.covered) || !tv.covered[k] {
			return tmplMaybe
		}
		return tmplNo
	}
	if !bv.litMay(tf, k) {
		return tmplNo
	}
	if i < 0 {
		if bv.skelValues(k, -1-i, func(v string) bool { return strings.Contains(v, tf.term) }) {
			return tmplMaybe // some rows of the skeleton: decided one by one
		}
		return tmplNo
	}
	v, ok, err := bv.colValue(k, i)
	if err != nil || !ok || strings.Contains(v, tf.term) {
		return tmplYes // an error: the expansion reports it
	}
	return tmplNo
}

// litMay reports whether some value of column k may hold the literal of
// tf, remembered for the block (store.RawTemplates.MayContain).
func (bv *blockView) litMay(tf *tmplFinder, k int) bool {
	a := bv.litMayOf(tf, k)
	if bv.tv.recOn {
		bv.tv.fact(factLitMay, k, "", a, 0, 0)
	}
	return a
}

func (bv *blockView) litMayOf(tf *tmplFinder, k int) bool {
	tv := &bv.tv
	if tv.litTF != tf || len(tv.litMay) != tv.tmpl.Columns() {
		tv.litTF = tf
		tv.litMay = slices.Grow(tv.litMay[:0], tv.tmpl.Columns())[:tv.tmpl.Columns()]
		clear(tv.litMay)
	}
	if k < 0 || k >= len(tv.litMay) {
		return true
	}
	if tv.litMay[k] == 0 && bv.lacks(k, tf.term) {
		tv.litMay[k] = -1 // the block's coverage keys tell
	}
	if tv.litMay[k] == 0 {
		may, err := tv.tmpl.MayContain(k, tf.term)
		if err != nil {
			tv.fail(err)
			return true
		}
		tv.litMay[k] = -1
		if may {
			tv.litMay[k] = 1
		}
	}
	return tv.litMay[k] > 0
}

// joins reports whether the value of the reference with the given code
// in row i (all rows of the skeleton when i < 0) may go on with the term
// after one of the splits ends or lead into it before one of starts;
// the reference is t[q:q+2] in template t, the piece before it starts at
// start and the next reference (-1: none) is at next.
func (bv *blockView) joins(tf *tmplFinder, code byte, i int, ends, starts uint64, t string, start, q, next int, lit bool) bool {
	end := len(t)
	if next >= 0 {
		end = next
	}
	left, right := t[start:q], t[q+2:end]
	if code >= store.TemplateColumn0 && bv.tv.tmpl.Skeletons() > 0 {
		// Splits whose match runs through a piece into a hole whose
		// value is at hand, or a variable (tmpl_junction.go).
		ends = bv.farEnds(tf, t, start, left, ends, lit, true)
		starts = bv.farStarts(tf, t, next, right, starts, lit, true)
		if ends|starts == 0 {
			return false
		}
		k := int(code - store.TemplateColumn0)
		jb := bv.tv.joinBytes(tf, ends, starts)
		may := bv.tv.tmpl.MayHoldAny(k, jb)
		if bv.tv.recOn {
			bv.tv.fact(factHoldAny, k, "", may, ends, starts)
		}
		if !may {
			return false // no value has a byte to join with
		}
	}
	if code >= store.TemplateColumn0 && (i < 0 || !tf.digit && bv.tv.tmpl.Skeletons() > 0) {
		// The skeleton's text and the column's stored bytes
		// (tmpl_junction.go), then the rows' values.
		k := int(code - store.TemplateColumn0)
		if !bv.joinsByText(tf, k, ends, starts, t, start, q, next, lit) {
			return false
		}
	}
	if i < 0 && code >= store.TemplateColumn0 {
		// Before the rows: splits whose match runs through a piece into
		// the hole beyond it (tmpl_junction.go).
		ends = bv.farEnds(tf, t, start, left, ends, lit, false)
		starts = bv.farStarts(tf, t, next, right, starts, lit, false)
		if ends|starts == 0 {
			return false
		}
		return bv.skelValues(int(code-store.TemplateColumn0), -1-i, func(v string) bool {
			return tf.goesOn(ends, v) || tf.leadsIn(starts, v)
		})
	}
	return bv.refJoins(tf, code, i, ends, starts)
}

// refJoins is the end of joins: the value of the reference in row i (a
// skeleton's when i < 0: the stream's host or source) goes on with the
// term after one of ends or leads into it before one of starts.
func (bv *blockView) refJoins(tf *tmplFinder, code byte, i int, ends, starts uint64) bool {
	v, ok := bv.refValue(code, i)
	a := !ok || tf.goesOn(ends, v) || tf.leadsIn(starts, v)
	if bv.tv.recOn {
		bv.tv.fact(factRefJoins, int(code), "", a, ends, starts)
	}
	return a
}

// refValue returns the value of the reference with the given code in row
// i; false when it cannot be had (the exact path reports why, or i < 0:
// a skeleton's).
func (bv *blockView) refValue(code byte, i int) (string, bool) {
	tv := &bv.tv
	switch code {
	case store.TemplateHost:
		return tv.tmpl.Host(), true
	case store.TemplateSource:
		return tv.tmpl.Source(), true
	}
	if i < 0 {
		return "", false
	}
	v, ok, err := bv.colValue(int(code-store.TemplateColumn0), i)
	return v, ok && err == nil
}

// streamHit reports whether the term matches the stream's host or source
// (code), remembered for the block.
func (tv *tmplView) streamHit(tf *tmplFinder, code byte, v string) bool {
	for _, h := range tv.hits {
		if h.tf == tf && h.code == code {
			return h.hit
		}
	}
	hit := tf.match(v)
	tv.hits = append(tv.hits, streamHit{tf: tf, code: code, hit: hit})
	return hit
}

type streamHit struct {
	tf   *tmplFinder
	code byte
	hit  bool
}
