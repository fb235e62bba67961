package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"weak"
)

// Part sums: aggregations that read no row (a count, a count by minute, a
// count by one field) over a search that keeps every row are answered,
// for the parts lying wholly inside the time range, from per-part sums
// instead of block by block: the rows, the minute counts and the rows by
// value of a column stored as a constant or a dictionary in every block.
// A part is immutable, so its sums never go stale; they are built on
// first use (from the same block metadata and columns the block-by-block
// way reads) and kept in a bounded cache keyed by the part object (a
// merged or deleted part's entries are never hit again and are pruned
// once the part is collected, or evicted first-in first-out under the
// cache's bound).

// SumOptions says what BlocksSummed sums over the parts it answers.
type SumOptions struct {
	// Column, when not empty, is counted by value (PartsSum.EachValue)
	// over the blocks that store it as a constant or a dictionary, or
	// lack it; the part's other blocks are listed.
	Column string
	// Minutes: the per-minute row counts are summed (PartsSum.Minutes)
	// over the blocks whose minute counts add up to their rows; the
	// part's other blocks are listed. Not with Column.
	Minutes bool
}

// PartsSum is what BlocksSummed counted over whole parts.
type PartsSum struct {
	Rows             int64
	MinTime, MaxTime int64    // of the summed rows (inclusive)
	Partitions       []string // of the summed parts, distinct
	Parts, Blocks    int
	// Minutes holds the summed per-minute counts, ascending (SumOptions.Minutes).
	Minutes []MinuteCount
	values  *mergedSum
}

// EachValue calls fn with each value of SumOptions.Column and its rows,
// once each, in ascending byte order; rows without the field are not
// counted. The strings are the cache's, immutable: fn may keep them.
func (s *PartsSum) EachValue(fn func(v string, n int64) error) error {
	if s.values == nil {
		return nil
	}
	for k, v := range s.values.vals {
		if err := fn(v, s.values.counts[k]); err != nil {
			return err
		}
	}
	return nil
}

// mergedSum is the value counts of a column over a list of parts (the
// summed parts of a BlocksSummed call), remembered for the next call over
// the same parts: most queries see the same parts as the last one.
type mergedSum struct {
	col    string
	parts  []weak.Pointer[part]
	vals   []string // ascending
	counts []int64
}

// mergedMemo keeps the last few mergedSums (most recent first), each of
// at most maxMergedValues values.
var mergedMemo struct {
	mu   sync.Mutex
	list []*mergedSum
}

const (
	maxMerged       = 8
	maxMergedValues = 1 << 14
)

// mergeValues returns the value counts of col over parts (whose sums are
// sums, in the same order).
func mergeValues(col string, parts []*part, sums []*partSum) *mergedSum {
	same := func(m *mergedSum) bool {
		if m.col != col || len(m.parts) != len(parts) {
			return false
		}
		for i, p := range parts {
			if m.parts[i].Value() != p {
				return false
			}
		}
		return true
	}
	mergedMemo.mu.Lock()
	for i, m := range mergedMemo.list {
		if same(m) {
			copy(mergedMemo.list[1:i+1], mergedMemo.list[:i])
			mergedMemo.list[0] = m
			mergedMemo.mu.Unlock()
			return m
		}
	}
	mergedMemo.mu.Unlock()
	m := &mergedSum{col: col}
	idx := map[string]int{}
	for _, ps := range sums {
		for k, v := range ps.vals {
			j, ok := idx[v]
			if !ok {
				j = len(m.vals)
				idx[v] = j
				m.vals = append(m.vals, v)
				m.counts = append(m.counts, 0)
			}
			m.counts[j] += ps.counts[k]
		}
	}
	order := make([]int, len(m.vals))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(m.vals[a], m.vals[b]) })
	vals, counts := make([]string, len(order)), make([]int64, len(order))
	for i, j := range order {
		vals[i], counts[i] = m.vals[j], m.counts[j]
	}
	m.vals, m.counts = vals, counts
	if len(m.vals) <= maxMergedValues {
		for _, p := range parts {
			m.parts = append(m.parts, weak.Make(p))
		}
		mergedMemo.mu.Lock()
		mergedMemo.list = append([]*mergedSum{m}, mergedMemo.list[:min(len(mergedMemo.list), maxMerged-1)]...)
		mergedMemo.mu.Unlock()
	}
	return m
}

