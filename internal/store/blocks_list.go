package store

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// minListShare is the least number of blocks worth a goroutine of its own
// when listing: checking a block's filter costs a few cache misses into
// the mapped file (bloom, chunk kind), one to two microseconds. A
// variable for tests.
var minListShare = 256

// partBlocks returns the parts' blocks that may match q, part by part in
// block order, and their counts in st. With many blocks the check is
// split over up to GOMAXPROCS goroutines (a query waits for the list
// before it scans anything: this phase is serial in the query's time).
func (sn *snapshot) partBlocks(ctx context.Context, q *Query) (Stats, []BlockRef, error) {
	var st Stats
	type span struct {
		p      *part
		lo, hi int // blocks of p
		kept   []BlockRef
		skip   int
	}
	var spans []span
	total := 0
	for _, p := range sn.parts {
		st.PartsTotal++
		st.BlocksTotal += len(p.blocks)
		if !q.wantPartition(p.info.Partition) || !q.overlaps(p.info.MinTime, p.info.MaxTime) {
			st.PartsSkipped++
			st.BlocksSkipped += len(p.blocks)
			continue
		}
		spans = append(spans, span{p: p, hi: len(p.blocks)})
		total += len(p.blocks)
	}
	if err := ctx.Err(); err != nil {
		return st, nil, fmt.Errorf("blocks: %w", err)
	}
	n := min(runtime.GOMAXPROCS(0), total/minListShare)
	if n > 1 {
		// Cut the parts into about n*4 spans of equal blocks, taken in
		// turn, so a busy core does not hold up the rest.
		size := (total + 4*n - 1) / (4 * n)
		var cut []span
		for _, s := range spans {
			if s.hi == 0 {
				cut = append(cut, s) // still counted as a part skipped
			}
			for lo := 0; lo < s.hi; lo += size {
				cut = append(cut, span{p: s.p, lo: lo, hi: min(lo+size, s.hi)})
			}
		}
		spans = cut
	}
	check := func(f *filter, s *span) {
		cheap := s.p.cheap()
		for i := s.lo; i < s.hi; i++ {
			bm := &s.p.blocks[i]
			sk := s.p.streams[bm.stream]
			if !q.overlaps(bm.minTime, bm.maxTime) || !q.wantStream(sk.source, sk.host) {
				s.skip++
				continue
			}
			if cheap {
				// No filters: pruned on metadata, like in-memory blocks.
				if !f.metaMay(s.p.info.Partition, sk.source, sk.host) {
					s.skip++
					continue
				}
				s.kept = append(s.kept, &cheapRef{p: s.p, i: i})
				continue
			}
			if !f.partBlock(s.p, i) {
				s.skip++
				continue
			}
			s.kept = append(s.kept, &partRef{p: s.p, i: i})
		}
	}
	if n <= 1 {
		f := compileFilter(q.Filter)
		for k := range spans {
			if err := ctx.Err(); err != nil {
				return st, nil, fmt.Errorf("blocks: %w", err)
			}
			check(f, &spans[k])
		}
	} else {
		var next sync.Mutex
		k := 0
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				f := compileFilter(q.Filter)
				for {
					next.Lock()
					j := k
					k++
					next.Unlock()
					if j >= len(spans) || ctx.Err() != nil {
						return
					}
					check(f, &spans[j])
				}
			})
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return st, nil, fmt.Errorf("blocks: %w", err)
		}
	}
	kept := 0
	for _, s := range spans {
		kept += len(s.kept)
	}
	out := make([]BlockRef, 0, kept)
	var last *part
	partKept := 0
	endPart := func() {
		if last == nil {
			return
		}
		if partKept == 0 {
			st.PartsSkipped++
		} else {
			st.PartsScanned++
		}
	}
	for _, s := range spans {
		if s.p != last {
			endPart()
			last, partKept = s.p, 0
		}
		partKept += len(s.kept)
		st.BlocksSkipped += s.skip
		out = append(out, s.kept...)
	}
	endPart()
	return st, out, nil
}

// sortByMinTime orders refs by first time, stably.
func sortByMinTime(refs []BlockRef) {
	keys := make([]int64, len(refs))
	for i, r := range refs {
		keys[i] = r.MinTime()
	}
	if slices.IsSorted(keys) {
		return
	}
	idx := make([]int32, len(refs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(keys[a], keys[b]) })
	tmp := slices.Clone(refs)
	for i, j := range idx {
		refs[i] = tmp[j]
	}
}

// colIndex returns the index in bm.cols of f's field in part p, or -1.
func (f *filter) colIndex(p *part, bm *blockMeta) int {
	if f.idPart != p {
		f.idPart, f.id = p, slices.Index(p.names, f.field)
	}
	if f.id < 0 {
		return -1
	}
	id := uint32(f.id)
	for k := range bm.cols {
		if bm.cols[k].name == id {
			return k
		}
	}
	return -1
}
