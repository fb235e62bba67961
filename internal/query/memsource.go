package query

import (
	"context"
	"slices"
	"sort"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/token"
)

// MemSource is an in-memory store.Snapshot built from events: events are
// grouped by stream (partition, source, host) into blocks of at most
// BlockRows rows sorted by time, with exact token sets for pruning. It
// serves tests, live previews and small imports. It is read-only after
// NewMemSource and safe for concurrent use.
type MemSource struct {
	blocks []*memBlock
}

// MemOptions configures NewMemSource.
type MemOptions struct {
	// BlockRows is the maximum rows per block (0: 1024).
	BlockRows int
}

// NewMemSource builds a MemSource; events without a partition go to
// event.DefaultPartition.
func NewMemSource(events []event.Event, opts MemOptions) *MemSource {
	size := opts.BlockRows
	if size <= 0 {
		size = 1024
	}
	type key struct{ p, s, h string }
	streams := map[key][]event.Event{}
	var order []key
	for _, e := range events {
		if e.Partition == "" {
			e.Partition = event.DefaultPartition
		}
		k := key{e.Partition, e.Source, e.Host}
		if _, ok := streams[k]; !ok {
			order = append(order, k)
		}
		streams[k] = append(streams[k], e)
	}
	ms := &MemSource{}
	for _, k := range order {
		evs := streams[k]
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time < evs[j].Time })
		for len(evs) > 0 {
			n := min(size, len(evs))
			ms.blocks = append(ms.blocks, newMemBlock(evs[:n]))
			evs = evs[n:]
		}
	}
	return ms
}

// Release does nothing; MemSource holds no resources.
func (ms *MemSource) Release() {}

// Blocks returns the blocks that may match q.
func (ms *MemSource) Blocks(ctx context.Context, q store.Query) ([]store.BlockRef, store.Stats, error) {
	var st store.Stats
	var out []store.BlockRef
	for _, b := range ms.blocks {
		if err := ctx.Err(); err != nil {
			return nil, st, err
		}
		st.BlocksTotal++
		if !b.selected(&q) {
			st.BlocksSkipped++
			continue
		}
		st.BlocksScanned++
		out = append(out, b)
	}
	return out, st, nil
}

type memBlock struct {
	blk     store.Block
	cols    []string
	tokens  map[string]map[string]bool // column -> tokens
	values  map[string]map[string]bool // column -> exact values
	minutes []store.MinuteCount
}

func newMemBlock(evs []event.Event) *memBlock {
	mb := &memBlock{tokens: map[string]map[string]bool{}, values: map[string]map[string]bool{}}
	b := &mb.blk
	b.Partition, b.Source, b.Host = evs[0].Partition, evs[0].Source, evs[0].Host
	colIdx := map[string]int{}
	addCol := func(name string) int {
		if i, ok := colIdx[name]; ok {
			return i
		}
		colIdx[name] = len(b.Cols)
		b.Cols = append(b.Cols, store.Column{Name: name, Values: make([]string, len(evs)), Absent: make([]bool, len(evs))})
		for i := range b.Cols[len(b.Cols)-1].Absent {
			b.Cols[len(b.Cols)-1].Absent[i] = true
		}
		return len(b.Cols) - 1
	}
	set := func(name string, row int, v string) {
		c := &b.Cols[addCol(name)]
		c.Values[row], c.Absent[row] = v, false
		if mb.tokens[name] == nil {
			mb.tokens[name], mb.values[name] = map[string]bool{}, map[string]bool{}
		}
		mb.values[name][v] = true
		token.Each(v, nil, func(t []byte) { mb.tokens[name][string(t)] = true })
	}
	addCol(event.FieldRaw)
	addCol(event.FieldCategory)
	for i, e := range evs {
		b.Times = append(b.Times, e.Time)
		set(event.FieldRaw, i, e.Raw)
		if e.Category != "" {
			set(event.FieldCategory, i, e.Category)
		}
		if e.Received != 0 {
			set(event.FieldReceived, i, event.FormatTime(e.Received))
		}
		for _, f := range e.Fields {
			if c := colIdx[f.Name]; c < len(b.Cols) && b.Cols[c].Name == f.Name && !b.Cols[c].Absent[i] {
				continue // a repeated name: the first wins, as in Event.Get
			}
			set(f.Name, i, f.Value)
		}
		m := e.Time - ((e.Time%60e9)+60e9)%60e9
		if n := len(mb.minutes); n > 0 && mb.minutes[n-1].Minute == m {
			mb.minutes[n-1].Count++
		} else {
			mb.minutes = append(mb.minutes, store.MinuteCount{Minute: m, Count: 1})
		}
	}
	for i := range b.Cols {
		mb.cols = append(mb.cols, b.Cols[i].Name)
		if !slices.Contains(b.Cols[i].Absent, true) {
			b.Cols[i].Absent = nil
		}
	}
	return mb
}