// BlockSummer is implemented by the embedded store's snapshots (type-assert
// a Snapshot for it).
type BlockSummer interface {
	// BlocksSummed is Blocks for an aggregation that reads no value of
	// the rows but o.Column's, over a search that keeps every row: q
	// must have no Sources, Hosts or Filter (else it is Blocks, with a
	// nil sum). The blocks of the parts lying wholly inside q's time
	// range that can be summed as o asks are counted in the returned sum
	// (nil when none) instead of being listed; the other blocks are
	// returned as Blocks returns them, in order of their first time.
	BlocksSummed(ctx context.Context, q Query, o SumOptions) ([]BlockRef, *PartsSum, Stats, error)
}

// BlocksSummed implements BlockSummer.
func (sn *snapshot) BlocksSummed(ctx context.Context, q Query, o SumOptions) ([]BlockRef, *PartsSum, Stats, error) {
	if q.Sources != nil || q.Hosts != nil || q.Filter != nil || (o.Column != "" && o.Minutes) {
		refs, st, err := sn.Blocks(ctx, q)
		return refs, nil, st, err
	}
	var (
		sum     PartsSum
		rest    []*part
		minutes [][]MinuteCount
		summed  []*part
		vsums   []*partSum
		extra   []BlockRef // the summed parts' blocks left to list
		blocks  int        // of the summed parts
	)
	for _, p := range sn.parts {
		if p.cheap() || len(p.blocks) == 0 || !q.wantPartition(p.info.Partition) || !q.overlaps(p.info.MinTime, p.info.MaxTime) {
			rest = append(rest, p) // listed (and counted as skipped) the usual way
			continue
		}
		base, err := sumCache.get(ctx, p, sumBase)
		if err != nil {
			return nil, nil, Stats{}, err
		}
		if (q.MinTime != 0 && base.minT < q.MinTime) || (q.MaxTime != 0 && base.maxT >= q.MaxTime) {
			rest = append(rest, p)
			continue
		}
		ps := base
		switch {
		case o.Column != "":
			ps, err = sumCache.get(ctx, p, o.Column)
		case o.Minutes:
			ps, err = sumCache.get(ctx, p, sumMinutes)
		}
		if err != nil {
			return nil, nil, Stats{}, err
		}
		if !ps.ok || len(ps.plain) == len(p.blocks) {
			rest = append(rest, p)
			continue
		}
		if sum.Parts == 0 || base.minT < sum.MinTime {
			sum.MinTime = base.minT
		}
		if sum.Parts == 0 || base.maxT > sum.MaxTime {
			sum.MaxTime = base.maxT
		}
		sum.Parts++
		sum.Blocks += len(p.blocks) - len(ps.plain)
		blocks += len(p.blocks)
		sum.Rows += ps.rows
		for _, i := range ps.plain {
			extra = append(extra, &partRef{p: p, i: int(i)})
		}
		if !slices.Contains(sum.Partitions, p.info.Partition) {
			sum.Partitions = append(sum.Partitions, p.info.Partition)
		}
		switch {
		case o.Column != "":
			summed, vsums = append(summed, p), append(vsums, ps)
		case o.Minutes:
			minutes = append(minutes, ps.minutes)
		}
	}
	if sum.Parts == 0 {
		refs, st, err := sn.Blocks(ctx, q)
		return refs, nil, st, err
	}
	sum.Minutes = mergeMinutes(minutes)
	if o.Column != "" {
		sum.values = mergeValues(o.Column, summed, vsums)
	}
	r := &snapshot{parts: rest, mem: sn.mem, log: sn.log}
	refs, st, err := r.Blocks(ctx, q)
	if err != nil {
		return nil, nil, st, err
	}
	if len(extra) > 0 {
		refs = append(refs, extra...)
		sortByMinTime(refs)
	}
	st.PartsTotal += sum.Parts
	st.PartsScanned += sum.Parts
	st.BlocksTotal += blocks
	st.BlocksScanned += blocks
	return refs, &sum, st, nil
}

