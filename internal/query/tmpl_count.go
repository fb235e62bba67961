package query

import "slices"

// Selection from the skeleton ids. On a block whose _raw is stored as
// skeletons, a text search is decided once per skeleton (tmpl_skel.go),
// so the rows of a skeleton that answers yes or no need no call of the
// matcher each: selectBySkeletons decides every skeleton of the block
// first (before any row is expanded, so the columns' stored bytes are
// asked while still undecoded) and then walks the rows' skeleton ids in
// one pass, calling the matcher only on the rows of undecided skeletons.
// A count then adds the rows of yes-skeletons without looking at them.

// skelDecider is one conjunct of the search decided by skeleton.
type skelDecider struct {
	tf   *tmplFinder
	lit  bool // a regexp's literal: a skeleton says only no or maybe
	term bool // a term (termMatcher): yes selects the row when alone
	// fields: the term may also match a field value, so a no-skeleton
	// does not reject the row.
	fields bool
}

// selectBySkeletons returns the rows in [lo, hi) that match m and are
// candidates (w.keep), deciding by skeleton what it can; false when m or
// the block does not suit it (the caller then asks m row by row).
func (w *worker) selectBySkeletons(m matcher, lo, hi int) ([]int, bool) {
	bv := &w.bv
	tv := &bv.tv
	if tv.tmpl == nil || bv.raw != nil || tv.tmpl.Skeletons() == 0 || hi <= lo {
		return nil, false
	}
	var ds [4]skelDecider
	n := 0
	alone := false
	switch m := m.(type) {
	case andMatcher:
		for _, c := range m {
			if d, ok := bv.skelDeciderOf(c); ok && n < len(ds) {
				ds[n] = d
				n++
			}
		}
	default:
		if d, ok := bv.skelDeciderOf(m); ok {
			ds[0], n, alone = d, 1, true
		}
	}
	if n == 0 {
		return nil, false
	}
	// Every skeleton's answers, into one table by skeleton id + 1 (the
	// rows' ids, store.RawTemplates.SkeletonIDs; 0: a row without one):
	// whether its rows are rejected (2), selected without the matcher
	// (1), or asked (0).
	ns := tv.tmpl.Skeletons()
	ids := tv.tmpl.SkeletonIDs()
	if len(ids) < hi {
		return nil, false
	}
	for j := range n {
		bv.skelPrepass(ds[j].tf, ds[j].lit)
	}
	verdict := growTo8(&tv.verdict, ns+1)
	verdict[0] = 0
	for id := range ns {
		v := uint8(0)
		for j := range n {
			d := &ds[j]
			switch bv.skelCached(d.tf, id, d.lit) {
			case tmplNo:
				if d.lit || !d.fields {
					v = 2
				}
			case tmplYes:
				if alone && d.term && v == 0 {
					v = 1
				}
			}
			if v == 2 {
				break
			}
		}
		verdict[id+1] = v
	}
	if err := tv.tmpl.Err(); err != nil {
		tv.fail(err)
	}
	// A regexp alone reads the rows' text from one reused buffer, and
	// the rows of a skeleton whose windows are settled by the code of
	// one dictionary column (rowByCode) are taken from its memo here
	// (verdict 3; 4: asked row by row, already looked at).
	rx, _ := m.(*fieldMatcher)
	if !alone || !ds[0].lit {
		rx = nil
	}
	byCode := rx != nil && rx.win != nil && rx.win.auto != nil
	sel := w.sel[:0]
	keep := w.keep
	ids = ids[:hi]
	if keep == nil && !byCode {
		// Every row a candidate, no verdict 3: each row is written to
		// the selection and kept by its verdict's low bit (1 selected,
		// 2 rejected), without a branch on the verdict of most rows;
		// the rows of skeletons left undecided (0) are asked.
		sel = slices.Grow(sel, len(ids)-lo)[:len(ids)-lo]
		n := 0
		for i := lo; i < len(ids); i++ {
			if i, n = verdictRun(ids, verdict, sel, i, n); i == len(ids) {
				break
			}
			if bv.undecidedRow(m, rx, ids[i], i) { // sel[n] is i
				n++
			}
		}
		w.sel = sel[:n]
		return w.sel, true
	}
	for i := lo; i < len(ids); i++ {
		x := ids[i]
		switch verdict[x] {
		case 1:
			if keep == nil || keep[i] {
				sel = append(sel, i)
			}
			continue
		case 2:
			continue
		case 3:
			if keep != nil && !keep[i] {
				continue
			}
			switch bv.settledByCode(int(x)-1, i) {
			case walkMatch:
				sel = append(sel, i)
				continue
			case walkNone:
				continue
			}
		}
		if (keep == nil || keep[i]) && bv.undecidedRow(m, rx, x, i) {
			sel = append(sel, i)
		}
		if byCode && verdict[x] == 0 && x != 0 {
			verdict[x] = bv.codeVerdict(int(x) - 1)
		}
	}
	w.sel = sel
	return sel, true
}

