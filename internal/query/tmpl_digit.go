package query

import (
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/token"
)

// Terms with digits (addresses, hashes, ids) on blocks with skeletons
// (tmpl_skel.go). Such a term may lie in a row's variables, so a skeleton
// alone rarely decides it, and deciding each row in general (quickIn on
// its skeleton, then its template) cost most of a needle search (needle_ip
// on the 10M benchmark store: 1.45 s CPU). Instead each skeleton of the
// block is compiled once into the few checks of a row's own bytes that
// can still make it match, and each row runs only those.
//
// A term with a digit never lies in the literal text alone (every digit
// of the literal text is in a variable), so a match in a row's raw text
// either touches a referenced value (its bytes are in the match, or one
// is the byte a word boundary looks at) or lies in literal text and
// variables only.
//
//   - Matches that touch a value are found as quickIn finds them
//     (compileDigit): two values side by side, the stream's host or
//     source holding or joining the term, or a value the term matcher
//     does not search answer tmplMaybe for every row; a match across a
//     value's edge is a per-row check of the value (digitJoin, as joins),
//     kept only for columns whose values may hold a byte to join with
//     (store.RawTemplates.MayHoldAny).
//   - A match in literal text and variables covers every variable it
//     touches whole: an edge of the match inside a variable (a run of
//     word bytes) fails its word boundary, since the term's edge byte is
//     then a word byte. So the term's maximal runs of word bytes with a
//     digit (its runs, cut by digitShape) are whole variables of the row
//     and its other bytes literal text of the skeleton: the skeleton
//     holds the term with each run replaced by a placeholder, and the row
//     matches there when its variables equal the runs (ASCII
//     case-folded). Each such place is a digitOp (appendAligns); one
//     whose word boundary falls on a value answers tmplMaybe rather than
//     tmplYes. Only rows with a variable equal to the term's longest run
//     can pass one (the block's candidates, tmpl_digit_scan.go), so the
//     others skip these checks.
//
// Rows that answer tmplMaybe are decided by the general path
// (skelAnswer's skelRow), so answers stay exact; TestDigitDecide,
// FuzzDigitDecide and the store tests (TestSkeletonsSame,
// TestDigitTermsSame) compare them with matching the expanded text.

// digitShape is a term cut at its runs: the term is texts[0] runs[0]
// texts[1] ... runs[r-1] texts[r], each run a maximal run of word bytes
// (token.IsWordByte) holding an ASCII digit: where a skeleton has a
// variable.
type digitShape struct {
	texts []string
	runs  []string
}

func newDigitShape(t string) digitShape {
	var s digitShape
	lit := 0
	for i := 0; i < len(t); {
		if !token.IsWordByte(t[i]) {
			i++
			continue
		}
		j, digit := i, false
		for j < len(t) && token.IsWordByte(t[j]) {
			digit = digit || (t[j] >= '0' && t[j] <= '9')
			j++
		}
		if digit {
			s.texts = append(s.texts, t[lit:i])
			s.runs = append(s.runs, t[i:j])
			lit = j
		}
		i = j
	}
	s.texts = append(s.texts, t[lit:])
	return s
}

// innerPattern returns the bytes every skeleton with a place for the
// term (appendAligns) holds: a placeholder for each run with the texts
// between them, or just a placeholder when those have letters (they
// match case-folded).
func (s *digitShape) innerPattern() string {
	var b []byte
	for q := range s.runs {
		if q > 0 {
			for i := 0; i < len(s.texts[q]); i++ {
				if asciiLetter(s.texts[q][i]) {
					return "\x01\x00"
				}
			}
			b = append(b, s.texts[q]...)
		}
		b = append(b, store.TemplateEscape, store.TemplateVar)
	}
	return string(b)
}

// digitOp is a check of a row's variables: variables j, j+1, ... equal
// the term's runs.
type digitOp struct {
	j     int32
	maybe bool // a word boundary falls on a value: tmplMaybe, not tmplYes
}

// digitJoin is a check of a row's value of block column k: whether it
// may join the term across its edges (ends, starts: as joins).
type digitJoin struct {
	k            int32
	ends, starts uint64
}

// digitSkel is a skeleton of the block compiled: ans 0 not yet,
// digitRows for the checks of joins[lo:hi] and, on candidate rows, of
// aligns[alo:ahi] (compiled on the first: aligned), else tmplAnswer+1
// for every row.
type digitSkel struct {
	lo, hi, alo, ahi int32
	ans              uint8
	vars, aligned    bool // vars: the skeleton may have a place for the term (inner)
}

const digitRows = 4

