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

// Merge merges the parts of each partition-day that has at least
// MergeMinParts parts (up to MergeMaxParts smallest at a time) until none
// has. Memory stays bounded: streams are merged one at a time, reading one
// block per input part.
func (s *Store) Merge(ctx context.Context) error {
	s.mergeMu.Lock()
	defer s.mergeMu.Unlock()
	for {
		in := s.pickMerge()
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
func (s *Store) pickMerge() []*part {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	groups := map[partDay][]*part{}
	for _, p := range s.parts {
		if p.info.Rows > s.opts.MergeMaxRows {
			continue
		}
		k := partDay{p.info.Partition, p.info.Day}
		groups[k] = append(groups[k], p)
	}
	keys := make([]partDay, 0, len(groups))
	for k, g := range groups {
		if len(g) >= s.opts.MergeMinParts {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].day != keys[j].day {
			return keys[i].day < keys[j].day
		}
		return keys[i].partition < keys[j].partition
	})
	var g []*part
	for _, k := range keys {
		if g = pickTier(groups[k], s.opts.MergeMinParts, s.opts.MergeMaxParts); g != nil {
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

// pickTier picks the parts of one partition-day to merge, or nil: the
// smallest ones (at most maxParts), leaving out the largest while it
// would dominate the result. A part joins a merge only with parts that
// together are about its size, so each rewrite of a row multiplies the
// size of the part holding it and a row is rewritten about
// log_minParts(day's rows / flush rows) times, instead of once per few
// flushes when every small part was merged into the day's big one.
func pickTier(g []*part, minParts, maxParts int) []*part {
	sort.Slice(g, func(i, j int) bool {
		if g[i].info.Rows != g[j].info.Rows {
			return g[i].info.Rows < g[j].info.Rows
		}
		return g[i].info.Name < g[j].info.Name
	})
	sel := g[:min(len(g), maxParts)]
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
	var rows int64
	for _, p := range in {
		rows += p.info.Rows
	}
	lv := mergeLevel(in, s.opts.MergeMaxRows, s.mergePeers(in, rows), s.opts.MergeMinParts)
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
	for _, sk := range keys {
		if err := ctx.Err(); err != nil {
			w.abort()
			return fmt.Errorf("merge: %w", err)
		}
		if err := s.mergeStream(w, in, sk, streams[sk]); err != nil {
			w.abort()
			return fmt.Errorf("merge %s: %w", name, err)
		}
	}
	info, err := w.finish()
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	info.Name = name
	c := commit{Op: "merge", Add: []partInfo{info}}
	var inRows int64
	for _, p := range in {
		c.Remove = append(c.Remove, removal{Name: p.info.Name, Reason: "merge"})
		inRows += p.info.Rows
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
// tier of minParts with it, which
// pickTier merges whether or not more rows arrive. That merge writes at
// the higher level (its output is at least minParts times bigger). On
// the bench data the higher level costs ~1.5-2.6 µs per row more than
// the fast one for ~5-8% fewer bytes (BenchmarkWriteStreamBlocks); at 10M
// records most merges of flushes find three earlier ones waiting for the
// merge of merges. A lower bar for the output alone (half of maxRows)
// left 10M records at 71 bytes each after the harness's 5 minutes of
// settling, the big merges still running: parts that wait for their last
// merge must already be small. Full blocks are always written at the
// higher level (partWriter.fullRows).
func mergeLevel(in []*part, maxRows int64, peers, minParts int) level {
	var rows int64
	for _, p := range in {
		rows += p.info.Rows
	}
	if rows >= maxRows/8 && (rows > maxRows || peers < minParts-1) {
		return levelBetter
	}
	return levelFast
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
func (s *Store) mergeStream(w *partWriter, in []*part, sk streamKey, lists [][]int) error {
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
		var best *cursor
		var bestT int64
		for _, c := range cs {
			if err := c.fill(); err != nil {
				return err
			}
			if t, ok := c.next(); ok && (best == nil || t < bestT) {
				best, bestT = c, t
			}
		}
		if best == nil {
			break
		}
		if best.atVerbatim() {
			if err := w.writeBlock(sk.source, sk.host, out); err != nil {
				return err
			}
			out, size = out[:0], 0
			if err := w.copyBlock(best.p, best.blocks[0]); err != nil {
				return err
			}
			best.blocks, best.verbatim = best.blocks[1:], best.verbatim[1:]
			s.m.blocksCopied.Add(1)
			continue
		}
		e := best.head()
		best.pos++
		out = append(out, e)
		size += len(e.Raw)
		if len(out) >= s.opts.BlockRows || size >= 4<<20 {
			if err := w.writeBlock(sk.source, sk.host, out); err != nil {
				return err
			}
			out, size = out[:0], 0
		}
	}
	if err := w.writeBlock(sk.source, sk.host, out); err != nil {
		return err
	}
	for pi, l := range lists {
		dropPages(in[pi], l)
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
func dropPages(p *part, blocks []int) {
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
	page := uint64(os.Getpagesize())
	hi = min(uint64(len(p.data)), (hi+page-1)&^(page-1))
	if hi == 0 {
		return
	}
	_ = syscall.Madvise(p.data[:hi], syscall.MADV_DONTNEED) // advice only: on failure the pages just stay
}
