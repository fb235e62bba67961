package query

import (
	"math"
	"math/bits"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/token"
)

// A regexp on _raw with a required literal, on blocks with skeletons,
// reads only a window of each candidate row. When the regexp has no
// empty-width assertion (^, $, \b, \B, \A, \z) and a bounded match
// length, a match holds its required literal (the run of literal nodes
// requiredLiteral picked) at most back bytes after the match's start
// and ends at most ahead bytes after the literal's start. So a row's
// text matches exactly when, for some occurrence p of the literal,
// text[p-back : p+ahead] does (a match inside a substring is a match of
// the text: no assertion looks past it). Per skeleton: when the literal
// occurs only in the skeleton's literal text (its other occurrences,
// overlapping values or variables, are ruled out by quickIn on the
// skeleton with those occurrences masked; the literal's own overlaps by
// its borders widen the window), a row's windows are built from the
// skeleton, writing in only the values and variables they reach (often
// none of the variables, and never the row's other columns).

// maxWindow bounds the window of a regexp (longer ones read whole rows).
const maxWindow = 4096

// regexWindow is how far from an occurrence of its required literal a
// match of a regexp reaches.
type regexWindow struct {
	lit   string
	back  int // bytes of a match before the literal, at most
	ahead int // bytes of a match from the literal's start, at most
	mask  byte
	// afterHole: the window is around the hole at its offset, and ahead
	// counts from the hole's end (window); with litAhead, the window ends
	// litAhead bytes after the last start of lit that may overlap the
	// hole in the row (none: it ends with the hole).
	afterHole bool
	litAhead  int
	// auto, when the regexp has one, decides windows by walking the row
	// (tmpl_regex_walk.go).
	auto *rxAuto
}

