package query

import (
	"context"
	"fmt"
	"strings"

	"github.com/mamori/mamori/internal/store"
)

// runAgg aggregates every block into per-worker shards and merges them.
func (ex *executor) runAgg(ctx context.Context, refs []store.BlockRef) ([]*tableRow, error) {
	p := ex.p
	nw := min(ex.workers(), max(len(refs), 1))
	if _, ok := p.agg.(*aggregateOp); ok {
		refs = largestFirst(refs, nw) // logreduce and the like see blocks in time order
	}
	shards := make([]aggShard, nw)
	for i := range shards {
		shards[i] = p.agg.newShard(ex.budget)
	}
	// Count by or count_distinct of an IPv4 column: by number where the
	// blocks store it so (run_ip.go).
	var ips []ipAgg
	if p.dict.ipAgg != "" && len(p.prefix) == 0 {
		ips = make([]ipAgg, nw)
	}
	err := ex.forEachBlock(ctx, refs, func(w *worker, i int) error {
		w.shard = shards[w.id]
		w.pre = preFilter{}
		if ips != nil {
			if done, err := ips[w.id].aggBlock(w, refs[i]); done || err != nil {
				return err
			}
		}
		return w.aggBlock(refs[i])
	}, nil)
	if err == nil && ips != nil {
		err = flushIP(ips, shards, &p.dict)
	}
	for _, sh := range shards {
		if sh, ok := sh.(*aggShardImpl); ok && sh.mins != nil && err == nil {
			err = sh.mins.flush(sh)
		}
	}
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
	if p.fast != "" {
		if done, err := w.fastBlock(ref); done || err != nil {
			return err
		}
	}
	if done, err := w.dictBlock(ref); done || err != nil {
		return err
	}
	sref := ref
	if bk, ok := ref.(store.BodyKeeper); ok && len(p.prefix) == 0 && countsOnly(w.shard) {
		// The search's loads check each chunk once (the _raw chunk's
		// refs summary, store.RawTermsChecker, then its skeletons) and
		// decompress each small body once. Only a plain count keeps no
		// value of the block past it (the bodies go back at Release).
		sref = bk.WithBodies(&w.td.bodies)
		defer w.td.bodies.Release()
	}
	sel, err := w.scan(sref)
	if err != nil || len(sel) == 0 {
		return err
	}
	if len(p.prefix) == 0 {
		if sh, ok := w.shard.(*aggShardImpl); ok && w.byDict != nil {
			if err := w.countByDict(sh, w.byDict, sel); err != nil {
				return err
			}
			w.ex.matched.Add(int64(len(sel)))
			return nil
		}
		if sh, ok := w.shard.(*aggShardImpl); ok {
			done, err := w.columnar(sh, sel)
			if err != nil {
				return err
			}
			if done {
				w.ex.matched.Add(int64(len(sel)))
				return nil
			}
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

// countsOnly reports whether sh is a count without a group-by: it keeps
// no value of the rows it counts.
func countsOnly(sh aggShard) bool {
	s, ok := sh.(*aggShardImpl)
	return ok && len(s.o.by) == 0 && s.o.onlyCount()
}

// fastBlock answers count and count-by-minute-timeslice from block
// metadata when the block lies inside the time range; it reports false
// when the block must be decoded.
func (w *worker) fastBlock(ref store.BlockRef) (bool, error) {
	from, to := w.ex.opts.From, w.ex.opts.To
	if (from != 0 && ref.MinTime() < from) || (to != 0 && ref.MaxTime() >= to) {
		return false, nil
	}
	sh := w.shard.(*aggShardImpl)
	switch w.ex.p.fast {
	case "count":
		n := int64(ref.Rows())
		sh.one.addCount(n)
		w.ex.matched.Add(n)
		w.ex.scanned.Add(n)
		return true, nil
	case "stream":
		var v string
		switch sh.o.by[0] {
		case slotHost:
			v = ref.Host()
		case slotSource:
			v = ref.Source()
		default:
			v = ref.Partition()
		}
		n := int64(ref.Rows())
		if v != "" {
			if err := sh.addCountText(v, n); err != nil {
				return false, err
			}
		}
		w.ex.matched.Add(n)
		w.ex.scanned.Add(n)
		return true, nil
	case "minutes":
		mc := ref.MinuteCounts()
		total := 0
		for _, m := range mc {
			total += m.Count
		}
		if total != ref.Rows() {
			return false, nil // metadata missing or inconsistent: decode
		}
		span := w.ex.p.fastSpan
		if sh.mins == nil {
			sh.mins = newMinuteTable(from, to, span)
		}
		if t := sh.mins; t.counts != nil {
			// base is a multiple of span: the bucket's index is
			// floor((minute - base) / span).
			for j, m := range mc {
				k := floorDiv(m.Minute-t.base, span)
				if k < 0 || k >= int64(len(t.counts)) {
					for _, m := range mc[:j] { // metadata inconsistent: undo, decode
						t.counts[floorDiv(m.Minute-t.base, span)] -= int64(m.Count)
					}
					return false, nil
				}
				t.counts[k] += int64(m.Count)
			}
			w.ex.matched.Add(int64(total))
			w.ex.scanned.Add(int64(total))
			return true, nil
		}
		for _, m := range mc {
			if err := sh.addTimeCount(floorDiv(m.Minute, span)*span, int64(m.Count)); err != nil {
				return true, err
			}
		}
		w.ex.matched.Add(int64(total))
		w.ex.scanned.Add(int64(total))
		return true, nil
	}
	return false, nil
}

// minuteTable counts rows per timeslice bucket in an array over the
// query's time range (fastBlock "minutes"), so a block's minute counts
// are added without a map lookup each; flush turns the buckets into
// groups once, at the end.
type minuteTable struct {
	base, span int64
	counts     []int64 // nil: the range is unbounded or too long
}

// maxMinuteBuckets bounds the array (8 MiB per worker).
const maxMinuteBuckets = 1 << 20

func newMinuteTable(from, to, span int64) *minuteTable {
	t := &minuteTable{span: span}
	if from == 0 || to == 0 || to <= from || span <= 0 {
		return t
	}
	t.base = floorDiv(from, span) * span
	n := (to-1-t.base)/span + 1
	if n > 0 && n <= maxMinuteBuckets {
		t.counts = make([]int64, n)
	}
	return t
}

// flush adds the counted buckets to the shard's groups.
func (t *minuteTable) flush(sh *aggShardImpl) error {
	for k, n := range t.counts {
		if n == 0 {
			continue
		}
		if err := sh.addTimeCount(t.base+int64(k)*t.span, n); err != nil {
			return err
		}
	}
	t.counts = nil
	return nil
}

// addTimeCount adds n rows to the group of timeslice bucket (fastBlock
// "minutes": the only group-by is _timeslice).
func (sh *aggShardImpl) addTimeCount(bucket, n int64) error {
	sh.key = appendKey(sh.key[:0], timeVal(bucket))
	g := sh.groups[string(sh.key)]
	if g == nil {
		// Charged like any new group (add): an unbounded range with small
		// buckets makes many.
		if err := sh.mem.add(int64(2*len(sh.key) + 96 + 80*len(sh.o.calls))); err != nil {
			return err
		}
		g = sh.newGroup(timeVal(bucket))
		sh.groups[string(sh.key)] = g
	}
	g.addCount(n)
	return nil
}

// columnar runs the common aggregations straight over the block's columns,
// without the per-row record interface: count, count by one field, and
// count_distinct of one field. It reports false when it does not apply.
func (w *worker) columnar(sh *aggShardImpl, sel []int) (bool, error) {
	o := sh.o
	switch {
	case len(o.by) == 0 && o.onlyCount():
		sh.one.addCount(int64(len(sel)))
		return true, nil
	case len(o.by) == 1 && o.onlyCount():
		s := o.by[0]
		if s == slotSource || s == slotHost || s == slotPartition {
			v, ok := w.bv.value(s, 0)
			if !ok {
				return true, nil // no group: rows without the field are not counted
			}
			return true, sh.addCountText(v, int64(len(sel)))
		}
		col := w.bv.cols[s]
		if s < numMetaSlots && s != slotRaw && s != slotCategory {
			return false, nil
		}
		if col == nil {
			return true, nil
		}
		lc := w.countLocal(col, sel)
		for k, v := range lc.keys {
			if err := sh.addCountText(v, lc.counts[k]); err != nil {
				return false, err
			}
		}
		return true, nil
	case len(o.by) == 0 && len(o.calls) == 1 && o.calls[0].fn == "count_distinct" && o.calls[0].field >= numMetaSlots:
		col := w.bv.cols[o.calls[0].field]
		if col == nil {
			return true, nil
		}
		st := &sh.one.st[0]
		lc := w.countLocal(col, sel)
		for _, v := range lc.keys {
			if st.set == nil {
				st.set = map[string]struct{}{}
			}
			if _, ok := st.set[v]; !ok {
				st.set[strings.Clone(v)] = struct{}{}
				if err := sh.mem.add(int64(len(v) + 48)); err != nil {
					return false, err
				}
			}
		}
		return true, nil
	}
	return false, nil
}

// countLocal counts the values of col in the rows of sel, in w.local.
func (w *worker) countLocal(col *store.Column, sel []int) *localCounter {
	lc := &w.local
	lc.reset(len(sel))
	for _, i := range sel {
		if col.Has(i) {
			lc.add(col.Values[i])
		}
	}
	return lc
}
