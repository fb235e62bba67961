package query

import (
	"context"
	"fmt"

	"github.com/mamori/mamori/internal/store"
)

// runAgg aggregates every block into per-worker shards and merges them.
func (ex *executor) runAgg(ctx context.Context, refs []store.BlockRef) ([]*tableRow, error) {
	p := ex.p
	nw := min(ex.workers(), max(len(refs), 1))
	shards := make([]aggShard, nw)
	for i := range shards {
		shards[i] = p.agg.newShard(ex.budget)
	}
	err := ex.forEachBlock(ctx, refs, func(w *worker, i int) error {
		w.shard = shards[w.id]
		return w.aggBlock(refs[i])
	})
	if err != nil {
		return nil, err
	}
	rows, err := p.agg.result(shards)
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	return rows, nil
}

func (w *worker) aggBlock(ref store.BlockRef) error {
	p := w.ex.p
	if p.fast != "" && w.fastBlock(ref) {
		return nil
	}
	sel, err := w.scan(ref)
	if err != nil || len(sel) == 0 {
		return err
	}
	if len(p.prefix) == 0 {
		if c, ok := w.shard.(*aggShardImpl); ok && c.one != nil && c.o.onlyCount() {
			// Fast path: a plain count needs no per-row work.
			for i := range c.one.st {
				c.one.st[i].n += int64(len(sel))
			}
			w.ex.matched.Add(int64(len(sel)))
			return nil
		}
	}
	matched := int64(0)
	for _, i := range sel {
		w.rc.reset(i)
		if !w.applyPrefix() {
			continue
		}
		matched++
		if err := w.shard.add(w.rc); err != nil {
			return err
		}
	}
	w.ex.matched.Add(matched)
	return nil
}

// fastBlock answers count and count-by-minute-timeslice from block
// metadata when the block lies inside the time range; it reports false
// when the block must be decoded.
func (w *worker) fastBlock(ref store.BlockRef) bool {
	from, to := w.ex.opts.From, w.ex.opts.To
	if (from != 0 && ref.MinTime() < from) || (to != 0 && ref.MaxTime() >= to) {
		return false
	}
	sh := w.shard.(*aggShardImpl)
	switch w.ex.p.fast {
	case "count":
		n := int64(ref.Rows())
		for i := range sh.one.st {
			sh.one.st[i].n += n
		}
		w.ex.matched.Add(n)
		w.ex.scanned.Add(n)
		return true
	case "minutes":
		mc := ref.MinuteCounts()
		total := 0
		for _, m := range mc {
			total += m.Count
		}
		if total != ref.Rows() {
			return false // metadata missing or inconsistent: decode
		}
		span := w.ex.p.fastSpan
		for _, m := range mc {
			bucket := floorDiv(m.Minute, span) * span
			sh.key = appendKey(sh.key[:0], timeVal(bucket))
			g := sh.groups[string(sh.key)]
			if g == nil {
				g = sh.o.newGroup([]val{timeVal(bucket)})
				sh.groups[string(sh.key)] = g
			}
			for i := range g.st {
				g.st[i].n += int64(m.Count)
			}
		}
		w.ex.matched.Add(int64(total))
		w.ex.scanned.Add(int64(total))
		return true
	}
	return false
}