func (mb *memBlock) selected(q *store.Query) bool {
	b := &mb.blk
	if q.MinTime != 0 && b.Times[len(b.Times)-1] < q.MinTime {
		return false
	}
	if q.MaxTime != 0 && b.Times[0] >= q.MaxTime {
		return false
	}
	if q.Partitions != nil && !slices.Contains(q.Partitions, b.Partition) {
		return false
	}
	if q.Partitions == nil && len(b.Partition) > 0 && b.Partition[0] == '_' {
		return false
	}
	if q.Sources != nil && !slices.Contains(q.Sources, b.Source) {
		return false
	}
	if q.Hosts != nil && !slices.Contains(q.Hosts, b.Host) {
		return false
	}
	return q.Filter == nil || mb.possible(q.Filter)
}

func (mb *memBlock) possible(f *store.Filter) bool {
	switch f.Op {
	case store.FilterToken:
		if f.Field != "" {
			return mb.tokens[f.Field][f.Token]
		}
		for _, toks := range mb.tokens {
			if toks[f.Token] {
				return true
			}
		}
		return false
	case store.FilterEqual:
		switch f.Field {
		case event.FieldSource:
			return mb.blk.Source == f.Value
		case event.FieldHost:
			return mb.blk.Host == f.Value
		case event.FieldPartition:
			return mb.blk.Partition == f.Value
		}
		return mb.values[f.Field][f.Value]
	case store.FilterAnd:
		for _, k := range f.Kids {
			if !mb.possible(k) {
				return false
			}
		}
		return true
	case store.FilterOr:
		for _, k := range f.Kids {
			if mb.possible(k) {
				return true
			}
		}
		return false
	}
	return true
}

func (mb *memBlock) Partition() string                 { return mb.blk.Partition }
func (mb *memBlock) Source() string                    { return mb.blk.Source }
func (mb *memBlock) Host() string                      { return mb.blk.Host }
func (mb *memBlock) MinTime() int64                    { return mb.blk.Times[0] }
func (mb *memBlock) MaxTime() int64                    { return mb.blk.Times[len(mb.blk.Times)-1] }
func (mb *memBlock) Rows() int                         { return len(mb.blk.Times) }
func (mb *memBlock) Columns() []string                 { return mb.cols }
func (mb *memBlock) MinuteCounts() []store.MinuteCount { return mb.minutes }

// Load returns the named columns (nil: all); the slices are shared and
// must not be modified.
func (mb *memBlock) Load(cols []string) (*store.Block, error) {
	b := &store.Block{Partition: mb.blk.Partition, Source: mb.blk.Source, Host: mb.blk.Host, Times: mb.blk.Times}
	if cols == nil {
		b.Cols = append([]store.Column(nil), mb.blk.Cols...)
		return b, nil
	}
	for _, n := range cols {
		if c := mb.blk.Column(n); c != nil {
			b.Cols = append(b.Cols, *c)
		} else {
			b.Cols = append(b.Cols, store.Column{Name: n, Values: make([]string, len(b.Times)), Absent: allTrue(len(b.Times))})
		}
	}
	return b, nil
}

func allTrue(n int) []bool {
	a := make([]bool, n)
	for i := range a {
		a[i] = true
	}
	return a
}
