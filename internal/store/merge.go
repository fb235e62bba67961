package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// Merge merges the parts of every partition-day now, as if each were
// quiet (see Options.MergeQuietAfter): tiers of at least two parts of
// about one size (up to MergeMaxParts smallest at a time) are merged until
// none is left. The background maintainer merges by the same rules but
// waits for full tiers while rows still arrive (see ripeTier). Memory
// stays bounded: streams are merged one at a time, reading one block per
// input part, and the inputs' blocks fit in mergeBudgetRows.
func (s *Store) Merge(ctx context.Context) error { return s.merge(ctx, true) }

// merge runs merges until none is ripe; eager treats every
// partition-day as quiet.
func (s *Store) merge(ctx context.Context, eager bool) error {
	s.mergeMu.Lock()
	defer s.mergeMu.Unlock()
	for {
		in := s.pickMerge(eager)
		if in == nil {
			return nil
		}
		err := s.mergeParts(ctx, in)
		for _, p := range in {
			if rerr := p.release(); rerr != nil {
				s.log.Warn("release merged part", "err", rerr)
			}
		}
		if err != nil {
			return err
		}
	}
}

// pickMerge returns pinned input parts for one merge, or nil.
func (s *Store) pickMerge(eager bool) []*part {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	groups := map[partDay][]*part{}
	for _, p := range s.parts {
		if p.info.Rows > s.opts.MergeMaxRows && !p.cheap() {
			continue
		}
		k := partDay{p.info.Partition, p.info.Day}
		groups[k] = append(groups[k], p)
	}
	keys := make([]partDay, 0, len(groups))
	for k, g := range groups {
		if len(g) >= 2 || g[0].cheap() {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].day != keys[j].day {
			return keys[i].day < keys[j].day
		}
		return keys[i].partition < keys[j].partition
	})
	budget := mergeBudgetRows(s.opts)
	now := s.opts.Now()
	var g []*part
	for _, k := range keys {
		mode := mergeQuiet
		if !eager {
			mode = s.mergeModeLocked(k, now)
		}
		if g = s.ripeTier(groups[k], budget, mode); g != nil {
			break
		}
		// Idle or quiet: no cheap part stays; busy: cheap parts stay
		// under a bound (cheap_part.go).
		if g = cheapTier(groups[k], s.opts.MergeMaxParts, budget, mode == mergeBusy && !s.cheapAged(groups[k], now), s.opts.MergeMaxRows); g != nil {
			break
		}
	}
	if g == nil {
		return nil
	}
	sort.Slice(g, func(i, j int) bool { return g[i].info.Name < g[j].info.Name })
	for _, p := range g {
		if !p.acquire() {
			panic("BUG: live part already released")
		}
	}
	return g
}

// ripeTier returns the parts of one partition-day to merge now, or nil.
// A tier of at least MergeMinParts parts of about one size (pickTier) is
// merged while rows still arrive (mergeBusy) only once it is worth its
// rewrite: it holds MergeMaxRows rows (its output is final: not merged
// again), or it is as wide as a merge may be (MergeMaxParts, or the
// decoded-block budget). Waiting for a full tier is what keeps a burst's
// rows at two writes (flush, then a part of about MergeMaxRows) instead
// of three or four: a tier merged as soon as MergeMinParts flushes exist
// is merged again with its peers later. Once the store is idle (the
// burst is over) any tier of MergeMinParts merges. Once the
// partition-day is quiet, its last small parts (under an eighth of
// MergeMaxRows: the tail of a burst, a trickle's flushes) also merge in
// twos; larger ones stay, since rewriting them costs more than the part
// saves queries.
func (s *Store) ripeTier(g []*part, budget int64, mode mergeMode) []*part {
	sel := pickTier(g, s.opts.MergeMinParts, s.opts.MergeMaxParts, budget)
	if sel != nil && mode != mergeBusy {
		return sel
	}
	if sel != nil {
		if sumRows(sel) >= s.opts.MergeMaxRows || tierWidth(g, s.opts.MergeMaxParts, budget) < len(g) {
			return sel
		}
	}
	if mode == mergeQuiet {
		// g is sorted by rows (pickTier): the small parts come first.
		n := sort.Search(len(g), func(i int) bool { return g[i].info.Rows >= s.opts.MergeMaxRows/8 })
		return pickTier(g[:n], 2, s.opts.MergeMaxParts, budget)
	}
	return nil
}

