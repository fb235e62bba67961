package query

import (
	"context"
	"errors"
	"slices"

	"github.com/mamori/mamori/internal/store"
)

// Part sums (store.BlockSummer): a count, a count by whole minutes
// (planFast) or a count by one coded field (dictPlan.codeAgg) over a
// search that keeps every row reads nothing of the rows of a block inside
// the time range but its metadata or that field's codes. For the parts
// lying wholly inside the range the store answers from per-part sums it
// caches, so those blocks are neither listed nor visited; the sum travels
// to the aggregation as one summedRef (fastBlock reads its rows and minute
// counts, dictBlock its values) before the other blocks.

// sumOptions reports what the store may sum for the plan, and false when
// the plan is not one the sums answer.
func (p *plan) sumOptions() (store.SumOptions, bool) {
	a, ok := p.agg.(*aggregateOp)
	if !ok || !isTrue(p.m) || !a.onlyCount() {
		return store.SumOptions{}, false
	}
	switch {
	case p.fast == "count":
		return store.SumOptions{}, true
	case p.fast == "minutes":
		return store.SumOptions{Minutes: true}, true
	case p.fast == "" && len(p.prefix) == 0 && len(a.by) == 1 && p.dict.codeAgg && p.dict.byName != "":
		return store.SumOptions{Column: p.dict.byName}, true
	}
	return store.SumOptions{}, false
}

// blocks lists the blocks to aggregate or scan, in the caller's scope:
// with the parts the store summed as one summedRef first.
func (ex *executor) blocks(ctx context.Context, snap store.Snapshot) ([]store.BlockRef, store.Stats, error) {
	p := ex.p
	o, ok := p.sumOptions()
	bs, ok2 := snap.(store.BlockSummer)
	if !ok || !ok2 {
		refs, st, err := snap.Blocks(ctx, p.sq)
		return ex.inScope(refs), st, err
	}
	refs, sum, st, err := bs.BlocksSummed(ctx, p.sq, o)
	if err != nil || sum == nil {
		return ex.inScope(refs), st, err
	}
	if ex.opts.Partitions != nil {
		for _, pt := range sum.Partitions {
			if !slices.Contains(ex.opts.Partitions, pt) {
				// Not what the store promises: list every block.
				refs, st, err := snap.Blocks(ctx, p.sq)
				return ex.inScope(refs), st, err
			}
		}
	}
	return append([]store.BlockRef{&summedRef{sum: sum}}, ex.inScope(refs)...), st, nil
}

// summedRef stands for the parts a store summed (BlocksSummed): its rows,
// time span and minute counts are theirs; it has no columns and cannot be
// loaded (sumOptions picks plans that never load it).
type summedRef struct {
	sum *store.PartsSum
}

func (r *summedRef) Partition() string                 { return "" }
func (r *summedRef) Source() string                    { return "" }
func (r *summedRef) Host() string                      { return "" }
func (r *summedRef) MinTime() int64                    { return r.sum.MinTime }
func (r *summedRef) MaxTime() int64                    { return r.sum.MaxTime }
func (r *summedRef) Rows() int                         { return int(r.sum.Rows) }
func (r *summedRef) Columns() []string                 { return nil }
func (r *summedRef) MinuteCounts() []store.MinuteCount { return r.sum.Minutes }
func (r *summedRef) Load([]string) (*store.Block, error) {
	return nil, errors.New("BUG: summed parts are not loaded")
}

// addSummed counts the summed parts of a count by one field: every row is
// scanned and matched, the rows with the field counted by value.
func (w *worker) addSummed(r *summedRef) error {
	sh, ok := w.shard.(*aggShardImpl)
	if !ok {
		return errors.New("BUG: summed parts outside a count")
	}
	n := r.sum.Rows
	w.ex.scanned.Add(n)
	if err := w.ex.budget.addRows(n); err != nil {
		return err
	}
	w.ex.matched.Add(n)
	if w.ex.p.dict.byName == "" {
		sh.one.addCount(n)
		return nil
	}
	return r.sum.EachValue(sh.addCountKept)
}
