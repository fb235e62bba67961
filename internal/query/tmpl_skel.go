package query

import (
	"math/bits"
	"slices"
	"strings"
	"unsafe"

	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/token"
)

// Blocks that store _raw as skeletons (store.RawTemplates.Skeletons) are
// decided once per skeleton: a skeleton is a template whose variables
// (runs of word bytes with a digit: timestamps, pids, ports, counters)
// are left out, so the rows of a block share a few hundred of them. The
// answer of quickIn on the skeleton holds for every row of it; only the
// rows of skeletons that answer tmplMaybe are decided one by one, on
// their own template.

// skelAnswers caches the answers of one finder by skeleton.
type skelAnswers struct {
	tf   *tmplFinder
	lit  bool
	ans  []uint8    // by skeleton: 0 not decided yet, else tmplAnswer+1
	memo []skelMemo // by skeleton: skelByValues's last row
	// The prepass's answers of plan windows (phrase_plan.go), by window:
	// gen<<3 | deferred<<2 | answer, valid for the block of gen.
	win []uint32
	gen uint32
	// The prepass's answers of plan lists (planList), by list: as win.
	lists []uint32
	// A term's answers of insideValue by reference code (the same for
	// every skeleton of a block): gen<<3 | answer, valid for the block
	// of gen.
	inside [256]uint32
	// A literal's decisions on pooled skeletons, across blocks
	// (tmpl_skel_memo.go).
	pmemo *skelPoolMemo
}

// skelAnswer decides term tf on the skeleton of present row i, once per
// skeleton and block, then on the row's values when the skeleton alone
// cannot tell. (A regexp's literal is decided on skeletons alone:
// skelMayContain.)
func (bv *blockView) skelAnswer(tf *tmplFinder, i int) tmplAnswer {
	tv := &bv.tv
	id := tv.tmpl.SkeletonOf(i)
	if id < 0 {
		return tmplNo
	}
	if tf.digit {
		// Terms with digits: the skeleton's residual program
		// (tmpl_digit.go) decides most rows.
		if a := bv.digitAnswer(tf, id, i); a != tmplMaybe {
			return a
		}
		return bv.skelRow(tf, id, i, nil)
	}
	if a := bv.skelCached(tf, id, false); a != tmplMaybe {
		return a
	}
	return bv.skelByValues(tf, id, i)
}

// skelRow decides term tf on row i of skeleton id, which the skeleton
// alone does not decide; only's columns (nil: all) are those whose
// values may decide it (valueCols).
func (bv *blockView) skelRow(tf *tmplFinder, id, i int, only *skelMemo) tmplAnswer {
	// Decide the row on its skeleton with its values, then with them
	// written in: both cost less than building its template (the
	// variables are decoded only for that).
	sk := bv.tv.tmpl.Skeleton(id)
	if ans := bv.quickIn(tf, sk, i, true, false); ans != tmplMaybe {
		return ans
	}
	if m, ok := bv.mergeSkeleton(tf, sk, i, only); ok {
		return bv.quickIn(tf, m, i, true, false)
	}
	return tmplMaybe
}

// skelMayContain reports whether row i's raw text may contain tf's
// literal, deciding once per skeleton from its text alone: a regexp on
// _raw then runs only on rows of skeletons that may hold its literal.
// Rows of "maybe" skeletons are not decided further here: the caller's
// substring search on the expanded text costs less than deciding the
// junctions row by row (regex_count on the 1M benchmark store: 525 ->
// 434 ms CPU per run).
func (bv *blockView) skelMayContain(tf *tmplFinder, i int) bool {
	id := bv.tv.tmpl.SkeletonOf(i)
	return id >= 0 && bv.skelCached(tf, id, true) != tmplNo
}

// skelCached decides tf on skeleton id for all its rows, once per
// skeleton and block.
func (bv *blockView) skelCached(tf *tmplFinder, id int, lit bool) tmplAnswer {
	if tf.digit && !lit {
		// Terms with digits: the skeleton's residual program
		// (tmpl_digit.go).
		return bv.digitCached(tf, id)
	}
	tv := &bv.tv
	c := tv.skelCache(tf, lit)
	a := c.ans[id]
	if a == 0 {
		a = uint8(bv.quickIn(tf, tv.tmpl.Skeleton(id), -1-id, true, lit)) + 1
		c.ans[id] = a
	}
	return tmplAnswer(a - 1)
}