// mergeBudgetRows bounds the rows a merge holds decoded at once (one
// block per input): the sum of its inputs' largest blocks. Flushes of
// many streams have small blocks (a few hundred rows each on 200 hosts),
// so a merge may take many of them in one go and write each row once
// more instead of two or three times; parts of full blocks are limited
// to as many inputs as before the budget (8, or MergeMinParts).
func mergeBudgetRows(o Options) int64 {
	return int64(max(8, o.MergeMinParts)) * int64(o.BlockRows)
}

// maxBlockRows is the row count of p's largest block.
func maxBlockRows(p *part) int64 {
	var n uint32
	for i := range p.blocks {
		n = max(n, p.blocks[i].rows)
	}
	return int64(n)
}

// tierWidth is how many of g's first parts one merge may take: at most
// maxParts, and as many as fit in budget rows of decoded blocks (at
// least two).
func tierWidth(g []*part, maxParts int, budget int64) int {
	n := min(len(g), maxParts)
	var used int64
	for i, p := range g[:n] {
		if used += maxBlockRows(p); used > budget && i >= 2 {
			return i
		}
	}
	return n
}

// pickTier picks the parts of one partition-day to merge, or nil: the
// smallest ones (at most maxParts, and as many as fit in budget rows of
// decoded blocks, see mergeBudgetRows), leaving out the largest while it
// would dominate the result. A part joins a merge only with parts that
// together are about its size, so each rewrite of a row multiplies the
// size of the part holding it and a row is rewritten about
// log_minParts(day's rows / flush rows) times, instead of once per few
// flushes when every small part was merged into the day's big one.
func pickTier(g []*part, minParts, maxParts int, budget int64) []*part {
	sort.Slice(g, func(i, j int) bool {
		if g[i].info.Rows != g[j].info.Rows {
			return g[i].info.Rows < g[j].info.Rows
		}
		return g[i].info.Name < g[j].info.Name
	})
	sel := g[:tierWidth(g, maxParts, budget)]
	for len(sel) >= minParts {
		var rest int64
		for _, p := range sel[:len(sel)-1] {
			rest += p.info.Rows
		}
		// The others hold at least (minParts-1)/1.5 times the largest's
		// rows: minParts parts of about one size qualify (with slack for
		// flushes of slightly different sizes), a big part waits for
		// enough smaller ones.
		if 2*sel[len(sel)-1].info.Rows*int64(minParts-1) <= 3*rest {
			return sel
		}
		sel = sel[:len(sel)-1]
	}
	return nil
}

