package store

import (
	"context"
	"slices"
	"sync"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// snapshot pins the parts and freezes the in-memory chunks that existed
// when it was taken.
type snapshot struct {
	parts []*part
	mem   []*memRef
	once  sync.Once
	log   func(err error)
}

// Snapshot returns a consistent view: the live parts (pinned against
// deletion until Release) and the acknowledged in-memory events.
func (s *Store) Snapshot() Snapshot {
	sn := &snapshot{log: func(err error) { s.log.Warn("snapshot release", "err", err) }}
	s.mu.Lock()
	for _, p := range s.parts {
		if p.acquire() {
			sn.parts = append(sn.parts, p)
		}
	}
	if !s.closed {
		sn.mem = s.mem.refs(sn.mem)
		for _, mt := range s.flushing {
			sn.mem = mt.refs(sn.mem)
		}
	}
	s.mu.Unlock()
	return sn
}

func (sn *snapshot) Release() {
	sn.once.Do(func() {
		for _, p := range sn.parts {
			if err := p.release(); err != nil {
				sn.log(err)
			}
		}
	})
}

// Blocks returns the blocks that may match q, in order of their first
// time. The parts' blocks are checked on several goroutines when they
// are many (blocks_list.go).
func (sn *snapshot) Blocks(ctx context.Context, q Query) ([]BlockRef, Stats, error) {
	st, out, err := sn.partBlocks(ctx, &q)
	if err != nil {
		return nil, st, err
	}
	f := compileFilter(q.Filter)
	for _, r := range sn.mem {
		st.BlocksTotal++
		if !q.wantPartition(r.key.partition) || !q.overlaps(r.minTime, r.maxTime) ||
			!q.wantStream(r.key.source, r.key.host) || !f.memBlock(r) {
			st.BlocksSkipped++
			continue
		}
		out = append(out, r)
	}
	st.BlocksScanned = len(out)
	sortByMinTime(out)
	return out, st, nil
}

func (q *Query) overlaps(minT, maxT int64) bool {
	if q.MinTime != 0 && maxT < q.MinTime {
		return false
	}
	if q.MaxTime != 0 && minT >= q.MaxTime {
		return false
	}
	return true
}

func (q *Query) wantPartition(p string) bool {
	if q.Partitions == nil {
		return len(p) == 0 || p[0] != '_'
	}
	return slices.Contains(q.Partitions, p)
}

func (q *Query) wantStream(source, host string) bool {
	if q.Sources != nil && !slices.Contains(q.Sources, source) {
		return false
	}
	if q.Hosts != nil && !slices.Contains(q.Hosts, host) {
		return false
	}
	return true
}

// partRef is a block of a part.
type partRef struct {
	p  *part
	i  int
	bb *BlockBodies // nil, or the caller's (BodyKeeper)
}

func (r *partRef) bm() *blockMeta              { return &r.p.blocks[r.i] }
func (r *partRef) Partition() string           { return r.p.info.Partition }
func (r *partRef) Source() string              { return r.p.streams[r.bm().stream].source }
func (r *partRef) Host() string                { return r.p.streams[r.bm().stream].host }
func (r *partRef) MinTime() int64              { return r.bm().minTime }
func (r *partRef) MaxTime() int64              { return r.bm().maxTime }
func (r *partRef) Rows() int                   { return int(r.bm().rows) }
func (r *partRef) Columns() []string           { return r.p.blockColumns(r.bm()) }
func (r *partRef) MinuteCounts() []MinuteCount { return r.bm().minutes }
func (r *partRef) Load(cols []string) (*Block, error) {
	return r.p.loadBlock(r.i, cols)
}

// LoadWith implements ColumnLoader.
func (r *partRef) LoadWith(cols []string, o LoadOptions) (*Block, error) {
	return r.p.loadBlockBodies(r.i, cols, o, r.bb)
}

// LoadDict implements ColumnLoader.
func (r *partRef) LoadDict(name string) (*DictColumn, error) {
	return r.p.loadDict(r.i, name)
}

// filter is a compiled Filter: token hashes computed once per query.
type filter struct {
	op     FilterOp
	field  string
	value  string
	hashes []uint64  // FilterToken: the token; FilterEqual: the value's tokens, longest first
	kids   []*filter // FilterAnd: kids of longer tokens first
	// longest is the length of the longest token of a FilterToken or
	// FilterEqual (0 for the others), the order of FilterAnd's kids.
	longest int
	// idPart and id cache the index of field in idPart's names (-1: the
	// part has no such column), so blocks compare numbers, not names.
	// A filter is used by one goroutine at a time.
	idPart *part
	id     int
}

func compileFilter(f *Filter) *filter {
	if f == nil {
		return &filter{op: FilterAll}
	}
	c := &filter{op: f.Op, field: f.Field, value: f.Value}
	switch f.Op {
	case FilterToken:
		c.hashes = []uint64{hashString(f.Token)}
		c.longest = len(f.Token)
	case FilterEqual:
		// The longest tokens first: they are the rarest, so a block
		// without the value fails on its first probes.
		type tok struct {
			n int
			h uint64
		}
		var toks []tok
		token.Each(f.Value, nil, func(t []byte) { toks = append(toks, tok{len(t), hashToken(t)}) })
		slices.SortStableFunc(toks, func(a, b tok) int { return b.n - a.n })
		for _, t := range toks {
			c.hashes = append(c.hashes, t.h)
			c.longest = max(c.longest, t.n)
		}
	case FilterAnd, FilterOr:
		for _, k := range f.Kids {
			c.kids = append(c.kids, compileFilter(k))
		}
		if f.Op == FilterAnd {
			// The kids of the longest tokens first (as for FilterEqual).
			slices.SortStableFunc(c.kids, func(a, b *filter) int { return b.longest - a.longest })
		}
	}
	return c
}

// partBlock reports whether block i of p may match.
func (f *filter) partBlock(p *part, i int) bool {
	switch f.op {
	case FilterAnd:
		for _, k := range f.kids {
			if !k.partBlock(p, i) {
				return false
			}
		}
		return true
	case FilterOr:
		for _, k := range f.kids {
			if k.partBlock(p, i) {
				return true
			}
		}
		return len(f.kids) == 0
	case FilterToken:
		return f.tokenMay(p, i)
	case FilterEqual:
		return f.equalMay(p, i)
	}
	return true
}

func (f *filter) tokenMay(p *part, i int) bool {
	bm := &p.blocks[i]
	h := f.hashes[0]
	switch f.field {
	case "":
		return p.streamTokens[bm.stream][h] || bloomHas(p.bloom(i), h)
	case event.FieldSource, event.FieldHost:
		return p.streamTokens[bm.stream][h]
	case event.FieldPartition:
		found := false
		tokenHashes(p.info.Partition, nil, func(x uint64) { found = found || x == h })
		return found
	case event.FieldTime, event.FieldReceived:
		return true
	}
	if f.colIndex(p, bm) < 0 {
		return false
	}
	return bloomHas(p.bloom(i), h)
}

func (f *filter) equalMay(p *part, i int) bool {
	bm := &p.blocks[i]
	sk := p.streams[bm.stream]
	switch f.field {
	case event.FieldSource:
		return sk.source == f.value
	case event.FieldHost:
		return sk.host == f.value
	case event.FieldPartition:
		return p.info.Partition == f.value
	case event.FieldTime, event.FieldReceived, "":
		return true
	}
	if f.value == "" {
		return true
	}
	k := f.colIndex(p, bm)
	if k < 0 {
		return false
	}
	c := bm.cols[k]
	if p.isAlias(c) {
		c, _ = p.valueColumn(bm, f.field) // an alias has its own exact keys
	}
	bl := p.bloom(i)
	if p.version >= 2 && c.size > 0 {
		if k := p.data[c.off]; k == kindDict || k == kindConst {
			return bloomHas(bl, exactHash(f.field, f.value))
		}
	}
	for _, h := range f.hashes {
		if !bloomHas(bl, h) {
			return false
		}
	}
	return true
}

// memBlock prunes in-memory blocks on metadata only.
func (f *filter) memBlock(r *memRef) bool {
	return f.metaMay(r.key.partition, r.key.source, r.key.host)
}

// metaMay reports whether a block of the given partition and stream may
// match, looking at nothing else (in-memory blocks, cheap blocks).
func (f *filter) metaMay(partition, source, host string) bool {
	switch f.op {
	case FilterAnd:
		for _, k := range f.kids {
			if !k.metaMay(partition, source, host) {
				return false
			}
		}
		return true
	case FilterOr:
		for _, k := range f.kids {
			if k.metaMay(partition, source, host) {
				return true
			}
		}
		return len(f.kids) == 0
	case FilterEqual:
		switch f.field {
		case event.FieldSource:
			return source == f.value
		case event.FieldHost:
			return host == f.value
		case event.FieldPartition:
			return partition == f.value
		}
	}
	return true
}

func (p *part) column(bm *blockMeta, name string) (colMeta, bool) {
	for _, c := range bm.cols {
		if p.names[c.name] == name {
			return c, true
		}
	}
	return colMeta{}, false
}