// mergeSkeleton returns skeleton sk with the values of row i's column
// references written in (escaped), in tv.mbuf, but those of columns
// whose values hold no byte of tf's term (not decoded for it) or, with
// only, that are not among its columns; false when a value cannot be
// had (the exact path reports why).
func (bv *blockView) mergeSkeleton(tf *tmplFinder, sk string, i int, only *skelMemo) (string, bool) {
	tv := &bv.tv
	b := tv.mbuf[:0]
	for {
		q := strings.IndexByte(sk, store.TemplateEscape)
		if q < 0 || q+1 >= len(sk) {
			b = append(b, sk...)
			break
		}
		b = append(b, sk[:q]...)
		if code := sk[q+1]; code >= store.TemplateColumn0 && tv.tmpl.MayHoldAny(int(code-store.TemplateColumn0), tf.term) &&
			(only == nil || only.hasCol(int(code-store.TemplateColumn0))) {
			v, ok, err := bv.colValue(int(code-store.TemplateColumn0), i)
			if err != nil || !ok {
				tv.mbuf = b
				return "", false
			}
			for {
				e := strings.IndexByte(v, store.TemplateEscape)
				if e < 0 {
					b = append(b, v...)
					break
				}
				b = append(b, v[:e+1]...)
				b = append(b, store.TemplateEscape)
				v = v[e+1:]
			}
		} else {
			b = append(b, sk[q:q+2]...)
		}
		sk = sk[q+2:]
	}
	tv.mbuf = b
	return unsafe.String(unsafe.SliceData(b), len(b)), true // #nosec G103 -- zero-copy view of tv.mbuf, valid until the next merge (documented above)
}

// skelCache returns the answers of tf for the block's skeletons.
func (tv *tmplView) skelCache(tf *tmplFinder, lit bool) *skelAnswers {
	c := tv.lastSkel
	if c == nil || c.tf != tf || c.lit != lit {
		c = nil
		for j := range tv.skels {
			if e := &tv.skels[j]; e.tf == tf && e.lit == lit {
				c = e
				break
			}
		}
		if c == nil {
			tv.skels = append(tv.skels, skelAnswers{tf: tf, lit: lit})
			tv.lastSkel = nil // the array may have moved
			c = &tv.skels[len(tv.skels)-1]
		}
		tv.lastSkel = c
	}
	if n := tv.tmpl.Skeletons(); len(c.ans) != n {
		c.ans = slices.Grow(c.ans[:0], n)[:n]
		clear(c.ans)
	}
	return c
}

// resetSkeletons forgets the answers of the previous block.
func (tv *tmplView) resetSkeletons() {
	for j := range tv.skels {
		tv.skels[j].ans = tv.skels[j].ans[:0]
		tv.skels[j].memo = tv.skels[j].memo[:0]
	}
	tv.lastSkel = nil
	tv.want, tv.wantN, tv.wantListed = tv.want[:0], 0, false
	tv.skelOff, tv.oneCalls = tv.skelOff[:0], 0
	tv.winPlan, tv.winOcc, tv.winHB = tv.winPlan[:0], tv.winOcc[:0], tv.winHB[:0]
	clear(tv.winIPCols)
	tv.winIPCols, tv.winIPState = tv.winIPCols[:0], tv.winIPState[:0]
}

