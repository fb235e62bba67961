package store

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

func TestPickTierBudget(t *testing.T) {
	// Parts of one block each: the budget bounds the sum of the inputs'
	// largest blocks, but never below two inputs.
	mk := func(blockRows ...uint32) []*part {
		g := make([]*part, len(blockRows))
		for i, r := range blockRows {
			g[i] = &part{info: partInfo{Name: string(rune('a' + i)), Rows: 1000}, blocks: []blockMeta{{rows: r}}}
		}
		return g
	}
	for _, tc := range []struct {
		name     string
		parts    []*part
		minParts int
		budget   int64
		want     int
	}{
		{"all fit", mk(100, 100, 100, 100, 100), 2, 1000, 5},
		{"budget cuts", mk(300, 300, 300, 300, 300), 2, 1000, 3},
		{"cut below minParts", mk(300, 300, 300, 300, 300), 4, 1000, 0},
		{"two always", mk(900, 900, 900), 2, 1000, 2},
	} {
		if got := len(pickTier(tc.parts, tc.minParts, 32, tc.budget)); got != tc.want {
			t.Errorf("%s: pickTier took %d parts, want %d", tc.name, got, tc.want)
		}
	}
}

// TestMergeQuiet checks that a partition-day left with fewer than
// MergeMinParts parts merges them once no flush has added to it for
// MergeQuietAfter, and only then.
func TestMergeQuiet(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		quietAfter time.Duration
		wantMerge  bool
	}{
		{"quiet", time.Minute, true},
		{"disabled", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var now atomic.Int64
			now.Store(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).UnixNano())
			dir := t.TempDir()
			opts := testOptions(dir)
			opts.MergeMinParts, opts.MergeQuietAfter = 4, tc.quietAfter
			opts.CheapMaxAge = -1 // the quiet rule alone (TestCheapBusyAge has the age)
			opts.Now = func() time.Time { return time.Unix(0, now.Load()) }
			s := openTest(t, opts)
			// Appends "just now" for the whole test: the store is not idle.
			s.lastAppend.Store(time.Now().Add(time.Hour).UnixNano())
			for f := 0; f < 3; f++ {
				appendFlush(t, s, f*300, 300)
			}
			s.lastAppend.Store(time.Now().Add(time.Hour).UnixNano())
			if err := s.merge(ctx, false); err != nil {
				t.Fatal(err)
			}
			if m := s.Metrics(); m.MergesDone != 0 {
				t.Fatalf("merged %d times before the day was quiet", m.MergesDone)
			}
			now.Add(int64(2 * time.Minute))
			if err := s.merge(ctx, false); err != nil {
				t.Fatal(err)
			}
			if got := s.Metrics().MergesDone > 0; got != tc.wantMerge {
				t.Errorf("merged after the quiet period: %v, want %v", got, tc.wantMerge)
			}
			checkIDs(t, readAll(t, s, Query{}), 900)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			verifyOK(t, dir)
		})
	}
}

// TestMergeOverlappingInputs merges many flushes whose time ranges
// overlap and share timestamps: the merge takes runs of rows from one
// input at a time, and must still write every row once, in time order,
// with blocks that do not overlap (Verify).
func TestMergeOverlappingInputs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.MergeMinParts, opts.MergeQuietAfter = 2, -1
	s := openTest(t, opts)
	r := rand.New(rand.NewPCG(1, 2))
	const flushes, per = 12, 250
	for f := 0; f < flushes; f++ {
		evs := testEvents(f*per, per)
		for i := range evs {
			// Runs in time order with jumps back: ranges overlap, and
			// many rows share a second.
			evs[i].Time = t0 + int64(f*per/2+i/2+r.IntN(40)-20)*int64(time.Second)
		}
		appendFlushEvents(t, s, evs)
	}
	if err := s.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	m := s.Metrics()
	if m.MergesDone == 0 || m.MergedParts < flushes {
		t.Fatalf("merges %d of %d parts, want all %d flushes merged", m.MergesDone, m.MergedParts, flushes)
	}
	checkIDs(t, readAll(t, s, Query{}), flushes*per)
	// Every stream's rows, across its blocks, are in time order.
	sn := s.Snapshot()
	refs, _, err := sn.Blocks(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]int64{}
	for _, ref := range refs {
		b, err := ref.Load([]string{event.FieldTime})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSorted(b.Times) || b.Times[0] < last[ref.Host()] {
			t.Fatalf("stream %s: rows out of order", ref.Host())
		}
		last[ref.Host()] = b.Times[len(b.Times)-1]
	}
	sn.Release()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, dir)
}

func TestRipeTier(t *testing.T) {
	s := &Store{opts: Options{Dir: "x", MergeMinParts: 4, MergeMaxParts: 6, MergeMaxRows: 1000, BlockRows: 100}.withDefaults()}
	mk := func(rows ...int64) []*part {
		g := make([]*part, len(rows))
		for i, r := range rows {
			g[i] = &part{info: partInfo{Name: string(rune('a' + i)), Rows: r}, blocks: []blockMeta{{rows: 10}}}
		}
		return g
	}
	for _, tc := range []struct {
		name string
		rows []int64
		mode mergeMode
		want int
	}{
		{"tier too small, rows still coming", []int64{100, 100, 100, 100}, mergeBusy, 0},
		{"tier reaches MergeMaxRows", []int64{250, 250, 250, 250}, mergeBusy, 4},
		{"tier as wide as a merge", []int64{10, 10, 10, 10, 10, 10, 10}, mergeBusy, 6},
		{"idle: the tier", []int64{100, 100, 100, 100}, mergeIdle, 4},
		{"idle: too few", []int64{100, 100, 100}, mergeIdle, 0},
		{"quiet: the tier", []int64{100, 100, 100, 100}, mergeQuiet, 4},
		{"quiet: two are enough", []int64{100, 100}, mergeQuiet, 2},
		{"quiet: a big part waits", []int64{900, 100}, mergeQuiet, 0},
		{"quiet: parts over an eighth of MergeMaxRows stay", []int64{200, 200}, mergeQuiet, 0},
		{"quiet: only the small ones", []int64{300, 300, 100, 100}, mergeQuiet, 2},
	} {
		if got := len(s.ripeTier(mk(tc.rows...), mergeBudgetRows(s.opts), tc.mode)); got != tc.want {
			t.Errorf("%s: ripeTier took %d parts, want %d", tc.name, got, tc.want)
		}
	}
}

// appendFlushEvents appends evs and flushes them into a part.
func appendFlushEvents(t *testing.T, s *Store, evs []event.Event) {
	t.Helper()
	ctx := context.Background()
	if err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}