// mergeParts writes one part holding every row of in and swaps it in.
func (s *Store) mergeParts(ctx context.Context, in []*part) error {
	start := time.Now()
	first := in[0].info
	name := partName(first.Partition, first.Day, s.man.nextID())
	inRows := sumRows(in)
	lv := mergeLevel(in, s.opts.MergeMaxRows, s.mergePeers(in, inRows), s.opts.MergeMinParts)
	w, err := createPart(filepath.Join(s.dir, partsDir, filepath.FromSlash(name)), first.Partition, first.Day, lv)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	w.fullRows = s.opts.BlockRows
	// Blocks of each stream, per input part, in time order.
	streams := map[streamKey][][]int{}
	for pi, p := range in {
		for bi := range p.blocks {
			sk := p.streams[p.blocks[bi].stream]
			lists := streams[sk]
			if lists == nil {
				lists = make([][]int, len(in))
				streams[sk] = lists
			}
			lists[pi] = append(lists[pi], bi)
		}
	}
	keys := make([]streamKey, 0, len(streams))
	for k := range streams {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].source != keys[j].source {
			return keys[i].source < keys[j].source
		}
		return keys[i].host < keys[j].host
	})
	// dropped[i]: the offset of input i up to which its read pages were
	// last given back (dropPages).
	dropped := make([]uint64, len(in))
	for _, sk := range keys {
		if err := ctx.Err(); err != nil {
			w.abort()
			return fmt.Errorf("merge: %w", err)
		}
		if err := s.mergeStream(w, in, sk, streams[sk], dropped); err != nil {
			w.abort()
			return fmt.Errorf("merge %s: %w", name, err)
		}
	}
	for i, p := range in {
		dropPagesTo(p, uint64(len(p.data)), &dropped[i], 0)
	}
	encoded := w.encoded
	info, err := w.finish()
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	s.m.rowsEncoded.Add(uint64(encoded))
	info.Name = name
	c := commit{Op: "merge", Add: []partInfo{info}}
	for _, p := range in {
		c.Remove = append(c.Remove, removal{Name: p.info.Name, Reason: "merge"})
	}
	if inRows != info.Rows {
		return fmt.Errorf("BUG: merge wrote %d rows from %d", info.Rows, inRows)
	}
	if err := s.commitParts(c, in, nil); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	s.m.merges.Add(1)
	s.m.mergedParts.Add(uint64(len(in)))
	s.log.Info("parts merged", "partition", first.Partition, "parts", len(in), "rows", info.Rows, "bytes", info.Size, "zstd_fast", lv == levelFast, "took", time.Since(start))
	return nil
}

// mergeLevel is the zstd level of a merge's output: the fast one for
// small outputs (under an eighth of maxRows), which are merged again
// soon, since their bytes are rewritten anyway; the higher one otherwise,
// unless the output is sure to be merged again at once: it stays
// mergeable (at most maxRows) and enough other parts of its
// partition-day about as big (peers, see mergePeers) wait to complete a
// tier of minParts with it, which is merged at the latest when the
// store goes idle (ripeTier). That merge writes at the higher level (its
// output is at least minParts times bigger). On the bench data the
// higher level costs ~1.5-2.6 µs per row more than the fast one for
// ~5-8% fewer bytes (BenchmarkWriteStreamBlocks). With merges that wait
// for full tiers (ripeTier), a burst's merges of flushes mostly write
// final parts (over maxRows) at the higher level. A lower bar for the output alone (half of maxRows)
// left 10M records at 71 bytes each after the harness's 5 minutes of
// settling, the big merges still running: parts that wait for their last
// merge must already be small. Full blocks are always written at the
// higher level (partWriter.fullRows), except their _raw chunks (see
// levelRawBetter).
func mergeLevel(in []*part, maxRows int64, peers, minParts int) level {
	rows := sumRows(in)
	if rows >= maxRows/8 && (rows > maxRows || peers < minParts-1) {
		return levelBetter
	}
	return levelFast
}

// sumRows is the number of rows of parts ps.
func sumRows(ps []*part) int64 {
	var n int64
	for _, p := range ps {
		n += p.info.Rows
	}
	return n
}

// mergePeers counts the mergeable parts of in's partition-day, in
// excluded, holding at least two thirds of rows rows: with minParts-1 of
// them, a part of rows rows is merged again at once (pickTier).
func (s *Store) mergePeers(in []*part, rows int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := in[0].info
	n := 0
	for _, p := range s.parts {
		i := p.info
		if i.Partition != first.Partition || i.Day != first.Day || i.Rows > s.opts.MergeMaxRows || 3*i.Rows < 2*rows || slices.Contains(in, p) {
			continue
		}
		n++
	}
	return n
}

// cursor walks one input part's blocks of a stream, one decoded block at
// a time.
type cursor struct {
	p      *part
	blocks []int
	// verbatim[i] says blocks[i] is copied as it is instead of decoded.
	verbatim []bool
	rows     []event.Event
	pos      int
}

