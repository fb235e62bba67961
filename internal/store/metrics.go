package store

import (
	"sort"
	"sync/atomic"
	"time"
)

// FsyncBuckets are the upper bounds, in seconds, of the WAL fsync latency
// histogram in Metrics.
var FsyncBuckets = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Metrics is a point-in-time view of the store's counters and gauges, for
// the server's /metrics (Prometheus text format).
type Metrics struct {
	Partitions []PartitionMetrics
	// RowsAppended counts events accepted by Append since Open.
	RowsAppended uint64
	// OverloadedAppends counts Appends refused with ErrOverloaded.
	OverloadedAppends uint64
	Flushes           uint64
	FlushErrors       uint64
	MergesDone        uint64
	MergedParts       uint64 // input parts of the merges done
	// MergeBlocksCopied counts blocks merges copied verbatim instead of
	// decoding and encoding them again.
	MergeBlocksCopied uint64
	// RowsEncoded counts rows flushes and merges wrote as full blocks
	// (columns, templates, blooms); RowsCheap counts rows flushes wrote
	// into cheap parts (Options.FullFlush unset). RowsEncoded over
	// RowsAppended is how many full encodings a row got.
	RowsEncoded, RowsCheap uint64
	// BufferBytes is the memory held by not-yet-flushed events.
	BufferBytes int64
	BufferRows  int64
	// WAL fsyncs: count, total seconds, and a cumulative histogram:
	// FsyncBucketCounts[i] counts fsyncs that took at most FsyncBuckets[i]
	// seconds (the +Inf bucket is WALFsyncs).
	WALFsyncs         uint64
	WALFsyncSeconds   float64
	FsyncBucketCounts []uint64
	WALSegments       int
	// Retention deletions since Open (parts and their bytes), by age and by
	// the disk budget.
	RetentionDeletedParts  uint64
	RetentionDeletedBytes  uint64
	DiskBudgetDeletedParts uint64
	DiskBudgetDeletedBytes uint64
}

// PartitionMetrics are the per-partition gauges.
type PartitionMetrics struct {
	Name  string
	Parts int
	Bytes int64
	Rows  int64
}

type counters struct {
	rowsAppended, overloaded, flushes, flushErrors atomic.Uint64
	merges, mergedParts, blocksCopied              atomic.Uint64
	rowsEncoded, rowsCheap                         atomic.Uint64
	retParts, retBytes, budgetParts, budgetBytes   atomic.Uint64
	fsyncBuckets                                   []atomic.Uint64
}

func (c *counters) init() { c.fsyncBuckets = make([]atomic.Uint64, len(FsyncBuckets)) }

func (c *counters) observeFsync(d time.Duration) {
	sec := d.Seconds()
	for i, ub := range FsyncBuckets {
		if sec <= ub {
			c.fsyncBuckets[i].Add(1)
		}
	}
}

// Metrics returns the current metrics.
func (s *Store) Metrics() Metrics {
	m := Metrics{
		RowsAppended: s.m.rowsAppended.Load(), OverloadedAppends: s.m.overloaded.Load(),
		Flushes: s.m.flushes.Load(), FlushErrors: s.m.flushErrors.Load(),
		MergesDone: s.m.merges.Load(), MergedParts: s.m.mergedParts.Load(), MergeBlocksCopied: s.m.blocksCopied.Load(),
		RowsEncoded: s.m.rowsEncoded.Load(), RowsCheap: s.m.rowsCheap.Load(),
		RetentionDeletedParts: s.m.retParts.Load(), RetentionDeletedBytes: s.m.retBytes.Load(),
		DiskBudgetDeletedParts: s.m.budgetParts.Load(), DiskBudgetDeletedBytes: s.m.budgetBytes.Load(),
	}
	byName := map[string]*PartitionMetrics{}
	s.mu.Lock()
	for _, p := range s.parts {
		pm := byName[p.info.Partition]
		if pm == nil {
			pm = &PartitionMetrics{Name: p.info.Partition}
			byName[p.info.Partition] = pm
		}
		pm.Parts++
		pm.Bytes += p.info.Size
		pm.Rows += p.info.Rows
	}
	mts := append([]*memtable{s.mem}, s.flushing...)
	s.mu.Unlock()
	for _, mt := range mts {
		m.BufferBytes += mt.bytes.Load()
		mt.mu.RLock()
		for _, ms := range mt.streams {
			for _, c := range ms.chunks {
				m.BufferRows += int64(len(c.rows))
			}
		}
		mt.mu.RUnlock()
	}
	for _, pm := range byName {
		m.Partitions = append(m.Partitions, *pm)
	}
	sort.Slice(m.Partitions, func(i, j int) bool { return m.Partitions[i].Name < m.Partitions[j].Name })
	if s.wal != nil {
		ws := s.wal.Stats()
		m.WALFsyncs, m.WALFsyncSeconds, m.WALSegments = ws.Fsyncs, ws.FsyncSeconds, ws.Segments
	}
	m.FsyncBucketCounts = make([]uint64, len(FsyncBuckets))
	for i := range m.FsyncBucketCounts {
		m.FsyncBucketCounts[i] = s.m.fsyncBuckets[i].Load()
	}
	return m
}
