package store

import (
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mamori/mamori/internal/event"
)

// memtable holds acknowledged events not yet in parts, by stream, in
// chunks of at most blockRows events. Rows are only ever appended, so a
// snapshot may keep reading a chunk's first n rows while appends go on.
type memtable struct {
	blockRows int
	mu        sync.RWMutex // guards streams and the chunk slices' headers
	streams   map[memKey]*memStream
	bytes     atomic.Int64
	maxLSN    uint64 // guarded by the store's appendMu
}

type memKey struct{ partition, source, host string }

type memStream struct {
	chunks []*memChunk
}

type memChunk struct {
	rows             []event.Event
	minTime, maxTime int64
}

func newMemtable(blockRows int) *memtable {
	return &memtable{blockRows: blockRows, streams: map[memKey]*memStream{}}
}

// eventSize estimates the memory an event takes in a memtable (its strings
// live in the batch payload, counted separately).
func eventSize(e *event.Event) int64 {
	return int64(unsafe.Sizeof(*e)) + int64(len(e.Fields))*int64(unsafe.Sizeof(event.Field{}))
}

// insert adds events (already routed: Partition set).
func (mt *memtable) insert(evs []event.Event, payloadBytes int) {
	size := int64(payloadBytes)
	mt.mu.Lock()
	var key memKey
	var ms *memStream
	for i := range evs {
		e := &evs[i]
		size += eventSize(e)
		k := memKey{e.Partition, e.Source, e.Host}
		if ms == nil || k != key {
			key = k
			ms = mt.streams[k]
			if ms == nil {
				ms = &memStream{}
				mt.streams[k] = ms
			}
		}
		var c *memChunk
		if n := len(ms.chunks); n > 0 && len(ms.chunks[n-1].rows) < mt.blockRows {
			c = ms.chunks[n-1]
		} else {
			c = &memChunk{rows: make([]event.Event, 0, min(mt.blockRows, 256)), minTime: e.Time, maxTime: e.Time}
			ms.chunks = append(ms.chunks, c)
		}
		if len(c.rows) == cap(c.rows) {
			// Grow into a new array; snapshots keep the old one.
			nc := &memChunk{rows: make([]event.Event, len(c.rows), min(mt.blockRows, 2*cap(c.rows))), minTime: c.minTime, maxTime: c.maxTime}
			copy(nc.rows, c.rows)
			ms.chunks[len(ms.chunks)-1] = nc
			c = nc
		}
		c.rows = append(c.rows, *e)
		c.minTime = min(c.minTime, e.Time)
		c.maxTime = max(c.maxTime, e.Time)
	}
	mt.mu.Unlock()
	mt.bytes.Add(size)
}

// memRef is an in-memory block: a frozen prefix of a memtable chunk.
type memRef struct {
	key              memKey
	rows             []event.Event
	minTime, maxTime int64
	once             sync.Once
	sorted           []*event.Event
}

// refs returns frozen views of every chunk that overlaps [minT, maxT].
func (mt *memtable) refs(dst []*memRef) []*memRef {
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	for k, ms := range mt.streams {
		for _, c := range ms.chunks {
			if len(c.rows) == 0 {
				continue
			}
			dst = append(dst, &memRef{key: k, rows: c.rows[:len(c.rows):len(c.rows)], minTime: c.minTime, maxTime: c.maxTime})
		}
	}
	return dst
}

func (r *memRef) Partition() string { return r.key.partition }
func (r *memRef) Source() string    { return r.key.source }
func (r *memRef) Host() string      { return r.key.host }
func (r *memRef) MinTime() int64    { return r.minTime }
func (r *memRef) MaxTime() int64    { return r.maxTime }
func (r *memRef) Rows() int         { return len(r.rows) }

// order returns the rows sorted by time (stable).
func (r *memRef) order() []*event.Event {
	r.once.Do(func() {
		s := make([]*event.Event, len(r.rows))
		for i := range r.rows {
			s[i] = &r.rows[i]
		}
		slices.SortStableFunc(s, func(a, b *event.Event) int {
			switch {
			case a.Time < b.Time:
				return -1
			case a.Time > b.Time:
				return 1
			}
			return 0
		})
		r.sorted = s
	})
	return r.sorted
}

// Columns lists the same names, in the same order, as a part block built
// from these rows would (see colBuilder.build), without building values.
func (r *memRef) Columns() []string {
	out := []string{event.FieldTime, event.FieldRaw, event.FieldCategory}
	seen := map[string]bool{}
	rows := r.order()
	for _, e := range rows {
		if e.Received != 0 {
			out = append(out, event.FieldReceived)
			break
		}
	}
	for _, e := range rows {
		for _, f := range e.Fields {
			if !isReservedColumn(f.Name) && !seen[f.Name] {
				seen[f.Name] = true
				out = append(out, f.Name)
			}
		}
	}
	return out
}

func (r *memRef) MinuteCounts() []MinuteCount { return minuteCounts(r.order()) }

func (r *memRef) Load(cols []string) (*Block, error) {
	rows := r.order()
	b := &Block{Partition: r.key.partition, Source: r.key.source, Host: r.key.host, Times: make([]int64, len(rows))}
	for i, e := range rows {
		b.Times[i] = e.Time
	}
	var cb colBuilder
	cb.build(rows)
	if cols == nil {
		cols = []string{event.FieldTime}
		for _, c := range cb.cols {
			cols = append(cols, c.name)
		}
	}
	sk := streamKey{r.key.source, r.key.host}
	for _, name := range cols {
		switch name {
		case event.FieldTime:
			b.Cols = append(b.Cols, timeColumn(b.Times))
			continue
		case event.FieldSource, event.FieldHost, event.FieldPartition:
			b.Cols = append(b.Cols, metaColumn(name, r.key.partition, sk, len(rows)))
			continue
		}
		if i, ok := cb.idx[name]; ok {
			c := cb.cols[i]
			b.Cols = append(b.Cols, Column{Name: name, Values: c.vals, Absent: c.absent})
			continue
		}
		b.Cols = append(b.Cols, absentColumn(name, len(rows)))
	}
	return b, nil
}
