package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
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
	if len(keys) == 0 {
		return nil
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].day != keys[j].day {
			return keys[i].day < keys[j].day
		}
		return keys[i].partition < keys[j].partition
	})
	g := groups[keys[0]]
	sort.Slice(g, func(i, j int) bool { return g[i].info.Size < g[j].info.Size })
	if len(g) > s.opts.MergeMaxParts {
		g = g[:s.opts.MergeMaxParts]
	}
	sort.Slice(g, func(i, j int) bool { return g[i].info.Name < g[j].info.Name })
	for _, p := range g {
		if !p.acquire() {
			panic("BUG: live part already released")
		}
	}
	return g
}

// mergeParts writes one part holding every row of in and swaps it in.
func (s *Store) mergeParts(ctx context.Context, in []*part) error {
	start := time.Now()
	first := in[0].info
	name := partName(first.Partition, first.Day, s.man.nextID())
	w, err := createPart(filepath.Join(s.dir, partsDir, filepath.FromSlash(name)), first.Partition, first.Day, levelBetter)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
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
	s.log.Info("parts merged", "partition", first.Partition, "parts", len(in), "rows", info.Rows, "bytes", info.Size, "took", time.Since(start))
	return nil
}

// cursor walks one input part's blocks of a stream, one decoded block at
// a time.
type cursor struct {
	p      *part
	blocks []int
	rows   []event.Event
	pos    int
}

func (c *cursor) head() *event.Event {
	if c.pos < len(c.rows) {
		return &c.rows[c.pos]
	}
	return nil
}

// fill decodes the next block when the current one is used up.
func (c *cursor) fill() error {
	for c.pos >= len(c.rows) && len(c.blocks) > 0 {
		// Every stored column but the formatted _time (Times carries it).
		b, err := c.p.loadBlock(c.blocks[0], c.p.blockColumns(&c.p.blocks[c.blocks[0]])[1:])
		if err != nil {
			return err
		}
		c.blocks = c.blocks[1:]
		c.rows, c.pos = blockEvents(b), 0
	}
	return nil
}

// blockEvents turns a decoded block back into events.
func blockEvents(b *Block) []event.Event {
	evs := make([]event.Event, len(b.Times))
	nf := 0
	for _, c := range b.Cols {
		if !isReservedColumn(c.Name) {
			nf++
		}
	}
	fields := make([]event.Field, 0, nf*len(evs))
	for i := range evs {
		e := &evs[i]
		e.Time, e.Source, e.Host, e.Partition = b.Times[i], b.Source, b.Host, b.Partition
		start := len(fields)
		for _, c := range b.Cols {
			if !c.Has(i) {
				continue
			}
			switch c.Name {
			case event.FieldTime, event.FieldSource, event.FieldHost, event.FieldPartition:
			case event.FieldRaw:
				e.Raw = c.Values[i]
			case event.FieldCategory:
				e.Category = c.Values[i]
			case event.FieldReceived:
				e.Received, _ = strconv.ParseInt(c.Values[i], 10, 64) // written by us as a canonical int
			default:
				fields = append(fields, event.Field{Name: c.Name, Value: c.Values[i]})
			}
		}
		e.Fields = fields[start:len(fields):len(fields)]
	}
	return evs
}

// mergeStream k-way merges the stream's rows of every input into blocks.
func (s *Store) mergeStream(w *partWriter, in []*part, sk streamKey, lists [][]int) error {
	cs := make([]*cursor, 0, len(in))
	for pi, l := range lists {
		if len(l) > 0 {
			cs = append(cs, &cursor{p: in[pi], blocks: l})
		}
	}
	out := make([]*event.Event, 0, s.opts.BlockRows)
	size := 0
	for {
		var best *cursor
		for _, c := range cs {
			if err := c.fill(); err != nil {
				return err
			}
			if h := c.head(); h != nil && (best == nil || h.Time < best.head().Time) {
				best = c
			}
		}
		if best == nil {
			break
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
	return w.writeBlock(sk.source, sk.host, out)
}
