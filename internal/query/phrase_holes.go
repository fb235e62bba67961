package query

import (
	"encoding/binary"
	"strings"

	"github.com/mamori/mamori/internal/store"
)

// skelScan is quickScan on skeleton t for every row of skeleton -1-i,
// after its literal text (tf.literal) found no match: each hole is
// decided by skelHole. In the prepass (tv.noRows) a hole's answer tmplNo
// depends on the text of t up to the byte after the escape of the hole
// after the next piece (holeAfter reads that far; holeBefore and the
// pieces lie before it), never on the rows: so the leading holes whose
// text lies in the part t shares with an earlier skeleton of the block
// (tv.skipNoTo, set by skelPrepass), where that one answered tmplNo, are
// not decided again. tv.noUntil tells the caller how far t's own leading
// holes answered tmplNo.
func (bv *blockView) skelScan(tf *tmplFinder, t string, i int, lit bool, holes *[]int32) tmplAnswer {
	tv := &bv.tv
	prefix := tv.noRows
	tv.noUntil = 0
	tv.scanHoles = tv.scanHoles[:0]
	start := 0 // where the piece before the hole at q starts
	next := -2 // the hole after q: -1 none, -2 not looked up yet
	q := -1
	if prefix {
		start, q, next = tv.resume()
	}
	if q < 0 {
		q = strings.IndexByte(t, store.TemplateEscape)
	}
	for q >= 0 {
		if prefix {
			tv.scanHoles = append(tv.scanHoles, int32(q))
		}
		if q+1 >= len(t) || t[q+1] == store.TemplateEscape {
			return tmplMaybe // an escape (or a bad template): the exact path
		}
		if next == -2 {
			next = -1
			if j := strings.IndexByte(t[q+2:], store.TemplateEscape); j >= 0 {
				next = q + 2 + j
			}
		}
		after := -2 // the hole after next, when prefix looked it up
		if (next == q+2) || (q == start && start > 0) {
			// Two holes side by side.
			if holes == nil {
				return tmplMaybe
			}
			prefix = false
			*holes = append(*holes, int32(q))
			start, q, next = q+2, next, after
			continue
		}
		hi := -1
		if prefix {
			if hi = holeTextEnd(t, next); hi < 0 {
				prefix = false
			} else if after = hi - 2; hi <= tv.skipNoTo {
				tv.noUntil = hi
				start, q, next = q+2, next, after
				continue
			}
		}
		if a := bv.skelHole(tf, t, i, start, q, next, lit); a != tmplNo {
			if holes == nil {
				return a
			}
			prefix = false
			*holes = append(*holes, int32(q))
		} else if prefix {
			tv.noUntil = hi
		}
		start, q, next = q+2, next, after
	}
	return tmplNo
}

// resume returns where skelScan goes on after the holes it need not
// decide (tv.skipNoTo): the start of the piece before the first hole it
// decides, that hole and the next, from the holes of the earlier
// skeleton (tv.skipHoles, at the same places up to tv.skipNoTo); q < 0
// when none is skipped. It sets tv.noUntil and tv.scanHoles for the
// skipped holes.
func (tv *tmplView) resume() (start, q, next int) {
	h, holes := 0, tv.skipHoles
	// Hole h's text ends by the escape and code of hole h+2.
	for h+2 < len(holes) && int(holes[h+2])+2 <= tv.skipNoTo {
		h++
	}
	if h == 0 {
		return 0, -1, -2
	}
	tv.noUntil = int(holes[h+1]) + 2
	tv.scanHoles = append(tv.scanHoles[:0], holes[:h]...)
	return int(holes[h-1]) + 2, int(holes[h]), int(holes[h+1])
}

// holeTextEnd returns the end of the text a hole's answer may depend on,
// for the hole whose next hole is at next: the byte after the escape of
// the hole after that one's piece; -1 when it runs to t's end (no such
// hole), so that a longer template with the same start could differ.
func holeTextEnd(t string, next int) int {
	if next < 0 || next+2 > len(t) {
		return -1
	}
	j := strings.IndexByte(t[next+2:], store.TemplateEscape)
	if j < 0 || next+2+j+2 > len(t) {
		return -1
	}
	return next + 2 + j + 2
}

// commonPrefix returns the length of the longest common start of a and b.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	k := 0
	for k+8 <= n {
		x := binary.LittleEndian.Uint64([]byte(a[k : k+8]))
		y := binary.LittleEndian.Uint64([]byte(b[k : k+8]))
		if x != y {
			break
		}
		k += 8
	}
	for k < n && a[k] == b[k] {
		k++
	}
	return k
}

// prefixRef is a skeleton the prepass decided, for those after it that
// start the same way: its leading holes whose text ends by noUntil
// answered tmplNo.
type prefixRef struct {
	sk      string
	noUntil int
	holes   []int32 // the places of its holes that skelScan looked at
	// The facts its decision asked (tmpl_skel_memo.go); bad: not known.
	facts factMask
	bad   bool
}

// maxPrefixRefs bounds the skeletons the prepass compares with, one per
// way of starting (their first bytes).
const maxPrefixRefs = 8

// prefixRefOf returns the index in refs of the skeleton that starts as
// sk does (the same first bytes up to its first hole's code, at most 8),
// or -1.
func prefixRefOf(refs []prefixRef, sk string) int {
	n := min(len(sk), 8)
	if j := strings.IndexByte(sk[:n], store.TemplateEscape); j >= 0 {
		n = min(n, j+2)
	}
	for r := range refs {
		if len(refs[r].sk) >= n && refs[r].sk[:n] == sk[:n] {
			return r
		}
	}
	return -1
}

// skelHole is what the hole at t[q:q+2] of skeleton t (every row of
// skeleton -1-i) says about tf, as quickScan asks it: tmplNo when no
// match may overlap it; the piece before it starts at start and the next
// hole (-1: none) is at next. The pieces on both sides are not empty
// between two holes (quickScan answers for holes side by side).
func (bv *blockView) skelHole(tf *tmplFinder, t string, i, start, q, next int, lit bool) tmplAnswer {
	end := len(t)
	if next >= 0 {
		end = next
	}
	left, right := t[start:q], t[q+2:end]
	code := t[q+1]
	if code == store.TemplateVar {
		if tf.varAnswer(left, right, start > 0, next >= 0, lit) != tmplNo {
			return tmplMaybe
		}
		return tmplNo
	}
	if a := bv.insideValue(tf, code, i, lit); a != tmplNo {
		return a
	}
	if len(tf.term) < 2 {
		return tmplNo
	}
	// A match across an edge of the value: ask the value only when the
	// text next to it could go on with the term.
	ends, starts := tf.edgeSplits(left, right, start > 0, next >= 0)
	if ends|starts != 0 && bv.joins(tf, code, i, ends, starts, t, start, q, next, lit) {
		return tmplMaybe
	}
	return tmplNo
}