// mergeMinutes adds ascending minute lists into one.
func mergeMinutes(lists [][]MinuteCount) []MinuteCount {
	var out []MinuteCount
	for _, l := range lists {
		if out == nil {
			out = slices.Clone(l)
			continue
		}
		m := make([]MinuteCount, 0, len(out)+len(l))
		i, j := 0, 0
		for i < len(out) && j < len(l) {
			switch a, b := out[i], l[j]; {
			case a.Minute < b.Minute:
				m = append(m, a)
				i++
			case a.Minute > b.Minute:
				m = append(m, b)
				j++
			default:
				m = append(m, MinuteCount{Minute: a.Minute, Count: a.Count + b.Count})
				i++
				j++
			}
		}
		m = append(m, out[i:]...)
		out = append(m, l[j:]...)
	}
	return out
}

// The keys of a part's sums besides column names (which never hold a
// NUL byte).
const (
	sumBase    = "\x00base"
	sumMinutes = "\x00minutes"
)

// partSum is one cached sum of a part.
type partSum struct {
	ok         bool    // false: the part cannot be summed so
	rows       int64   // of the summed blocks
	plain      []int32 // the blocks left out of the sum, ascending
	minT, maxT int64
	vals       []string
	counts     []int64
	minutes    []MinuteCount
	bytes      int64 // the memory it holds, about
}

// maxSumValues bounds the distinct values of one part's column sum; a
// column with more is not summed (the blocks are counted one by one, as
// without sums).
const maxSumValues = 1 << 14

// sumBlocks makes a part's sum of key (sumBase, sumMinutes or a column
// name). A block that cannot be summed so (a column stored otherwise, or
// a damaged chunk, which the block-by-block way then reports) is left
// out, in plain.
func (p *part) sumBlocks(ctx context.Context, key string) (*partSum, error) {
	s := &partSum{ok: true}
	switch key {
	case sumBase:
		for i := range p.blocks {
			bm := &p.blocks[i]
			if i == 0 || bm.minTime < s.minT {
				s.minT = bm.minTime
			}
			if i == 0 || bm.maxTime > s.maxT {
				s.maxT = bm.maxTime
			}
			s.rows += int64(bm.rows)
		}
	case sumMinutes:
		m := map[int64]int{}
		for i := range p.blocks {
			bm := &p.blocks[i]
			total := 0
			for _, mc := range bm.minutes {
				total += mc.Count
			}
			if total != int(bm.rows) {
				s.plain = append(s.plain, int32(i)) // #nosec G115 -- a part has fewer than 2^31 blocks
				continue
			}
			for _, mc := range bm.minutes {
				m[mc.Minute] += mc.Count
			}
			s.rows += int64(bm.rows)
		}
		s.minutes = make([]MinuteCount, 0, len(m))
		for k, n := range m {
			s.minutes = append(s.minutes, MinuteCount{Minute: k, Count: n})
		}
		slices.SortFunc(s.minutes, func(a, b MinuteCount) int { return cmp.Compare(a.Minute, b.Minute) })
		s.bytes = int64(len(s.minutes))*16 + int64(len(s.plain))*4
	default:
		var (
			buf    DictBuf
			idx    = map[string]int{}
			counts []int64
		)
		for i := range p.blocks {
			if i%64 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, fmt.Errorf("sum part: %w", err)
				}
			}
			rows := int(p.blocks[i].rows)
			dc, err := p.loadDictTo(i, key, &buf)
			if err != nil || dc == nil || len(dc.Dict) > maxSumValues || (dc.Codes != nil && len(dc.Codes) != rows) {
				s.plain = append(s.plain, int32(i)) // #nosec G115 -- a part has fewer than 2^31 blocks
				s.bytes += 4
				continue
			}
			s.rows += int64(rows)
			if dc.Codes == nil {
				if len(dc.Dict) == 1 {
					s.add(idx, dc.Dict[0], int64(rows))
				}
				continue
			}
			counts = slices.Grow(counts[:0], len(dc.Dict)+1)[:len(dc.Dict)+1]
			clear(counts)
			for _, c := range dc.Codes {
				if int(c) < len(counts) {
					counts[c]++
				}
			}
			for c := 1; c < len(counts); c++ {
				if counts[c] > 0 {
					s.add(idx, dc.Dict[c-1], counts[c])
				}
			}
			if len(s.vals) > maxSumValues {
				return &partSum{}, nil // too many values to keep: block by block
			}
		}
	}
	return s, nil
}

