package query

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// TestBudgetStopsBlowups runs queries built to exhaust memory or time over
// many rows and checks each is stopped by its budget with a clear error,
// long before it holds the data.
func TestBudgetStopsBlowups(t *testing.T) {
	const rows = 100_000
	src := NewMemSource(manyEvents(rows), MemOptions{BlockRows: 1000})
	const maxMem = 2 << 20 // far below what the rows take when buffered
	fOn := func(src store.Snapshot, query string, opts Options, wantErr string) {
		t.Helper()
		if opts.MaxMemoryBytes == 0 {
			opts.MaxMemoryBytes = maxMem
		}
		opts.Workers = 2
		n := 0
		_, err := Run(context.Background(), src, MustParse(query), opts, func(Row) error { n++; return nil })
		if err == nil {
			t.Fatalf("Run(%q) = nil error after %d rows, want a budget error", query, n)
		}
		if !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Run(%q) = %v, want an error containing %q", query, err, wantErr)
		}
		if !errors.Is(err, ErrBudget) && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run(%q) = %v, want ErrBudget or DeadlineExceeded", query, err)
		}
	}
	f := func(query string, opts Options, wantErr string) {
		t.Helper()
		fOn(src, query, opts, wantErr)
	}
	// Group by a unique field: one group per row.
	f("| count by n", Options{}, "bytes of memory")
	f("| count_distinct(n) by user", Options{}, "bytes of memory")
	f("| values(n)", Options{}, "bytes of memory")
	// Rows buffered for a stage that needs them all.
	f("| sort by n", Options{}, "buffer event rows")
	f("| dedup by n", Options{}, "buffer event rows")
	f(`| parse regex "(?<d>\d)" multi | count`, Options{}, "bytes of memory")
	f(`| parse "user *" as u | transaction on n with states u0, u1 in u results by transactions`, Options{}, "bytes of memory")
	// Time buckets answered from block minute counts (no time range:
	// groups in a map): 1,667 one-minute groups, over a 64 KiB budget.
	f("| timeslice 1m | count by _timeslice", Options{MaxMemoryBytes: 64 << 10}, "bytes of memory")
	// A join on a key every row shares squares the rows.
	f(`user=u1 | join (parse "user *" as u) as a, (parse "user *" as u) as b on a.u = b.u`, Options{MaxMemoryBytes: 64 << 20}, "join")
	// A regexp over everything: the row budget and the time budget.
	f(`| where _raw matches /(l|i|n|e)+ \d+ user u\d$/ | count`, Options{MaxRows: rows / 10}, "scans more than")
	// The time budget: every block takes a millisecond to read, so the
	// query cannot end within its budget however fast the machine (over
	// the plain source, the template prepass could answer 100 blocks in
	// under a millisecond, and a block started before the deadline ends).
	slow := &countingSource{Snapshot: src, delay: time.Millisecond}
	fOn(slow, `| where _raw matches /(l|i|n|e)+ \d+ user u\d$/ | count`, Options{Timeout: time.Millisecond}, "time budget")
	if n := slow.loads.Load(); n >= rows/1000 {
		t.Errorf("the time budget let the query read all %d blocks", n)
	}
}
