package store

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mamori/mamori/internal/event"
)

// memtable holds acknowledged events not yet in parts, by stream, in
// chunks of at most blockRows rows. A row is only the event's time and
// where its encoding sits in the WAL record it came in (kept whole, as a
// string never modified): no pointers, so the garbage collector never
// scans rows, and a row costs 24 bytes besides its encoded bytes. Rows
// are decoded when flushed or read. Rows are only ever appended, so a
// snapshot may keep reading a chunk's first n rows while appends go on.
type memtable struct {
	blockRows int
	mu        sync.RWMutex // guards streams, recs and the chunk slices' headers
	streams   map[memKey]*memStream
	recs      []string // the WAL records rows point into
	bytes     atomic.Int64
	maxLSN    uint64 // guarded by the store's appendMu
}

type memKey struct{ partition, source, host string }

type memStream struct {
	chunks []*memChunk
}

type memChunk struct {
	rows             []memRow
	minTime, maxTime int64
}

// memRow locates one event: its encoding is bytes [off, end) of record
// rec.
type memRow struct {
	time          int64
	rec, off, end uint32
}

func newMemtable(blockRows int) *memtable {
	return &memtable{blockRows: blockRows, streams: map[memKey]*memStream{}}
}

// memRowBytes is what a row costs besides its record's bytes.
const memRowBytes = int64(unsafe.Sizeof(memRow{}))

// insert adds the events of one WAL record: evs[i] (whose Partition is
// parts[i]) is encoded at offs[i] in rec.
func (mt *memtable) insert(rec string, evs []event.Event, parts []string, offs []uint32) {
	size := int64(len(rec)) + int64(len(evs))*memRowBytes
	mt.mu.Lock()
	ri := uint32(len(mt.recs))
	mt.recs = append(mt.recs, rec)
	var key memKey
	var ms *memStream
	for i := range evs {
		e := &evs[i]
		k := memKey{parts[i], e.Source, e.Host}
		if ms == nil || k != key {
			key = k
			ms = mt.streams[k]
			if ms == nil {
				ms = &memStream{}
				// The key outlives the caller's events: own its strings.
				mt.streams[memKey{strings.Clone(k.partition), strings.Clone(k.source), strings.Clone(k.host)}] = ms
			}
		}
		var c *memChunk
		if n := len(ms.chunks); n > 0 && len(ms.chunks[n-1].rows) < mt.blockRows {
			c = ms.chunks[n-1]
		} else {
			c = &memChunk{rows: make([]memRow, 0, min(mt.blockRows, 256)), minTime: e.Time, maxTime: e.Time}
			ms.chunks = append(ms.chunks, c)
		}
		if len(c.rows) == cap(c.rows) {
			// Grow into a new array; snapshots keep the old one.
			nc := &memChunk{rows: make([]memRow, len(c.rows), min(mt.blockRows, 2*cap(c.rows))), minTime: c.minTime, maxTime: c.maxTime}
			copy(nc.rows, c.rows)
			ms.chunks[len(ms.chunks)-1] = nc
			c = nc
		}
		end := uint32(len(rec)) // events are encoded one after another
		if i+1 < len(offs) {
			end = offs[i+1]
		}
		c.rows = append(c.rows, memRow{time: e.Time, rec: ri, off: offs[i], end: end})
		c.minTime = min(c.minTime, e.Time)
		c.maxTime = max(c.maxTime, e.Time)
	}
	mt.mu.Unlock()
	mt.bytes.Add(size)
}

// decodeRows decodes rows (of records recs) into evs, reusing its
// arrays, and returns pointers to them in the rows' order. The events
// share the records' memory.
func decodeRows(recs []string, rows []memRow, evs *[]event.Event, fields *[]event.Field, ptrs []*event.Event) []*event.Event {
	es := slices.Grow((*evs)[:0], len(rows))[:len(rows)]
	fs := (*fields)[:0]
	for i, r := range rows {
		var err error
		if fs, err = decodeEventAt(recs[r.rec], r.off, &es[i], fs); err != nil {
			panic("BUG: memtable row does not decode: " + err.Error())
		}
	}
	*evs, *fields = es, fs
	ptrs = ptrs[:0]
	for i := range es {
		ptrs = append(ptrs, &es[i])
	}
	return ptrs
}

func cmpMemRow(a, b memRow) int {
	switch {
	case a.time < b.time:
		return -1
	case a.time > b.time:
		return 1
	}
	return 0
}

// memRef is an in-memory block: a frozen prefix of a memtable chunk.
type memRef struct {
	key              memKey
	recs             []string
	rows             []memRow
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
			dst = append(dst, &memRef{key: k, recs: mt.recs[:len(mt.recs):len(mt.recs)], rows: c.rows[:len(c.rows):len(c.rows)], minTime: c.minTime, maxTime: c.maxTime})
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

// order returns the rows decoded and sorted by time (stable).
func (r *memRef) order() []*event.Event {
	r.once.Do(func() {
		rows := slices.Clone(r.rows)
		slices.SortStableFunc(rows, cmpMemRow)
		var evs []event.Event
		var fields []event.Field
		r.sorted = decodeRows(r.recs, rows, &evs, &fields, nil)
	})
	return r.sorted
}

// Columns lists the same names, in the same order, as a part block built
// from these rows would (see colBuilder.build), without building values.
func (r *memRef) Columns() []string { return eventsColumns(r.order()) }

func (r *memRef) MinuteCounts() []MinuteCount { return minuteCounts(r.order()) }

func (r *memRef) Load(cols []string) (*Block, error) {
	return eventsBlock(r.key.partition, r.key.source, r.key.host, r.order(), cols), nil
}

// eventsColumns lists the same names, in the same order, as a part block
// built from rows would (see colBuilder.build), without building values.
func eventsColumns(rows []*event.Event) []string {
	out := []string{event.FieldTime, event.FieldRaw, event.FieldCategory}
	seen := map[string]bool{}
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

// eventsBlock builds the named columns (nil: all) of a block of rows
// (sorted by time, all of one stream) in memory.
func eventsBlock(partition, source, host string, rows []*event.Event, cols []string) *Block {
	b := &Block{Partition: partition, Source: source, Host: host, Times: make([]int64, len(rows))}
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
	sk := streamKey{source, host}
	for _, name := range cols {
		switch name {
		case event.FieldTime:
			b.Cols = append(b.Cols, timeColumn(b.Times))
			continue
		case event.FieldSource, event.FieldHost, event.FieldPartition:
			b.Cols = append(b.Cols, metaColumn(name, partition, sk, len(rows)))
			continue
		}
		if i, ok := cb.idx[name]; ok {
			c := cb.cols[i]
			b.Cols = append(b.Cols, Column{Name: name, Values: c.vals, Absent: c.absent})
			continue
		}
		b.Cols = append(b.Cols, absentColumn(name, len(rows)))
	}
	return b
}
