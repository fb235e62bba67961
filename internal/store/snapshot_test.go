package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// countRows returns the rows of the blocks Blocks keeps for q, and whether
// any kept row contains want in _raw.
func blocksFor(t *testing.T, s *Store, q Query) ([]BlockRef, Stats) {
	t.Helper()
	sn := s.Snapshot()
	t.Cleanup(sn.Release)
	refs, st, err := sn.Blocks(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return refs, st
}

func rawContains(t *testing.T, refs []BlockRef, needle string) int {
	t.Helper()
	n := 0
	for _, r := range refs {
		b, err := r.Load([]string{event.FieldRaw})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range b.Cols[0].Values {
			if strings.Contains(v, needle) {
				n++
			}
		}
	}
	return n
}

func TestBlocksPruning(t *testing.T) {
	opts := testOptions(t.TempDir())
	opts.FullFlush = true // cheap parts prune on metadata only (TestCheapPruning)
	s := openTest(t, opts)
	defer s.Close()
	ctx := context.Background()
	evs := testEvents(0, 2000)
	evs[1234].Raw += " needle 9f86d081884c7d659a2f"
	evs[1234].Fields = append(evs[1234].Fields, event.Field{Name: "sha", Value: "9f86d081884c7d659a2f"})
	if err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	tok := func(field, tk string) *Filter { return &Filter{Op: FilterToken, Field: field, Token: tk} }
	eq := func(field, v string) *Filter { return &Filter{Op: FilterEqual, Field: field, Value: v} }
	cases := []struct {
		name      string
		q         Query
		maxBlocks int
		wantRows  int // rows containing needle, -1 to skip
	}{
		{"all", Query{}, 1000, 1},
		{"needle token", Query{Filter: tok("", "9f86d081884c7d659a2f")}, 2, 1},
		{"needle in field", Query{Filter: tok("sha", "9f86d081884c7d659a2f")}, 2, 1},
		{"needle in missing column", Query{Filter: tok("nosuch", "9f86d081884c7d659a2f")}, 0, 0},
		{"equal field", Query{Filter: eq("sha", "9f86d081884c7d659a2f")}, 2, 1},
		{"equal exact dict", Query{Filter: eq("odd", "y x")}, 0, 0}, // tokens match, the value does not
		{"equal exact dict hit", Query{Filter: eq("odd", "x y")}, 1000, 1},
		{"ip token", Query{Filter: tok("", "10.0.2.34")}, 20, -1},
		{"and", Query{Filter: &Filter{Op: FilterAnd, Kids: []*Filter{tok("", "needle"), tok("", "9f86d081884c7d659a2f")}}}, 2, 1},
		{"or", Query{Filter: &Filter{Op: FilterOr, Kids: []*Filter{tok("", "absenttokenxyz"), tok("", "9f86d081884c7d659a2f")}}}, 3, 1},
		{"host", Query{Hosts: []string{"host-4"}}, 1000, 1},
		{"host other", Query{Hosts: []string{"host-1"}}, 1000, 0},
		{"host equal", Query{Filter: eq(event.FieldHost, "host-2")}, 1000, 0},
		{"partition", Query{Partitions: []string{"other"}}, 0, 0},
		{"time", Query{MinTime: t0 + 1234*1e9, MaxTime: t0 + 1235*1e9}, 5, 1},
		{"time before", Query{MaxTime: t0}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			refs, st := blocksFor(t, s, c.q)
			if len(refs) > c.maxBlocks {
				t.Errorf("kept %d blocks, want at most %d (stats %+v)", len(refs), c.maxBlocks, st)
			}
			if st.BlocksScanned+st.BlocksSkipped != st.BlocksTotal {
				t.Errorf("stats don't add up: %+v", st)
			}
			if c.wantRows >= 0 {
				if n := rawContains(t, refs, "9f86d081884c7d659a2f"); n != c.wantRows {
					t.Errorf("rows with the needle = %d, want %d", n, c.wantRows)
				}
			}
		})
	}
	// Every token of every row prunes to blocks containing it (no false
	// negatives).
	for i := 0; i < len(evs); i += 97 {
		e := evs[i]
		refs, _ := blocksFor(t, s, Query{Filter: eq("user", e.Fields[1].Value)})
		found := false
		for _, r := range refs {
			found = found || (r.Host() == e.Host && r.MinTime() <= e.Time && e.Time <= r.MaxTime())
		}
		if !found {
			t.Fatalf("event %d pruned away by user=%s", i, e.Fields[1].Value)
		}
	}
}

