package ingest

import "sync/atomic"

// Budget is a byte budget shared by concurrent requests: memory taken by
// decoded-but-not-yet-durable data. When it is exhausted, receivers push
// back instead of buffering.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// TryAcquire takes n bytes if they fit.
func (b *Budget) TryAcquire(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit && u > 0 {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// Release gives n bytes back.
func (b *Budget) Release(n int64) { b.used.Add(-n) }

// Used returns the bytes taken now.
func (b *Budget) Used() int64 { return b.used.Load() }
