package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// sumsStore opens a store of several full parts: 3 rounds of n random
// events each, flushed, over two streams' worth of hosts and a day.
func sumsStore(t *testing.T, n int) (*Store, int64) {
	t.Helper()
	s, err := Open(Options{Dir: t.TempDir(), BlockRows: 40, MaintainInterval: -1, Sync: SyncInterval, FullFlush: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	r := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for range 3 {
		evs := make([]event.Event, n)
		for i := range evs {
			st := r.IntN(5)
			evs[i] = event.Event{Time: base + r.Int64N(int64(20*time.Hour)), Raw: "x", Host: fmt.Sprintf("h%d", st),
				Fields: []event.Field{{Name: "k", Value: fmt.Sprintf("v%d", st)}, {Name: "c", Value: fmt.Sprintf("c%d", r.IntN(3))}}}
		}
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return s, base
}

// summedTotals returns the rows a BlocksSummed call summed and the rows
// by value, plus the rows of the blocks it listed.
func summedTotals(t *testing.T, bs BlockSummer, q Query, o SumOptions) (int64, map[string]int64, int64) {
	t.Helper()
	refs, sum, _, err := bs.BlocksSummed(context.Background(), q, o)
	if err != nil {
		t.Fatal(err)
	}
	var listed int64
	for _, r := range refs {
		listed += int64(r.Rows())
	}
	if sum == nil {
		return 0, nil, listed
	}
	by := map[string]int64{}
	if err := sum.EachValue(func(v string, n int64) error { by[v] += n; return nil }); err != nil {
		t.Fatal(err)
	}
	var mins int64
	for _, m := range sum.Minutes {
		mins += int64(m.Count)
	}
	if o.Minutes && mins != sum.Rows {
		t.Errorf("minutes add up to %d, rows %d", mins, sum.Rows)
	}
	return sum.Rows, by, listed
}

// TestBlocksSummedCacheBounded sums from many goroutines with a cache
// bound far below what the sums hold: every answer stays whole (summed
// plus listed rows are all rows), and the cache keeps within its bound.
func TestBlocksSummedCacheBounded(t *testing.T) {
	s, _ := sumsStore(t, 600)
	defer func(m int64, e int) { sumCacheMax, sumCacheEntries = m, e }(sumCacheMax, sumCacheEntries)
	sumCacheMax, sumCacheEntries = 300, 3
	snap := s.Snapshot()
	defer snap.Release()
	bs := snap.(BlockSummer)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for k := range 30 {
				o := []SumOptions{{}, {Column: "k"}, {Column: "c"}, {Minutes: true}, {Column: "none"}}[(g+k)%5]
				rows, by, listed := summedTotals(t, bs, Query{}, o)
				if rows+listed != 1800 {
					t.Errorf("%+v: %d summed + %d listed rows, want 1800", o, rows, listed)
				}
				var n int64
				for _, c := range by {
					n += c
				}
				if o.Column != "" && n != rows && o.Column != "none" {
					t.Errorf("%+v: values count %d of %d rows", o, n, rows)
				}
			}
		})
	}
	wg.Wait()
	m := SumCacheStats()
	if m.Evictions == 0 {
		t.Errorf("no evictions under a bound of %d bytes: %+v", sumCacheMax, m)
	}
	sumCache.mu.Lock()
	n, b := len(sumCache.order), sumCache.bytes
	sumCache.mu.Unlock()
	if n > sumCacheEntries+1 {
		t.Errorf("%d entries (%d bytes) kept, bound %d", n, b, sumCacheEntries)
	}
}

// TestBlocksSummedRanges: a part is summed only when wholly inside the
// range; filters, streams and a canceled build fall back or fail cleanly.
func TestBlocksSummedRanges(t *testing.T) {
	s, base := sumsStore(t, 300)
	snap := s.Snapshot()
	defer snap.Release()
	bs := snap.(BlockSummer)
	if rows, _, listed := summedTotals(t, bs, Query{MinTime: base, MaxTime: base + int64(20*time.Hour)}, SumOptions{Column: "k"}); rows != 900 || listed != 0 {
		t.Errorf("whole range: %d summed, %d listed", rows, listed)
	}
	// Every part spans the day's first and last hours: none is inside.
	if rows, _, listed := summedTotals(t, bs, Query{MinTime: base + int64(time.Hour), MaxTime: base + int64(19*time.Hour)}, SumOptions{Column: "k"}); rows != 0 || listed == 0 {
		t.Errorf("cut range: %d summed, %d listed", rows, listed)
	}
	for _, q := range []Query{{Hosts: []string{"h1"}}, {Sources: []string{""}}, {Filter: &Filter{Op: FilterAll}}} {
		if _, sum, _, err := bs.BlocksSummed(context.Background(), q, SumOptions{}); err != nil || sum != nil {
			t.Errorf("%+v: sum %v, err %v; want the plain list", q, sum, err)
		}
	}
	// A canceled build is not cached: the next call builds it.
	s2, _ := sumsStore(t, 300)
	snap2 := s2.Snapshot()
	defer snap2.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, _, err := snap2.(BlockSummer).BlocksSummed(ctx, Query{}, SumOptions{Column: "c"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v, want context.Canceled", err)
	}
	if rows, by, listed := summedTotals(t, snap2.(BlockSummer), Query{}, SumOptions{Column: "c"}); rows == 0 || rows+listed != 900 || by["c0"]+by["c1"]+by["c2"] != rows {
		t.Errorf("after a canceled build: %d rows summed, %d listed, %v", rows, listed, by)
	}
}