// add counts n rows of value v (idx: position by value).
func (s *partSum) add(idx map[string]int, v string, n int64) {
	k, ok := idx[v]
	if !ok {
		v = strings.Clone(v) // v may be a view of a reused buffer
		k = len(s.vals)
		idx[v] = k
		s.vals = append(s.vals, v)
		s.counts = append(s.counts, 0)
		s.bytes += int64(len(v)) + 16 + 8
	}
	s.counts[k] += n
}

// sumKey names a cached sum: the part (weakly: the cache does not keep a
// part alive) and what is summed.
type sumKey struct {
	p   weak.Pointer[part]
	key string
}

type sumEntry struct {
	once sync.Once
	done bool // s or err is set (guarded by partSums.mu)
	s    *partSum
	err  error
}

// sumCacheMax bounds the memory the cached sums hold, about, and
// sumCacheEntries their number (variables for tests).
var (
	sumCacheMax     int64 = 32 << 20
	sumCacheEntries       = 4096
)

// partSums is the cache of part sums: bounded, first in first out.
type partSums struct {
	mu    sync.Mutex // guards m, order, bytes and the entries' done
	m     map[sumKey]*sumEntry
	order []sumKey // insertion order, for eviction
	bytes int64

	hits, misses, evictions atomic.Uint64
}

var sumCache = &partSums{m: map[sumKey]*sumEntry{}}

// get returns the sum key of p, building it on first use.
func (c *partSums) get(ctx context.Context, p *part, key string) (*partSum, error) {
	k := sumKey{p: weak.Make(p), key: key}
	for {
		c.mu.Lock()
		e, ok := c.m[k]
		if !ok {
			e = &sumEntry{}
			c.m[k] = e
			c.order = append(c.order, k)
		}
		c.mu.Unlock()
		if ok {
			c.hits.Add(1)
		} else {
			c.misses.Add(1)
		}
		e.once.Do(func() {
			s, err := p.sumBlocks(ctx, key)
			c.mu.Lock()
			defer c.mu.Unlock()
			e.s, e.err, e.done = s, err, true
			if err != nil {
				// Not a property of the part (the query was canceled):
				// the next use builds it again.
				c.drop(k, e)
				return
			}
			c.bytes += s.bytes + 64
			c.evict(k)
		})
		if e.err == nil {
			return e.s, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sum part: %w", err)
		}
		// Another query's build was canceled (and its entry dropped):
		// build it for this one.
	}
}

// drop removes key k's entry e. c.mu is held.
func (c *partSums) drop(k sumKey, e *sumEntry) {
	if c.m[k] != e {
		return
	}
	delete(c.m, k)
	if i := slices.Index(c.order, k); i >= 0 {
		c.order = slices.Delete(c.order, i, i+1)
	}
	if e.s != nil {
		c.bytes -= e.s.bytes + 64
	}
}

// evict drops the entries of collected parts, then the oldest entries
// (but keep) until the cache is within its bounds. c.mu is held.
func (c *partSums) evict(keep sumKey) {
	over := func() bool { return c.bytes > sumCacheMax || len(c.order) > sumCacheEntries }
	if !over() {
		return
	}
	for _, k := range slices.Clone(c.order) {
		if k.p.Value() == nil {
			c.dropDone(k)
		}
	}
	for i := 0; i < len(c.order) && over(); {
		if k := c.order[i]; k == keep || !c.dropDone(k) {
			i++
			continue
		}
		c.evictions.Add(1)
	}
}

// dropDone drops k's entry when it is built (one being built is
// accounted when done). c.mu is held.
func (c *partSums) dropDone(k sumKey) bool {
	e := c.m[k]
	if e == nil || !e.done {
		return false
	}
	c.drop(k, e)
	return true
}

// SumCacheMetrics describe the part sums' cache (BlockSummer).
type SumCacheMetrics struct {
	Entries                 int
	Bytes                   int64
	Hits, Misses, Evictions uint64
}

// SumCacheStats returns the part sums' cache counters, for /metrics.
func SumCacheStats() SumCacheMetrics {
	c := sumCache
	c.mu.Lock()
	m := SumCacheMetrics{Entries: len(c.m), Bytes: c.bytes}
	c.mu.Unlock()
	m.Hits, m.Misses, m.Evictions = c.hits.Load(), c.misses.Load(), c.evictions.Load()
	return m
}
