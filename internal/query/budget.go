package query

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrBudget is wrapped by the errors of queries that exceed their memory or
// row budget; the API maps it to "too large".
var ErrBudget = errors.New("query budget exceeded")

// budget tracks the approximate memory of aggregation state and buffered
// rows across workers. Workers add in chunks, so the shared counter is
// touched rarely.
type budget struct {
	maxBytes int64
	used     atomic.Int64
	maxRows  int64
	rows     atomic.Int64
}

const budgetChunk = 256 << 10

// add records n more bytes; it fails when the total exceeds the maximum.
func (b *budget) add(n int64) error {
	if b == nil || b.maxBytes <= 0 {
		return nil
	}
	if u := b.used.Add(n); u > b.maxBytes {
		return fmt.Errorf("query needs more than %d bytes of memory (aggregation groups or buffered rows); narrow the search or the time range: %w", b.maxBytes, ErrBudget)
	}
	return nil
}

// tryAdd charges n bytes when they fit in the budget and reports whether
// they did: for memory a query can do without (the regexp literal's
// memo, tmpl_skel_memo.go), which is then not used rather than failing
// the query.
func (b *budget) tryAdd(n int64) bool {
	if b == nil || b.maxBytes <= 0 {
		return true
	}
	if b.used.Add(n) > b.maxBytes {
		b.used.Add(-n)
		return false
	}
	return true
}

// addRows records n more scanned rows.
func (b *budget) addRows(n int64) error {
	if b == nil || b.maxRows <= 0 {
		return nil
	}
	if u := b.rows.Add(n); u > b.maxRows {
		return fmt.Errorf("query scans more than %d rows; narrow the search or the time range: %w", b.maxRows, ErrBudget)
	}
	return nil
}

// memAcct accumulates one worker's allocations and reports them to the
// shared budget in chunks.
type memAcct struct {
	b       *budget
	pending int64
}

func (m *memAcct) add(n int64) error {
	m.pending += n
	if m.b == nil || m.b.maxBytes <= 0 || m.pending < min(budgetChunk, m.b.maxBytes/16+1) {
		return nil
	}
	n, m.pending = m.pending, 0
	return m.b.add(n)
}