// verdictRun selects the rows from i on by their skeleton's verdict (1
// selected, 2 rejected) into sel[n:], each written and kept by the
// verdict's low bit, up to the first row whose verdict is 0: it returns
// that row (len(ids): none) and the selected rows, with sel[n] = the row
// returned. The loop calls nothing, so its values stay in registers.
// Verdicts are 0, 1 or 2 here: four rows at a time are all decided when
// none of their verdicts minus one (a byte) has its high bit.
func verdictRun(ids []uint32, verdict []uint8, sel []int, i, n int) (int, int) {
	for ; i+4 <= len(ids); i += 4 {
		x := ids[i : i+4 : i+4]
		a, b, c, d := verdict[x[0]], verdict[x[1]], verdict[x[2]], verdict[x[3]]
		if ((a-1)|(b-1)|(c-1)|(d-1))&0x80 != 0 {
			break
		}
		sel[n] = i
		n += int(a & 1)
		sel[n] = i + 1
		n += int(b & 1)
		sel[n] = i + 2
		n += int(c & 1)
		sel[n] = i + 3
		n += int(d & 1)
	}
	for ; i < len(ids); i++ {
		v := verdict[ids[i]]
		sel[n] = i
		if v == 0 {
			return i, n
		}
		n += int(v & 1)
	}
	return i, n
}

// undecidedRow reports whether row i, of skeleton x-1 (x = 0: none),
// which its skeleton does not decide, matches m; rx is m when it is a
// regexp alone (kept out of selectBySkeletons's loop, whose rows are
// mostly decided by their skeleton).
func (bv *blockView) undecidedRow(m matcher, rx *fieldMatcher, x uint32, i int) bool {
	if x == 0 || rx == nil {
		return m.matchRow(bv, i)
	}
	if rx.win != nil && bv.tv.tmpl.Has(i) {
		// Windows around the literal (tmpl_regex.go).
		if match, ok := bv.windowMatch(rx, int(x)-1, i); ok {
			return match
		}
	}
	v, ok := bv.rawView(i)
	return ok && rx.pred(v) || !ok && rx.missing
}

// skelDeciderOf returns how m is decided by skeleton: a term on _raw
// templates, or a regexp on _raw with a required literal.
func (bv *blockView) skelDeciderOf(m matcher) (skelDecider, bool) {
	switch m := m.(type) {
	case *termMatcher:
		if m.tf == nil || m.tf.digit {
			return skelDecider{}, false // digit terms: per row (tmpl_digit.go)
		}
		return skelDecider{tf: m.tf, term: true, fields: len(bv.fields) > 0 || (m.ipKind == 1 && len(bv.ips) > 0)}, true
	case *fieldMatcher:
		if m.lit == nil || m.slot != slotRaw {
			return skelDecider{}, false
		}
		return skelDecider{tf: m.lit, lit: true}, true
	}
	return skelDecider{}, false
}

// growTo8 returns (*b)[:n], grown when needed (contents undefined).
func growTo8(b *[]uint8, n int) []uint8 {
	if cap(*b) < n {
		*b = make([]uint8, n)
	}
	*b = (*b)[:n]
	return *b
}