// skelValues reports whether f holds for the value of block column k in
// some row of skeleton id, or a row lacks it, or it cannot be had (the
// exact path then reports why). Runs of rows with the same value (a
// dictionary's) are asked once; a dictionary column read from its codes
// (colValue) is decided per distinct value: a small dictionary none of
// whose values satisfies f answers without looking at the rows.
func (bv *blockView) skelValues(k, id int, f func(v string) bool) bool {
	tv := &bv.tv
	if tv.noRows {
		tv.deferred = true
		return true
	}
	sc := bv.sparseCodes(k)
	if sc != nil && !sc.absent && len(sc.dict) <= 256 {
		if !slices.ContainsFunc(sc.dict, f) {
			return false
		}
	}
	rows := bv.skelRowsOf(id)
	if sc != nil {
		if ans, ok := tv.codesAnswer(sc, rows, f); ok {
			return ans
		}
		// By Value, which decodes them all (or says why not).
	}
	var prev string
	for j, r := range rows {
		v, ok, err := bv.colValue(k, int(r))
		if err != nil || !ok {
			return true
		}
		if j > 0 && len(v) == len(prev) && unsafe.StringData(v) == unsafe.StringData(prev) { // #nosec G103 -- pointer comparison only: the same stored value as the previous row
			continue
		}
		prev = v
		if f(v) {
			return true
		}
	}
	return false
}

// codesAnswer is skelValues on the rows' codes of dictionary column sc:
// each distinct value once. The codes kept as stored (state 2) are read
// on row by row, up to the first row that answers: false when a code
// cannot be read there (the caller asks Value).
func (tv *tmplView) codesAnswer(sc *sparseCol, rows []int32, f func(v string) bool) (ans, ok bool) {
	// Each distinct value once: memo by code, for this call.
	tv.vgen++
	if tv.vgen >= 1<<31 {
		clear(tv.vmemo)
		tv.vgen = 1
	}
	memo := tv.vmemo
	if len(memo) < len(sc.dict)+1 {
		memo = make([]uint32, len(sc.dict)+1)
		tv.vmemo = memo
	}
	yes, no := tv.vgen<<1|1, tv.vgen<<1
	stored := sc.state == 2
	if stored {
		sc.off, sc.ended = 0, 0 // as codesAt
	}
	for _, r := range rows {
		var c uint32
		if stored {
			if int(r) < sc.ended {
				return false, false // not ascending
			}
			var ok bool
			if c, ok = sc.seek(int(r)); !ok {
				return false, false
			}
		} else {
			c = sc.codes[r]
		}
		switch memo[c] {
		case yes:
			return true, true
		case no:
			continue
		}
		if c == 0 || f(sc.dict[c-1]) {
			return true, true
		}
		memo[c] = no
	}
	return false, true
}

// skelRowsOf returns the rows of skeleton id: those of the first
// skeleton a block asks for are found by one pass over the rows' ids (a
// phrase often needs the rows of one skeleton only), later ones in the
// lists of groupSkeletons.
func (bv *blockView) skelRowsOf(id int) []int32 {
	tv := &bv.tv
	if id < len(tv.want) && tv.want[id] && tv.wantN <= maxWanted {
		return tv.wantedRows(id)
	}
	if len(tv.skelOff) == 0 && tv.oneCalls < 1 {
		tv.oneCalls++
		list := tv.oneRows[:0]
		x := uint32(id + 1)
		for r, y := range tv.tmpl.SkeletonIDs() {
			if y == x {
				list = append(list, int32(r))
			}
		}
		tv.oneRows = list
		return list
	}
	if len(tv.skelOff) == 0 {
		tv.groupSkeletons()
	}
	return tv.skelRows[tv.skelOff[id]:tv.skelOff[id+1]]
}

// maxWanted bounds the skeletons whose rows skelRowsOf finds in the
// list of wanted rows (each call filters the list).
const maxWanted = 8

// wantRowsOf notes that the rows of skeleton id will be asked for (the
// prepass deferred it to its rows' values).
func (tv *tmplView) wantRowsOf(id int) {
	if n := tv.tmpl.Skeletons(); len(tv.want) != n {
		tv.want = slices.Grow(tv.want[:0], n)[:n]
		clear(tv.want)
	}
	if !tv.want[id] {
		tv.want[id] = true
		tv.wantN++
		tv.wantListed = false // list it again with this one
	}
}