func TestMinuteCounts(t *testing.T) {
	s := openTest(t, testOptions(t.TempDir()))
	defer s.Close()
	ctx := context.Background()
	if err := s.Append(ctx, testEvents(0, 600)); err != nil {
		t.Fatal(err)
	}
	count := func() map[int64]int {
		refs, _ := blocksFor(t, s, Query{})
		m := map[int64]int{}
		for _, r := range refs {
			for _, mc := range r.MinuteCounts() {
				m[mc.Minute] += mc.Count
			}
		}
		return m
	}
	check := func(m map[int64]int) {
		t.Helper()
		if len(m) != 10 {
			t.Fatalf("minutes = %d, want 10", len(m))
		}
		for k, v := range m {
			if v != 60 || k%60e9 != 0 {
				t.Fatalf("minute %d count %d", k, v)
			}
		}
	}
	check(count())
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check(count())
}

func TestRouting(t *testing.T) {
	opts := testOptions(t.TempDir())
	opts.Routes = []Route{{Field: event.FieldHost, Match: "signer-*", Partition: "wallet"}, {Field: "app", Match: "audit", Partition: "_internal"}}
	s := openTest(t, opts)
	defer s.Close()
	evs := []event.Event{
		{Time: t0, Raw: "a", Host: "signer-01"},
		{Time: t0, Raw: "b", Host: "web-01"},
		{Time: t0, Raw: "c", Host: "signer-02", Partition: "main"},
		{Time: t0, Raw: "d", Fields: []event.Field{{Name: "app", Value: "audit"}}},
	}
	if err := s.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if evs[0].Partition != "" {
		t.Error("Append changed the caller's event")
	}
	for _, flush := range []bool{false, true} {
		if flush {
			s.Flush(context.Background())
		}
		want := map[string]int{"wallet": 1, "main": 2, "_internal": 1}
		for p, n := range want {
			refs, _ := blocksFor(t, s, Query{Partitions: []string{p}})
			got := 0
			for _, r := range refs {
				got += r.Rows()
			}
			if got != n {
				t.Errorf("partition %s: %d rows, want %d", p, got, n)
			}
		}
		refs, _ := blocksFor(t, s, Query{})
		for _, r := range refs {
			if r.Partition() == "_internal" {
				t.Error("nil Partitions includes an internal partition")
			}
		}
	}
	if err := s.Append(context.Background(), []event.Event{{Partition: "bad name!"}}); err == nil {
		t.Error("invalid partition name accepted")
	}
}

func TestRetention(t *testing.T) {
	now := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	opts := testOptions(t.TempDir())
	opts.Now = func() time.Time { return now }
	opts.Retention = map[string]time.Duration{"wallet": 30 * 24 * time.Hour}
	opts.DefaultRetention = 7 * 24 * time.Hour
	s, rows := openDays(t, opts)
	ctx := context.Background()
	day := int64(24 * time.Hour)
	if err := s.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rows("main"); got != 7 { // Jan 13..19 are within 7 days of Jan 20
		t.Errorf("main keeps %d days, want 7", got)
	}
	if got := rows("wallet"); got != 19 {
		t.Errorf("wallet keeps %d days, want 19", got)
	}
	m := s.Metrics()
	if m.RetentionDeletedParts != 12 {
		t.Errorf("RetentionDeletedParts = %d, want 12", m.RetentionDeletedParts)
	}
	// Disk budget: drop the oldest first.
	var total int64
	for _, pm := range m.Partitions {
		total += pm.Bytes
	}
	s.opts.DiskBudgetBytes = total / 2
	if err := s.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	refs, _ := blocksFor(t, s, Query{Partitions: []string{"main", "wallet"}})
	var oldest int64 = 1 << 62
	for _, r := range refs {
		oldest = min(oldest, r.MinTime())
	}
	if oldest < t0+5*day || s.Metrics().DiskBudgetDeletedParts == 0 {
		t.Errorf("disk budget kept data from %v", time.Unix(0, oldest).UTC())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, opts.Dir)
	b, _ := os.ReadFile(filepath.Join(opts.Dir, manifestName))
	if !strings.Contains(string(b), `"op":"retention"`) || !strings.Contains(string(b), `"op":"disk_budget"`) {
		t.Error("retention deletions not recorded in the manifest")
	}
}

