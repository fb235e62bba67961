package query

// A check on variables (digitOp) holds only in a row with a variable
// equal to the term's longest run (its anchor). Rather than running the
// checks of each row, the block's variables are compared with the anchor
// once, by length first: the rows with one equal to it are the
// candidates, and the other rows skip their checks on variables. A
// needle (a hash, an address) is in a handful of a block's variables, if
// any.

// digitCandidate reports whether row i of the block is a candidate of
// dp's term (computing them on the block's first call).
func (bv *blockView) digitCandidate(dp *digitProgs, i int) bool {
	if !dp.candDone {
		bv.digitCandidates(dp)
	}
	return dp.cand[i/64]&(1<<(i%64)) != 0
}

// digitCandidates sets dp.cand for the view's block: every row when the
// variables cannot be had (the checks then report why).
func (bv *blockView) digitCandidates(dp *digitProgs) {
	t := bv.tv.tmpl
	rows := t.Rows()
	dp.candDone = true
	dp.cand = growTo(dp.cand, (rows+63)/64)
	clear(dp.cand)
	err := t.RowsWithVar(dp.anchor(), func(r int) {
		dp.cand[r/64] |= 1 << (r % 64)
	})
	if err != nil {
		for w := range dp.cand {
			dp.cand[w] = ^uint64(0)
		}
	}
}

// anchor returns the term's longest run (the first of those).
func (dp *digitProgs) anchor() string {
	var anchor string
	for _, r := range dp.shape.runs {
		if len(r) > len(anchor) {
			anchor = r
		}
	}
	return anchor
}