// wantedRows returns the rows of wanted skeleton id (wantRowsOf): one
// pass over the rows' ids lists the rows of every wanted skeleton, and
// each call picks its own from that list.
func (tv *tmplView) wantedRows(id int) []int32 {
	if !tv.wantListed {
		tv.wantListed, tv.wantLast = true, -1
		list := tv.wantList[:0]
		if tv.wantN == 1 {
			x := uint32(id + 1)
			for r, y := range tv.tmpl.SkeletonIDs() {
				if y == x {
					list = append(list, int32(r))
				}
			}
		} else {
			want := tv.want
			for r, y := range tv.tmpl.SkeletonIDs() {
				if y > 0 && want[y-1] {
					list = append(list, int32(r))
				}
			}
		}
		tv.wantList = list
	}
	if tv.wantN == 1 {
		return tv.wantList // all of them are id's
	}
	if id == tv.wantLast {
		return tv.wantRows
	}
	rows := tv.wantRows[:0]
	ids, x := tv.tmpl.SkeletonIDs(), uint32(id+1)
	for _, r := range tv.wantList {
		if ids[r] == x {
			rows = append(rows, r)
		}
	}
	tv.wantRows, tv.wantLast = rows, id
	return rows
}

// groupSkeletons lists the rows of each skeleton (skelRows from
// skelOff[id] to skelOff[id+1]).
func (tv *tmplView) groupSkeletons() {
	n, rows := tv.tmpl.Skeletons(), tv.tmpl.Rows()
	off := slices.Grow(tv.skelOff[:0], n+2)[:n+2]
	clear(off)
	for r := range rows {
		if id := tv.tmpl.SkeletonOf(r); id >= 0 {
			off[id+2]++
		}
	}
	for id := 2; id < len(off); id++ {
		off[id] += off[id-1]
	}
	list := slices.Grow(tv.skelRows[:0], rows)[:off[n+1]]
	for r := range rows {
		if id := tv.tmpl.SkeletonOf(r); id >= 0 {
			list[off[id+1]] = int32(r)
			off[id+1]++
		}
	}
	tv.skelOff, tv.skelRows = off[:n+1], list
}

// varAnswer tells whether a match of tf may overlap a variable of a
// skeleton between pieces left and right (openL: a value lies before
// left; openR: after right). A variable is a run of word bytes that holds
// an ASCII digit, different in each row.
//
// A term without digits never overlaps one: a match edge inside the run
// fails its word boundary (the term's edge byte is a word byte, and so
// is its neighbour), and a match over the whole run holds a digit. A
// literal (lit: no word boundaries) without digits never covers a whole
// variable either, so the part of it inside one is a run of word bytes
// at its start or end: it lies inside (it is all word bytes), or runs
// into the variable from left with word bytes to its end, or out of it
// into right from a start of word bytes. A match that goes on past right
// into the next value or variable is left to that one's check (quickIn
// checks every reference and variable; the check of the next one sees
// right as a piece the match runs through). Literals and terms with
// digits overlap a variable whenever a match may run into it with a word
// byte.
func (tf *tmplFinder) varAnswer(left, right string, openL, openR, lit bool) tmplAnswer {
	if !lit && !tf.digit {
		return tmplNo
	}
	if tf.allWord {
		return tmplMaybe
	}
	var ends, starts uint64
	if len(left) > 0 {
		ends = tf.endSplits(left, openL) & tf.intoWord
	}
	if len(right) > 0 {
		starts = tf.startSplits(right, openR) & tf.fromWord
		if starts != 0 && !tf.digit {
			starts = tf.outOfVar(starts, len(right))
		}
	}
	if ends|starts != 0 {
		return tmplMaybe
	}
	return tmplNo
}

// rowVar decides what variable j of row i, between pieces left and
// right of its skeleton, says about tf: a match inside it (its edges are
// word boundaries: the bytes around it are literal non-word bytes, or
// quickIn answered tmplMaybe for two values side by side) is tmplYes, a
// match that may run across its edges tmplMaybe.
func (bv *blockView) rowVar(tf *tmplFinder, i, j int, left, right string, openL, openR, lit bool) tmplAnswer {
	if !lit && (len(left) > 0 && token.IsWordByte(left[len(left)-1]) || len(right) > 0 && token.IsWordByte(right[0])) {
		// A value written in next to the variable (mergeSkeleton): its
		// edges are no word boundaries; the template decides.
		return tmplMaybe
	}
	v, err := bv.tv.tmpl.Var(i, j)
	if err != nil {
		bv.tv.fail(err)
		return tmplMaybe
	}
	if tf.allWord && !lit {
		// Needles (hashes, ids): a match is the whole variable, whose
		// neighbours are not word bytes.
		if len(v) == len(tf.term) && token.EqualFold(v, tf.term) {
			return tmplYes
		}
		return tmplNo
	}
	if tf.match(v) { // a literal's finder has no word boundaries
		return tmplYes
	}
	if len(tf.term) < 2 {
		return tmplNo
	}
	var ends, starts uint64
	if len(left) > 0 {
		ends = tf.endSplits(left, openL)
	}
	if len(right) > 0 {
		starts = tf.startSplits(right, openR)
	}
	if ends|starts != 0 && (tf.goesOn(ends, v) || tf.leadsIn(starts, v)) {
		return tmplMaybe
	}
	return tmplNo
}