// skelPrepass decides tf on every skeleton of the block that its text
// and the columns' stored bytes decide (store.RawTemplates.MayContain),
// before any skeleton reads its rows' values (skelValues): a column
// decoded for those is then asked value by value, which costs more than
// a look at its stored bytes. The skeletons left are decided by
// skelCached.
//
// Skeletons that start as an earlier one does (`{host} {app}[{pid}]: `)
// take its answers for the holes of the shared start (skelScan).
func (bv *blockView) skelPrepass(tf *tmplFinder, lit bool) {
	tv := &bv.tv
	c := tv.skelCache(tf, lit)
	if bv.planPrepass(tf, c, lit) {
		return
	}
	tv.noRows = true
	refs := tv.prefixRefs[:0]
	// A literal's decisions on pooled skeletons are kept across the
	// part's blocks (tmpl_skel_memo.go).
	var m *skelPoolMemo
	if lit && len(c.ans) > 0 && !skelMemoOff {
		if pool, entries := tv.tmpl.SkeletonPool(); pool != 0 {
			if m = c.pmemo; m == nil {
				m = &skelPoolMemo{budget: tv.budget}
				c.pmemo = m
			}
			if !m.memoBlock(pool, entries) {
				m = nil
			}
		}
	}
	for id := range c.ans {
		if c.ans[id] != 0 {
			continue
		}
		var mr *skelRec
		if m != nil {
			mr = m.rec(tv.tmpl.SkeletonEntry(id))
			if mr != nil && mr.state != 0 && bv.memoHolds(tf, m, mr) {
				m.hits++
				if mr.state == 2 {
					tv.wantRowsOf(id)
				} else {
					c.ans[id] = mr.ans
				}
				continue
			}
		}
		if mr != nil && mr.state != 0 {
			m.misses++
		}
		sk := tv.tmpl.Skeleton(id)
		r := prefixRefOf(refs, sk)
		tv.skipNoTo, tv.skipHoles = 0, nil
		tv.recOn, tv.recBad, tv.recTF, tv.recMemo, tv.recMask = mr != nil, mr == nil, tf, m, factMask{}
		if r >= 0 {
			tv.skipNoTo = min(commonPrefix(refs[r].sk, sk), refs[r].noUntil)
			tv.skipHoles = refs[r].holes
			if tv.skipNoTo > 0 {
				// The shared start's answers come with their facts.
				tv.recMask.or(&refs[r].facts)
				if refs[r].bad {
					tv.recOn, tv.recBad = false, true
				}
			}
		}
		tv.deferred = false
		// A skeleton that its literal text decides (tf.literal) is not
		// scanned: none of its holes is known to answer no, and a later
		// skeleton that starts the same way must not take the last
		// scanned one's noUntil for it.
		tv.scanHoles, tv.noUntil = tv.scanHoles[:0], 0
		a := bv.quickIn(tf, sk, -1-id, true, lit)
		tv.recOn = false
		if mr != nil {
			mr.state = 0
			if !tv.recBad {
				m.keep(mr, &tv.recMask, a, tv.deferred)
			}
		}
		if !tv.deferred {
			c.ans[id] = uint8(a) + 1
		} else {
			tv.wantRowsOf(id)
		}
		if r < 0 && len(refs) < maxPrefixRefs {
			if len(refs) < cap(refs) {
				refs = refs[:len(refs)+1] // keeps its holes' buffer
			} else {
				refs = append(refs, prefixRef{})
			}
			r = len(refs) - 1
		}
		if r >= 0 {
			refs[r].sk, refs[r].noUntil = sk, tv.noUntil
			refs[r].holes = append(refs[r].holes[:0], tv.scanHoles...)
			refs[r].facts, refs[r].bad = tv.recMask, tv.recBad
		}
	}
	for r := range refs {
		refs[r].sk = ""
	}
	tv.prefixRefs = refs[:0]
	tv.noRows, tv.deferred, tv.skipNoTo, tv.skipHoles = false, false, 0, nil
	tv.recTF, tv.recMemo = nil, nil
}