// newRegexWindow returns the window of pattern around its required
// literal lit, or nil when the regexp has an assertion, an unbounded
// match, or lit is not a run of its top-level literal nodes.
func newRegexWindow(pattern, lit string) *regexWindow {
	if lit == "" || strings.IndexByte(lit, store.TemplateEscape) >= 0 {
		return nil
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	if re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	// The run requiredLiteral picks: the first longest run of literal
	// nodes without case folding.
	isLit := func(r *syntax.Regexp) bool { return r.Op == syntax.OpLiteral && r.Flags&syntax.FoldCase == 0 }
	lo, hi, best := -1, -1, ""
	cur, start := "", 0
	for j, s := range subs {
		if !isLit(s) {
			cur = ""
			continue
		}
		if cur == "" {
			start = j
		}
		cur += string(s.Rune)
		if len(cur) > len(best) {
			best, lo, hi = cur, start, j+1
		}
	}
	if best != lit {
		return nil
	}
	w := &regexWindow{lit: lit, ahead: len(lit)}
	for j, s := range subs {
		n, ok := maxMatchLen(s)
		if !ok {
			return nil
		}
		switch {
		case j < lo:
			w.back += n
		case j >= hi:
			w.ahead += n
		}
	}
	if w.back+w.ahead > maxWindow {
		return nil
	}
	// Occurrences of the literal that overlap one found in the text
	// start less than its length away; with a border (lit[d:] a prefix
	// of lit) such occurrences may exist, so the window takes their
	// reach.
	for d := 1; d < len(lit); d++ {
		if strings.HasPrefix(lit, lit[d:]) {
			w.back += len(lit) - 1
			w.ahead += len(lit) - 1
			break
		}
	}
	w.mask = 0xff
	for _, c := range []byte{0x00, 0x02, 0x03, 0x04, 0x05} {
		if strings.IndexByte(lit, c) < 0 {
			w.mask = c
			break
		}
	}
	if w.mask == 0xff {
		return nil
	}
	w.auto = newRxAuto(pattern)
	return w
}

// maxMatchLen returns the most bytes a match of r takes; false when
// unbounded or r has an empty-width assertion.
func maxMatchLen(r *syntax.Regexp) (int, bool) {
	switch r.Op {
	case syntax.OpNoMatch, syntax.OpEmptyMatch:
		return 0, true
	case syntax.OpLiteral:
		if r.Flags&syntax.FoldCase != 0 {
			return len(r.Rune) * utf8.UTFMax, true
		}
		n := 0
		for _, c := range r.Rune {
			if l := utf8.RuneLen(c); l > 0 {
				n += l
			} else {
				n += utf8.UTFMax
			}
		}
		return n, true
	case syntax.OpCharClass:
		n := 1
		for j := 1; j < len(r.Rune); j += 2 {
			if l := utf8.RuneLen(r.Rune[j]); l > n {
				n = l
			} else if l < 0 {
				n = utf8.UTFMax
			}
		}
		return n, true
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return utf8.UTFMax, true
	case syntax.OpCapture, syntax.OpQuest:
		return maxMatchLen(r.Sub[0])
	case syntax.OpRepeat:
		if r.Max < 0 {
			return 0, false
		}
		n, ok := maxMatchLen(r.Sub[0])
		if !ok || n*r.Max > maxWindow {
			return 0, false
		}
		return n * r.Max, true
	case syntax.OpConcat, syntax.OpAlternate:
		total := 0
		for _, s := range r.Sub {
			n, ok := maxMatchLen(s)
			if !ok {
				return 0, false
			}
			if r.Op == syntax.OpConcat {
				total += n
			} else {
				total = max(total, n)
			}
			if total > maxWindow {
				return 0, false
			}
		}
		return total, true
	}
	return 0, false // assertions, stars and pluses
}

// skelWindow is a skeleton's plan for regexp windows.
type skelWindow struct {
	state  uint8     // 0 not planned, 1 windows, 2 whole rows (AppendRaw), 3 whole rows (window)
	lo, hi int32     // its occurrences in tmplView.winOcc
	walks  []occWalk // by occurrence, with regexWindow.auto
	// Rows decided by the code of one dictionary column (rowByCode):
	// rowState 0 not set up, 1 by rowKey's codes, 2 not.
	rowState uint8
	rowKey   *sparseCol
	rowMemo  []uint8 // by code: 0 not decided yet, walkMatch, walkNone, or walkOn: walk the row
}

// windowMatch decides the regexp of rx on present row i of skeleton id
// from windows of the row; false for ok when the skeleton needs the
// whole row.
func (bv *blockView) windowMatch(rx *fieldMatcher, id, i int) (match, ok bool) {
	tv := &bv.tv
	if n := tv.tmpl.Skeletons(); len(tv.winPlan) != n {
		// A new block (resetSkeletons): the plans' buffers are kept.
		if cap(tv.winPlan) < n {
			tv.winPlan = append(tv.winPlan[:cap(tv.winPlan)], make([]skelWindow, n-cap(tv.winPlan))...)
		}
		tv.winPlan = tv.winPlan[:n]
		for j := range tv.winPlan {
			tv.winPlan[j].state = 0
		}
		tv.winOcc, tv.winHB = tv.winOcc[:0], tv.winHB[:0]
		bv.resetWalkScratch()
	}
	p := &tv.winPlan[id]
	if p.state == 0 {
		bv.planWindows(rx, id, p)
		if p.state == 1 && rx.win.auto != nil {
			p.resetWalks()
		}
	}
	sk := tv.tmpl.Skeleton(id)
	if p.state == 3 {
		// The whole row, built here: addresses formatted for this row
		// only (AppendRaw formats the whole column).
		w, ok := bv.window(&regexWindow{ahead: math.MaxInt}, sk, 0, i)
		if !ok {
			return false, false
		}
		return rx.pred(w), true
	}
	if p.state != 1 {
		return false, false
	}
	if rx.win.auto != nil {
		switch bv.rowByCode(rx, p, sk, i) {
		case walkMatch:
			return true, true
		case walkNone:
			return false, true
		}
	}
	for x, o := range tv.winOcc[p.lo:p.hi] {
		if rx.win.auto != nil {
			switch bv.walkOcc(rx, p, sk, x, i) {
			case walkMatch:
				return true, true
			case walkNone:
				continue
			}
		}
		var w string
		var ok bool
		if o >= 0 {
			w, ok = bv.window(rx.win, sk, int(o), i)
		} else {
			// A hole: the occurrences overlapping it start at most
			// winHB (< len(lit)) bytes before it, and their matches end
			// at most ahead-1 bytes after it.
			hw := regexWindow{lit: rx.win.lit, back: rx.win.back + int(tv.winHB[int(p.lo)+x]), ahead: max(rx.win.ahead-1, 0),
				afterHole: true, litAhead: rx.win.ahead}
			w, ok = bv.window(&hw, sk, int(-1-o), i)
		}
		if !ok {
			return false, false
		}
		if rx.pred(w) {
			return true, true
		}
	}
	return false, true
}

// planWindows finds the occurrences of rx's literal in skeleton id's
// literal text and checks that it occurs nowhere else in its rows.
func (bv *blockView) planWindows(rx *fieldMatcher, id int, p *skelWindow) {
	tv := &bv.tv
	p.state = 2
	sk := tv.tmpl.Skeleton(id)
	w := rx.win
	if strings.Contains(sk, "\x01\x01") {
		return // escaped literal bytes: whole rows
	}
	p.state = 3 // unless windows apply
	lo := len(tv.winOcc)
	m := len(w.lit)
	for from := 0; ; {
		j := strings.Index(sk[from:], w.lit)
		if j < 0 {
			break
		}
		o := from + j
		if strings.IndexByte(sk[max(0, o-1):o+m], store.TemplateEscape) < 0 {
			tv.winOcc, tv.winHB = append(tv.winOcc, int32(o)), append(tv.winHB, 0)
		}
		from = o + 1
	}
	ws := tv.winWalk
	masked := append(ws.masked[:0], sk...)
	ws.masked = masked
	for _, o := range tv.winOcc[lo:] {
		for j := int(o); j < int(o)+m; j++ {
			masked[j] = w.mask
		}
	}
	// Runs of side-by-side holes whose text is word bytes act as one
	// variable; origin maps the offsets back to sk's.
	masked, origin := bv.joinWordHoles(masked, ws.joined[:0], ws.origin[:0])
	ws.joined, ws.origin = masked, origin
	// The holes an occurrence may overlap become anchors too (stored as
	// -1-offset): a window around one covers every match holding such
	// an occurrence.
	holes := tv.winHoles[:0]
	a := bv.quickScan(rx.lit, string(masked), -1-id, true, true, &holes)
	tv.winHoles = holes
	if a != tmplNo || len(holes) > 4 {
		tv.winOcc, tv.winHB = tv.winOcc[:lo], tv.winHB[:lo]
		return
	}
	for _, q := range holes {
		o := origin[q]
		if o < 0 {
			tv.winOcc, tv.winHB = tv.winOcc[:lo], tv.winHB[:lo] // a joined run: whole rows
			return
		}
		tv.winOcc, tv.winHB = append(tv.winOcc, -1-o), append(tv.winHB, int32(holeBack(rx.lit, w.lit, sk, int(o))))
	}
	p.state, p.lo, p.hi = 1, int32(lo), int32(len(tv.winOcc))
}

// holeBack returns how far before the hole at offset o of skeleton sk
// (without escaped literal bytes) an occurrence of literal lit that
// overlaps the hole may start: at a split s of the piece before the hole
// (it ends with lit[:s]), at most len(lit)-1. Windows around the hole
// then reach back only that far (and not into a variable a few bytes
// further that they would have to decode).
func holeBack(tf *tmplFinder, lit, sk string, o int) int {
	if tf == nil || tf.term != lit || len(lit) < 2 || len(lit) > 63 {
		return max(len(lit)-1, 0)
	}
	j := strings.LastIndexByte(sk[:o], store.TemplateEscape)
	left, openL := sk[j+1:o], j >= 0
	if j >= 0 {
		left = sk[j+2 : o]
	}
	if len(left) == 0 {
		return len(lit) - 1 // side by side with another hole
	}
	ends := tf.endSplits(left, openL)
	if ends == 0 {
		return 0
	}
	return min(63-bits.LeadingZeros64(ends), len(lit)-1)
}

// window returns the text of row i around the occurrence of w's literal
// at offset o of its skeleton sk: at least w.back bytes before it and
// w.ahead from it, as far as the row goes (whole values and variables),
// in tv.raw; false when a value cannot be had.
func (bv *blockView) window(w *regexWindow, sk string, o, i int) (string, bool) {
	tv := &bv.tv
	tv.winIP = tv.winIP[:0]
	// Backward: the pieces before o, last first, into tv.winBack.
	back := tv.winBack[:0]
	got := 0
	for j := o; got < w.back && j > 0; {
		if j >= 2 && sk[j-2] == store.TemplateEscape {
			v, ok := bv.holeValue(sk, j-2, i)
			if !ok {
				return "", false
			}
			back = append(back, v)
			got += len(v)
			j -= 2
			continue
		}
		q := strings.LastIndexByte(sk[:j], store.TemplateEscape) + 2 // start of the literal run
		if q == 1 {
			q = 0
		}
		piece := sk[q:j]
		if len(piece) > w.back-got {
			piece = piece[len(piece)-(w.back-got):]
		}
		back = append(back, piece)
		got += len(piece)
		j -= len(piece)
	}
	tv.winBack = back
	b := tv.raw[:0]
	for k := len(back) - 1; k >= 0; k-- {
		b = append(b, back[k]...)
	}
	j := o
	hs := len(b) // where the hole starts in b
	if w.afterHole {
		v, ok := bv.holeValue(sk, o, i)
		if !ok {
			tv.raw = b
			return "", false
		}
		b = append(b, v...)
		j += 2
	}
	end := math.MaxInt
	if w.afterHole && w.litAhead > 0 && w.lit != "" {
		// Only as far as the matches of the occurrences that overlap
		// the hole in this row reach (often short of a variable).
		end = len(b)
		if p := lastLitStart(b, w.lit, hs); p >= 0 {
			end = p + w.litAhead
		}
	} else if w.ahead < end-len(b) {
		end = len(b) + w.ahead
	}
	for len(b) < end && j < len(sk) {
		if sk[j] == store.TemplateEscape {
			v, ok := bv.holeValue(sk, j, i)
			if !ok {
				tv.raw = b
				return "", false
			}
			b = append(b, v...)
			j += 2
			continue
		}
		q := strings.IndexByte(sk[j:], store.TemplateEscape)
		if q < 0 {
			q = len(sk) - j
		}
		q = min(q, end-len(b))
		b = append(b, sk[j:j+q]...)
		j += q
	}
	tv.raw = b
	return unsafe.String(unsafe.SliceData(b), len(b)), true // #nosec G103 -- zero-copy view of tv.raw, valid until the next expansion
}

// lastLitStart returns the last offset p of b at which lit may start and
// overlap b[hs:] (the hole's value): b[p:] and lit agree as far as both
// go, and p+len(lit) > hs; -1 when there is none.
func lastLitStart(b []byte, lit string, hs int) int {
	for p := len(b) - 1; p >= 0 && p+len(lit) > hs; p-- {
		n := min(len(lit), len(b)-p)
		if string(b[p:p+n]) == lit[:n] {
			return p
		}
	}
	return -1
}

// holeValue returns the value of the reference or variable at offset q
// of skeleton sk in row i.
func (bv *blockView) holeValue(sk string, q, i int) (string, bool) {
	tv := &bv.tv
	switch code := sk[q+1]; {
	case code == store.TemplateVar:
		v, err := tv.tmpl.RowVar(i, strings.Count(sk[:q], "\x01\x00"))
		if err != nil {
			tv.fail(err)
			return "", false
		}
		return v, true
	case code >= store.TemplateColumn0:
		k := int(code - store.TemplateColumn0)
		if c := bv.winIPv4(k); c != nil {
			// An address formatted for this row only, not the column.
			if c.Absent != nil && c.Absent[i] || i >= len(c.Addrs) {
				return "", false
			}
			n := len(tv.winIP)
			tv.winIP = store.AppendIPv4(tv.winIP, c.Addrs[i])
			b := tv.winIP[n:]
			return unsafe.String(unsafe.SliceData(b), len(b)), true // #nosec G103 -- view of tv.winIP, only appended to until the next window
		}
		v, ok, err := bv.colValue(k, i)
		return v, ok && err == nil
	default:
		return bv.refValue(code, i)
	}
}

// winIPv4 returns block column k as IPv4 numbers when the block stores
// it so (store.IPv4Loader), remembered for the block; nil otherwise.
func (bv *blockView) winIPv4(k int) *store.IPv4Column {
	tv := &bv.tv
	if len(tv.winIPCols) != tv.tmpl.Columns() {
		tv.winIPCols = append(tv.winIPCols[:0], make([]*store.IPv4Column, tv.tmpl.Columns())...)
		tv.winIPState = append(tv.winIPState[:0], make([]int8, tv.tmpl.Columns())...)
	}
	if k < 0 || k >= len(tv.winIPCols) {
		return nil
	}
	if tv.winIPState[k] == 0 {
		tv.winIPState[k] = -1
		if il, ok := bv.ref.(store.IPv4Loader); ok {
			c, err := il.LoadIPv4(tv.tmpl.Name(k))
			if err == nil && c != nil {
				tv.winIPCols[k], tv.winIPState[k] = c, 1
			}
		}
	}
	return tv.winIPCols[k]
}

// joinWordHoles replaces in skeleton sk (without escaped literal bytes)
// each run of two or more side-by-side references and variables by one
// variable placeholder when the run's text is always a run of word bytes
// holding a digit, as a variable's is: it holds a variable, and its
// values hold only word bytes (the block's coverage keys tell). quickIn
// gives up on values side by side; a variable it decides.
//
// origin[k] is the offset in sk of byte k of the result, -1 for the
// placeholder of a joined run. The result and origin are appended to out
// and origin (buffers kept by the caller, not sk's).
func (bv *blockView) joinWordHoles(sk, out []byte, origin []int32) ([]byte, []int32) {
	for j := 0; j < len(sk); {
		if sk[j] != store.TemplateEscape || j+1 >= len(sk) {
			out = append(out, sk[j])
			origin = append(origin, int32(j))
			j++
			continue
		}
		e := j
		hasVar := false
		for e+1 < len(sk) && sk[e] == store.TemplateEscape {
			hasVar = hasVar || sk[e+1] == store.TemplateVar
			e += 2
		}
		if e-j > 2 && hasVar && bv.wordRun(sk[j:e]) {
			out = append(out, store.TemplateEscape, store.TemplateVar)
			origin = append(origin, -1, -1)
		} else {
			out = append(out, sk[j:e]...)
			for x := j; x < e; x++ {
				origin = append(origin, int32(x))
			}
		}
		j = e
	}
	return out, origin
}

// wordRun reports whether the text of run, side-by-side holes of a
// skeleton, is always word bytes: its columns' and streams' values are.
func (bv *blockView) wordRun(run []byte) bool {
	for e := 0; e+1 < len(run); e += 2 {
		switch code := run[e+1]; {
		case code == store.TemplateVar:
		case code >= store.TemplateColumn0:
			if !bv.wordOnly(int(code - store.TemplateColumn0)) {
				return false
			}
		default:
			if v, _ := bv.refValue(code, 0); !allWord(v) {
				return false
			}
		}
	}
	return true
}

func allWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if !token.IsWordByte(s[i]) {
			return false
		}
	}
	return true
}