// atVerbatim reports whether the cursor has used up its decoded rows and
// its next block is to be copied verbatim.
func (c *cursor) atVerbatim() bool {
	return c.pos >= len(c.rows) && len(c.blocks) > 0 && c.verbatim[0]
}

// next returns the time of the cursor's next row (of the next verbatim
// block's first row), and false when the cursor is done.
func (c *cursor) next() (int64, bool) {
	if c.atVerbatim() {
		return c.p.blocks[c.blocks[0]].minTime, true
	}
	if h := c.head(); h != nil {
		return h.Time, true
	}
	return 0, false
}

// markVerbatim marks the blocks merges may copy as they are: full blocks
// of the current part version (always compressed at levelBetter, see
// partWriter.fullRows) whose time range overlaps no block of another
// input, so that no row of another input has to go inside them.
func markVerbatim(cs []*cursor, fullRows int) {
	for _, c := range cs {
		c.verbatim = make([]bool, len(c.blocks))
		if c.p.version != partVersion {
			continue
		}
		for i, bi := range c.blocks {
			bm := &c.p.blocks[bi]
			if int(bm.rows) < fullRows {
				continue
			}
			c.verbatim[i] = !overlapsOthers(cs, c, bm.minTime, bm.maxTime)
		}
	}
}

func overlapsOthers(cs []*cursor, self *cursor, lo, hi int64) bool {
	for _, o := range cs {
		if o == self {
			continue
		}
		for _, bi := range o.blocks {
			if bm := &o.p.blocks[bi]; bm.minTime <= hi && bm.maxTime >= lo {
				return true
			}
		}
	}
	return false
}

func (c *cursor) head() *event.Event {
	if c.pos < len(c.rows) {
		return &c.rows[c.pos]
	}
	return nil
}

// fill decodes the next block when the current one is used up.
func (c *cursor) fill() error {
	for c.pos >= len(c.rows) && len(c.blocks) > 0 && !c.verbatim[0] {
		// What the merge writes gets new CRCs: the block's chunks are
		// checked now, even those a search checked before (chunkFresh).
		if err := c.p.checkBlockFresh(c.blocks[0]); err != nil {
			return err
		}
		if c.p.cheap() {
			evs, err := c.p.cheapEvents(c.blocks[0])
			if err != nil {
				return err
			}
			c.blocks, c.verbatim = c.blocks[1:], c.verbatim[1:]
			c.rows, c.pos = evs, 0
			continue
		}
		// Every stored column but the formatted _time (Times carries it).
		b, err := c.p.loadBlock(c.blocks[0], c.p.blockColumns(&c.p.blocks[c.blocks[0]])[1:])
		if err != nil {
			return err
		}
		c.blocks, c.verbatim = c.blocks[1:], c.verbatim[1:]
		c.rows, c.pos = b.Events(nil), 0
	}
	return nil
}