func TestSnapshotPinsParts(t *testing.T) {
	opts := testOptions(t.TempDir())
	opts.MergeMinParts = 2
	s := openTest(t, opts)
	defer s.Close()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		s.Append(ctx, testEvents(i*100, 100))
		s.Flush(ctx)
	}
	sn := s.Snapshot()
	refs, _, _ := sn.Blocks(ctx, Query{})
	if err := s.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	if m := s.Metrics(); m.MergesDone != 1 || m.Partitions[0].Parts != 1 {
		t.Fatalf("after merge: %+v", m)
	}
	n := 0
	for _, r := range refs { // the merged-away parts are still readable
		b, err := r.Load([]string{"id"})
		if err != nil {
			t.Fatal(err)
		}
		n += b.Rows()
	}
	if n != 300 {
		t.Fatalf("read %d rows from the old snapshot", n)
	}
	sn.Release()
	sn.Release() // idempotent
	files, _ := filepath.Glob(filepath.Join(opts.Dir, partsDir, "main", "*", "*.part"))
	if len(files) != 1 {
		t.Fatalf("%d part files after release, want 1", len(files))
	}
	checkIDs(t, readAll(t, s, Query{}), 300)
}

func TestOverloaded(t *testing.T) {
	opts := testOptions(t.TempDir())
	opts.MaxBufferBytes = 4096
	opts.FlushBytes = 4096
	s := openTest(t, opts)
	defer s.Close()
	err := s.Append(context.Background(), testEvents(0, 200))
	if !errors.Is(err, ErrOverloaded) {
		t.Fatalf("Append over budget = %v, want ErrOverloaded", err)
	}
	if err := s.Append(context.Background(), testEvents(0, 5)); err != nil {
		t.Fatalf("small Append = %v", err)
	}
}

func TestValidate(t *testing.T) {
	o := Options{Sync: "sometimes", MaxBufferBytes: -1, Routes: []Route{{Match: "[", Partition: "a b"}}, Retention: map[string]time.Duration{"x": -1}}
	err := o.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"dir", "sync", "max buffer bytes", "route 0: partition", "route 0: field", "route 0: match", "retention x"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q: %v", want, err)
		}
	}
	if err := (&Options{Dir: "x"}).Validate(); err != nil {
		t.Errorf("zero options: %v", err)
	}
}

func TestClosed(t *testing.T) {
	s := openTest(t, testOptions(t.TempDir()))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), testEvents(0, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

type holdsFunc func(partition string, minT, maxT int64) bool

func (f holdsFunc) Covers(p string, minT, maxT int64) bool { return f(p, minT, maxT) }

func TestLegalHold(t *testing.T) {
	now := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	opts := testOptions(t.TempDir())
	opts.Now = func() time.Time { return now }
	opts.DefaultRetention = 24 * time.Hour
	day := int64(24 * time.Hour)
	opts.Holds = holdsFunc(func(p string, minT, maxT int64) bool { return p == "main" && minT <= t0+2*day && maxT >= t0+2*day })
	s := openTest(t, opts)
	defer s.Close()
	ctx := context.Background()
	var evs []event.Event
	for d := 0; d < 5; d++ {
		evs = append(evs, event.Event{Time: t0 + int64(d)*day, Raw: "m"})
	}
	s.Append(ctx, evs)
	s.Flush(ctx)
	s.opts.DiskBudgetBytes = 1
	if err := s.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	refs, _ := blocksFor(t, s, Query{})
	if len(refs) != 1 || refs[0].MinTime() != t0+2*day {
		t.Fatalf("after retention with a hold on Jan 3: %d blocks", len(refs))
	}
}

// openDays opens a store holding one event per day from Jan 1 to Jan 19
// in each of the partitions main and wallet, flushed to parts, and returns
// it with a function counting a partition's rows.
func openDays(t *testing.T, opts Options) (*Store, func(partition string) int) {
	t.Helper()
	s := openTest(t, opts)
	ctx := context.Background()
	day := int64(24 * time.Hour)
	var evs []event.Event
	for d := 0; d < 19; d++ {
		evs = append(evs, event.Event{Time: t0 + int64(d)*day, Raw: "m", Partition: "main"},
			event.Event{Time: t0 + int64(d)*day, Raw: "w", Partition: "wallet"})
	}
	if err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return s, func(p string) int {
		refs, _ := blocksFor(t, s, Query{Partitions: []string{p}})
		n := 0
		for _, r := range refs {
			n += r.Rows()
		}
		return n
	}
}