// digitProgs holds one finder's programs for the block's skeletons.
type digitProgs struct {
	tf     *tmplFinder
	shape  digitShape
	inner  string      // what a skeleton with a place for the term holds (innerPattern)
	skel   []digitSkel // by skeleton of the block
	joins  []digitJoin
	aligns []digitOp
	// cand marks the rows whose variables may equal the term's runs (bit
	// r%64 of cand[r/64]; tmpl_digit_scan.go), once the block needs it.
	cand     []uint64
	candDone bool
}

// digitState is a worker's programs (tmplView.digit): for the block of
// tmpl (held, so a later block never has its address), by finder.
type digitState struct {
	tmpl  *store.RawTemplates
	progs []digitProgs
	last  int // index in progs of the last finder asked
	// A skeleton cut at its references and placeholders (cutSkeleton).
	pieces []string
	codes  []byte
	vars   []int32
}

// programs returns tf's programs for the view's block.
func (tv *tmplView) programs(tf *tmplFinder) *digitProgs {
	ds := &tv.digit
	if ds.tmpl != tv.tmpl {
		ds.tmpl = tv.tmpl
		for j := range ds.progs {
			dp := &ds.progs[j]
			dp.skel, dp.joins, dp.aligns, dp.candDone = dp.skel[:0], dp.joins[:0], dp.aligns[:0], false
		}
	}
	if ds.last >= len(ds.progs) || ds.progs[ds.last].tf != tf {
		ds.last = -1
		for j := range ds.progs {
			if ds.progs[j].tf == tf {
				ds.last = j
				break
			}
		}
		if ds.last < 0 {
			shape := newDigitShape(tf.term)
			ds.progs = append(ds.progs, digitProgs{tf: tf, shape: shape, inner: shape.innerPattern()})
			ds.last = len(ds.progs) - 1
		}
	}
	dp := &ds.progs[ds.last]
	if n := tv.tmpl.Skeletons(); len(dp.skel) != n {
		dp.skel = growTo(dp.skel, n)
		clear(dp.skel)
		dp.joins, dp.aligns = dp.joins[:0], dp.aligns[:0]
	}
	return dp
}

// growTo returns s resized to n, reallocated only when too small.
func growTo[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// digitCached is skelCached for a term with a digit: what skeleton id
// says for all its rows (tmplMaybe: its rows are decided one by one).
func (bv *blockView) digitCached(tf *tmplFinder, id int) tmplAnswer {
	dp := bv.tv.programs(tf)
	s := &dp.skel[id]
	if s.ans == 0 {
		bv.compileDigit(dp, id)
	}
	if s.ans == digitRows {
		return tmplMaybe
	}
	return tmplAnswer(s.ans - 1)
}

// digitAnswer decides term tf (with a digit) on present row i of
// skeleton id by the skeleton's program; tmplMaybe leaves the row to the
// general path.
func (bv *blockView) digitAnswer(tf *tmplFinder, id, i int) tmplAnswer {
	tv := &bv.tv
	dp := tv.programs(tf)
	s := &dp.skel[id]
	if s.ans == 0 {
		bv.compileDigit(dp, id)
	}
	if s.ans != digitRows {
		return tmplAnswer(s.ans - 1)
	}
	if s.vars && bv.digitCandidate(dp, i) {
		if !s.aligned {
			bv.alignDigit(dp, id)
		}
		if s.ahi > s.alo {
			vb, offs, err := tv.tmpl.RowVars(i)
			if err != nil {
				tv.fail(err)
				return tmplMaybe
			}
			if a := dp.checkVars(dp.aligns[s.alo:s.ahi], vb, offs); a != tmplNo {
				return a
			}
		}
	}
	for _, jn := range dp.joins[s.lo:s.hi] {
		v, ok := bv.refValue(store.TemplateColumn0+byte(jn.k), i)
		if !ok || tf.goesOn(jn.ends, v) || tf.leadsIn(jn.starts, v) {
			return tmplMaybe
		}
	}
	return tmplNo
}

// checkVars runs the checks ops on a row whose variables are vb[offs[j]:
// offs[j+1]] (store.RawTemplates.RowVars): tmplYes for variables equal
// to the term's runs where nothing else can break the match, tmplMaybe
// when one cannot tell, tmplNo when no check holds.
func (dp *digitProgs) checkVars(ops []digitOp, vb string, offs []int32) tmplAnswer {
	ans := tmplNo
	for _, op := range ops {
		j := int(op.j)
		if j+len(dp.shape.runs) >= len(offs) {
			return tmplMaybe // fewer variables than placeholders: the general path reports it
		}
		eq := true
		for q, run := range dp.shape.runs {
			v := vb[offs[j+q]:offs[j+q+1]]
			if len(v) != len(run) || !token.EqualFold(v, run) {
				eq = false
				break
			}
		}
		if eq {
			if !op.maybe {
				return tmplYes
			}
			ans = tmplMaybe
		}
	}
	return ans
}

func asciiLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