// mergeStream k-way merges the stream's rows of every input into blocks.
// Full blocks that no other input overlaps in time are copied as they are
// (the common case for streams that arrive in time order): the rows
// gathered before one are written first.
func (s *Store) mergeStream(w *partWriter, in []*part, sk streamKey, lists [][]int, dropped []uint64) error {
	cs := make([]*cursor, 0, len(in))
	for pi, l := range lists {
		if len(l) > 0 {
			cs = append(cs, &cursor{p: in[pi], blocks: l})
		}
	}
	markVerbatim(cs, s.opts.BlockRows)
	out := make([]*event.Event, 0, s.opts.BlockRows)
	size := 0
	for {
		// The cursor with the earliest next row (the first on ties), and
		// the time before which its rows come first: inputs mostly hold
		// disjoint time ranges, so whole runs of rows are taken from one
		// input without looking at the others (merges of many flushes).
		bi, si := -1, -1
		var bestT, second int64
		for i, c := range cs {
			if err := c.fill(); err != nil {
				return err
			}
			t, ok := c.next()
			switch {
			case !ok:
			case bi < 0:
				bi, bestT = i, t
			case t < bestT:
				second, si = bestT, bi
				bi, bestT = i, t
			case si < 0 || t < second:
				second, si = t, i
			}
		}
		if bi < 0 {
			break
		}
		c := cs[bi]
		if c.atVerbatim() {
			if err := w.writeBlock(sk.source, sk.host, out); err != nil {
				return err
			}
			out, size = out[:0], 0
			if err := w.copyBlock(c.p, c.blocks[0]); err != nil {
				return err
			}
			c.blocks, c.verbatim = c.blocks[1:], c.verbatim[1:]
			s.m.blocksCopied.Add(1)
			continue
		}
		// Rows of c before second's next (or at its time, when c comes
		// first) go out in a run; c's next block needs the outer loop.
		for c.pos < len(c.rows) {
			e := &c.rows[c.pos]
			if si >= 0 && (e.Time > second || e.Time == second && si < bi) {
				break
			}
			c.pos++
			out = append(out, e)
			size += len(e.Raw)
			if len(out) >= s.opts.BlockRows || size >= 4<<20 {
				if err := w.writeBlock(sk.source, sk.host, out); err != nil {
					return err
				}
				out, size = out[:0], 0
			}
		}
	}
	if err := w.writeBlock(sk.source, sk.host, out); err != nil {
		return err
	}
	for pi, l := range lists {
		dropPages(in[pi], l, &dropped[pi])
	}
	return nil
}

// dropPages lets the kernel take back the pages of p's mapping that a
// merge has read, from the file's start to the end of the given blocks
// (streams are merged in file order): they would otherwise count in the
// process's resident memory until the part is unmapped, so a merge of
// parts of hundreds of MiB would raise RSS by their size. The range
// starts at 0, not at the blocks' start, because the page cache holds
// files in large folios and a fault maps a whole folio again, including
// pages dropped before (seen on Linux 6.x: dropping each stream's own
// range left inputs fully resident). The pages stay in the page cache; a
// concurrent reader of the same blocks faults them in again (the mapping
// is shared and read-only, so MADV_DONTNEED loses nothing).
//
// *dropped is where the last drop of p ended: pages are dropped again
// only once the read end is dropStep past it. A merge of 32 flushes of
// 200 streams called madvise 6,400 times, each over the whole range
// read so far (~6% of the merge's CPU at 10M records, mostly page-table
// walks and TLB flushes); in steps it is a few calls per MiB of input,
// for at most dropStep more resident bytes per input.
func dropPages(p *part, blocks []int, dropped *uint64) {
	if p.path == "" || len(blocks) == 0 { // not a mapping (tests parse parts in memory)
		return
	}
	var hi uint64
	for _, bi := range blocks {
		bm := &p.blocks[bi]
		hi = max(hi, bm.timeCol.off+uint64(bm.timeCol.size), bm.bloomOff+uint64(bm.bloomLen))
		for _, c := range bm.cols {
			hi = max(hi, c.off+uint64(c.size))
		}
	}
	dropPagesTo(p, hi, dropped, dropStep)
}

// dropStep is how far past the last drop an input's read end must be
// before its pages are dropped again (dropPages).
const dropStep = 512 << 10

// dropPagesTo drops p's mapped pages below hi (rounded up to a page)
// when hi is at least step past *dropped, and records hi in *dropped.
func dropPagesTo(p *part, hi uint64, dropped *uint64, step uint64) {
	if p.path == "" {
		return
	}
	page := uint64(os.Getpagesize())
	hi = min(uint64(len(p.data)), (hi+page-1)&^(page-1))
	if hi == 0 || hi < *dropped+step || hi <= *dropped {
		return
	}
	*dropped = hi
	_ = syscall.Madvise(p.data[:hi], syscall.MADV_DONTNEED) // advice only: on failure the pages just stay
}