// outOfVar keeps the splits k of starts at which a literal without
// digits may start inside a variable and end in the piece of n bytes
// after it: term[:k] is word bytes and term[k:] fits in the piece.
func (tf *tmplFinder) outOfVar(starts uint64, n int) uint64 {
	m := len(tf.term)
	var keep uint64
	for ks := starts; ks != 0; ks &= ks - 1 {
		k := bits.TrailingZeros64(ks)
		if k == 63 || k <= tf.wordHead && n >= m-k {
			keep |= 1 << k
		}
	}
	return keep
}

// joinBytes returns the bytes a value must hold to go on with the term
// after one of the splits ends (its first byte is term[k]) or lead into
// it before one of starts (its last is term[k-1]), unless it is empty;
// with long terms (bit 63), every byte of the term. The bytes are in
// tv.jb: valid until the next call.
func (tv *tmplView) joinBytes(tf *tmplFinder, ends, starts uint64) string {
	t := tf.term
	if (ends|starts)>>63 != 0 {
		return t
	}
	b := tv.jb[:0]
	for ; ends != 0; ends &= ends - 1 {
		b = append(b, t[bits.TrailingZeros64(ends)])
	}
	for ; starts != 0; starts &= starts - 1 {
		b = append(b, t[bits.TrailingZeros64(starts)-1])
	}
	tv.jb = b
	return unsafe.String(unsafe.SliceData(b), len(b)) // #nosec G103 -- zero-copy view of tv.jb, valid until the next call (documented above)
}

// setVarTables fills the finder's fields for varAnswer.
func (tf *tmplFinder) setVarTables() {
	t := tf.term
	tf.allWord = t != ""
	tf.wordHead, tf.wordTail = len(t), 0
	for k := 0; k < len(t); k++ {
		w := token.IsWordByte(t[k])
		tf.allWord = tf.allWord && w
		if !w {
			tf.wordHead = min(tf.wordHead, k)
			tf.wordTail = k + 1
		}
		if t[k] >= '0' && t[k] <= '9' {
			tf.digit = true
		}
		if k >= 1 && w {
			tf.intoWord |= 1 << min(k, 63) // term[k:] may go on into a run
		}
		if k+1 < len(t) && w {
			tf.fromWord |= 1 << min(k+1, 63) // term[:k+1] may end a run
		}
	}
	if !tf.digit {
		// Without digits the part in a variable is all word bytes.
		for k := 1; k < min(len(t), 63); k++ {
			if k < tf.wordTail {
				tf.intoWord &^= 1 << k
			}
			if k > tf.wordHead {
				tf.fromWord &^= 1 << k
			}
		}
	}
}

// template returns row i's template; an error building it is kept.
func (bv *blockView) template(i int) string {
	tv := &bv.tv
	t := tv.tmpl.Template(i)
	if err := tv.tmpl.Err(); err != nil {
		tv.fail(err)
	}
	return t
}

// expandAll makes _raw a column of the view, expanded from the
// templates: a block without skeletons, for a search that reads _raw
// only through a regexp's literal (per row, expanding costs less than
// deciding on the template; measured on the 10M benchmark).
func (bv *blockView) expandAll() {
	tv := &bv.tv
	col, err := tv.tmpl.Column(nil)
	if err != nil {
		tv.fail(err)
		return
	}
	tv.full = col
	bv.raw = &tv.full
	if slotRaw < len(bv.cols) {
		bv.cols[slotRaw] = &tv.full
	}
}
