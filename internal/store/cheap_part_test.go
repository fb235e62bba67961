package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// cheapParts counts s's live cheap and full parts.
func cheapParts(s *Store) (cheap, full int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.parts {
		if p.cheap() {
			cheap++
		} else {
			full++
		}
	}
	return cheap, full
}

func TestCheapFlushWritesCheapParts(t *testing.T) {
	ctx := context.Background()
	for _, full := range []bool{false, true} {
		opts := testOptions(t.TempDir())
		opts.FullFlush = full
		s := openTest(t, opts)
		if err := s.Append(ctx, testEvents(0, 700)); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		c, f := cheapParts(s)
		if full && (c != 0 || f == 0) || !full && (c == 0 || f != 0) {
			t.Errorf("FullFlush %v: %d cheap and %d full parts", full, c, f)
		}
		checkIDs(t, readAll(t, s, Query{}), 700)
		m := s.Metrics()
		if full && m.RowsEncoded != 700 || !full && (m.RowsCheap != 700 || m.RowsEncoded != 0) {
			t.Errorf("FullFlush %v: metrics %d encoded, %d cheap", full, m.RowsEncoded, m.RowsCheap)
		}
		s.Close()
		verifyOK(t, opts.Dir)
	}
}

// TestCheapPruning: cheap blocks are kept for every filter on their
// contents (no bloom: "may contain"), and pruned on time, partition and
// stream like in-memory blocks.
func TestCheapPruning(t *testing.T) {
	s := openTest(t, testOptions(t.TempDir()))
	defer s.Close()
	ctx := context.Background()
	evs := testEvents(0, 1000)
	evs[321].Raw += " needle 9f86d081884c7d659a2f"
	if err := s.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	tok := func(field, tk string) *Filter { return &Filter{Op: FilterToken, Field: field, Token: tk} }
	eq := func(field, v string) *Filter { return &Filter{Op: FilterEqual, Field: field, Value: v} }
	all, _ := blocksFor(t, s, Query{})
	for _, c := range []struct {
		name string
		q    Query
		want int // blocks kept; -1: all
	}{
		{"needle", Query{Filter: tok("", "9f86d081884c7d659a2f")}, -1},
		{"absent token", Query{Filter: tok("", "absenttokenxyz")}, -1},
		{"missing column", Query{Filter: tok("nosuch", "x")}, -1},
		{"field equal", Query{Filter: eq("user", "user7")}, -1},
		{"host equal", Query{Filter: eq(event.FieldHost, "host-2")}, len(all) / 5},
		{"host equal or", Query{Filter: &Filter{Op: FilterOr, Kids: []*Filter{eq(event.FieldHost, "host-2"), eq(event.FieldHost, "host-3")}}}, 2 * len(all) / 5},
		{"hosts", Query{Hosts: []string{"host-1"}}, len(all) / 5},
		{"partition", Query{Partitions: []string{"other"}}, 0},
		{"time before", Query{MaxTime: t0}, 0},
	} {
		refs, st := blocksFor(t, s, c.q)
		want := c.want
		if want < 0 {
			want = len(all)
		}
		if len(refs) != want || st.BlocksScanned+st.BlocksSkipped != st.BlocksTotal {
			t.Errorf("%s: kept %d blocks, want %d (stats %+v)", c.name, len(refs), want, st)
		}
		for _, r := range refs {
			if _, ok := r.(*cheapRef); !ok {
				t.Fatalf("%s: a %T, want cheap blocks", c.name, r)
			}
		}
	}
	if n := rawContains(t, all, "9f86d081884c7d659a2f"); n != 1 {
		t.Errorf("needle rows = %d, want 1", n)
	}
}

// TestCheapMergeWithFull merges cheap parts with full ones (an option
// switched between runs) and checks every row comes out once, in full
// parts only.
func TestCheapMergeWithFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.FullFlush = true
	s := openTest(t, opts)
	for i := 0; i < 2; i++ {
		if err := s.Append(ctx, testEvents(i*400, 400)); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	opts.FullFlush = false
	s = openTest(t, opts)
	defer s.Close()
	for i := 2; i < 5; i++ {
		if err := s.Append(ctx, testEvents(i*400, 400)); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if c, f := cheapParts(s); c != 3 || f != 2 {
		t.Fatalf("before merge: %d cheap, %d full parts; want 3, 2", c, f)
	}
	checkIDs(t, readAll(t, s, Query{}), 2000)
	if err := s.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	if c, f := cheapParts(s); c != 0 || f == 0 {
		t.Fatalf("after merge: %d cheap, %d full parts", c, f)
	}
	if m := s.Metrics(); m.RowsEncoded < 1200 {
		t.Errorf("merge encoded %d rows, want the 1200 cheap rows at least", m.RowsEncoded)
	}
	checkIDs(t, readAll(t, s, Query{}), 2000)
	checkIDs(t, readAll(t, s, Query{Filter: &Filter{Op: FilterToken, Token: "id"}}), 2000)
	verifyOK(t, dir)
}

// TestCheapIdleCompaction: the maintainer turns every cheap part into a
// full one once appends pause, even a single one.
func TestCheapIdleCompaction(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the idle period (2 s)")
	}
	ctx := context.Background()
	opts := testOptions(t.TempDir())
	opts.MaintainInterval = 50 * time.Millisecond
	s := openTest(t, opts)
	defer s.Close()
	if err := s.Append(ctx, testEvents(0, 500)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _ := cheapParts(s); c != 1 {
		t.Fatalf("%d cheap parts after the flush, want 1", c)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, f := cheapParts(s)
		if c == 0 && f == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d cheap and %d full parts after the idle period", c, f)
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkIDs(t, readAll(t, s, Query{}), 500)
	if m := s.Metrics(); m.RowsEncoded != 500 || m.RowsCheap != 500 {
		t.Errorf("metrics: %d encoded, %d cheap; want 500, 500", m.RowsEncoded, m.RowsCheap)
	}
}

// TestCheapBusyMergeWaits: while rows arrive, cheap parts wait for a full
// tier like full flushes do (their first merge should be their last).
func TestCheapBusyMergeWaits(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t.TempDir())
	opts.MergeMaxParts = 8
	s := openTest(t, opts)
	defer s.Close()
	for i := 0; i < 3; i++ {
		s.lastAppend.Store(time.Now().UnixNano()) // busy, whatever the clock does below
		if err := s.Append(ctx, testEvents(i*100, 100)); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.merge(ctx, false); err != nil {
		t.Fatal(err)
	}
	if c, _ := cheapParts(s); c != 3 {
		t.Fatalf("busy store: %d cheap parts left, want the 3 flushes waiting", c)
	}
	s.lastAppend.Store(time.Now().Add(-time.Hour).UnixNano()) // idle
	if err := s.merge(ctx, false); err != nil {
		t.Fatal(err)
	}
	if c, f := cheapParts(s); c != 0 || f != 1 {
		t.Fatalf("idle store: %d cheap, %d full parts; want 0, 1", c, f)
	}
	checkIDs(t, readAll(t, s, Query{}), 300)
}

// TestCheapRestart: cheap parts survive a crash and a clean restart,
// serve every row once, and are merged afterwards.
func TestCheapRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, testOptions(dir))
	if err := s.Append(ctx, testEvents(0, 300)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, testEvents(300, 200)); err != nil {
		t.Fatal(err)
	}
	abandon(s) // kill -9: one cheap part, 200 rows in the WAL only
	s = openTest(t, testOptions(dir))
	checkIDs(t, readAll(t, s, Query{}), 500)
	// The replayed rows may already be flushed in the background (a second
	// cheap part) by the time this looks.
	if c, _ := cheapParts(s); c != 1 && c != 2 {
		t.Fatalf("%d cheap parts after the crash, want 1 (2 once the replayed rows are flushed)", c)
	}
	if err := s.Close(); err != nil { // flushes the replayed rows if not yet: a second cheap part
		t.Fatal(err)
	}
	verifyOK(t, dir)
	s = openTest(t, testOptions(dir))
	defer s.Close()
	if c, _ := cheapParts(s); c != 2 {
		t.Fatalf("%d cheap parts after the restart, want 2", c)
	}
	checkIDs(t, readAll(t, s, Query{}), 500)
	if err := s.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	if c, f := cheapParts(s); c != 0 || f != 1 {
		t.Fatalf("after merge: %d cheap, %d full parts", c, f)
	}
	checkIDs(t, readAll(t, s, Query{}), 500)
	verifyOK(t, dir)
}

// TestVerifyCheap: verify decodes every row of cheap parts and reports a
// damaged chunk, and rows that disagree with the index.
func TestVerifyCheap(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, testOptions(dir))
	if err := s.Append(ctx, testEvents(0, 400)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var path string
	s.mu.Lock()
	for _, p := range s.parts {
		path = p.path
	}
	s.mu.Unlock()
	s.Close()
	verifyOK(t, dir)
	flip(t, path, 20) // inside the first block's rows chunk
	rep, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pr := range rep.Problems {
		found = found || strings.Contains(pr.What, "cheap block 0")
	}
	if !found {
		t.Fatalf("verify of a damaged cheap part: %v", rep.Problems)
	}
}

// buildCheapPart writes a cheap part of rows evs (one stream) into
// memory, with the index's times taken from times (nil: the rows').
func buildCheapPart(t testing.TB, evs []event.Event, times []int64) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.part")
	pw, err := createPart(path, "main", dayOf(evs[0].Time), levelFast)
	if err != nil {
		t.Fatal(err)
	}
	pw.version = rowsPartVersion
	parts := make([]string, len(evs))
	for i := range parts {
		parts[i] = "main"
	}
	rec, offs := encodeBatch(evs, parts, batchSize(evs, parts))
	rows := make([]memRow, len(evs))
	for i := range evs {
		rows[i] = memRow{time: evs[i].Time, off: offs[i], end: rowEnd(rec, offs, i)}
		if times != nil {
			rows[i].time = times[i]
		}
	}
	if err := writeCheapStream(pw, evs[0].Source, evs[0].Host, []string{string(rec)}, rows, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := pw.finish(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCheapRowsChecked(t *testing.T) {
	evs := testEvents(0, 50)
	for i := range evs {
		evs[i].Host = "h"
	}
	good := buildCheapPart(t, evs, nil)
	p, err := parsePart(good)
	if err != nil {
		t.Fatal(err)
	}
	if !p.cheap() {
		t.Fatal("not a cheap part")
	}
	got, err := p.cheapEvents(0)
	if err != nil || len(got) != 50 || got[7].Raw != evs[7].Raw {
		t.Fatalf("cheapEvents: %d rows, %v", len(got), err)
	}
	times := make([]int64, len(evs))
	for i := range times {
		times[i] = evs[i].Time + int64(time.Hour) // the index lies about times
	}
	p, err = parsePart(buildCheapPart(t, evs, times))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.cheapEvents(0); err == nil || !strings.Contains(err.Error(), "time") {
		t.Fatalf("rows outside the index's times: %v", err)
	}
}

// FuzzCheapPart: damaged cheap parts give errors, never panics.
func FuzzCheapPart(f *testing.F) {
	evs := testEvents(0, 30)
	for i := range evs {
		evs[i].Host = "h"
	}
	good := buildCheapPart(f, evs, nil)
	f.Add(good, 20, byte(1))
	f.Add(good, len(good)-40, byte(0x80))
	f.Fuzz(func(t *testing.T, data []byte, off int, x byte) {
		d := bytes.Clone(good)
		if len(data) > 0 {
			d = data
		} else if off >= 0 && off < len(d) {
			d[off] ^= x
		}
		p, err := parsePart(d)
		if err != nil {
			return
		}
		for i := range p.blocks {
			if p.cheap() {
				_, _ = p.cheapEvents(i) // errors are fine; panics are not
			}
		}
	})
}

// TestCheapBusyBound: while rows arrive, cheap parts beyond the bound
// (MergeMaxRows rows here; fewer than MergeMinParts, so no tier) merge.
func TestCheapBusyBound(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t.TempDir())
	opts.MergeMaxRows = 250
	s := openTest(t, opts)
	defer s.Close()
	for i := 0; i < 3; i++ {
		s.lastAppend.Store(time.Now().UnixNano())
		if err := s.Append(ctx, testEvents(i*100, 100)); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.merge(ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	if c, f := cheapParts(s); c != 0 || f != 1 {
		t.Fatalf("busy store over the bound: %d cheap, %d full parts; want 0, 1", c, f)
	}
	checkIDs(t, readAll(t, s, Query{}), 300)
}

// rowEnd is where event i of a batch encoded with offsets offs ends.
func rowEnd(rec []byte, offs []uint32, i int) uint32 {
	if i+1 < len(offs) {
		return offs[i+1]
	}
	return uint32(len(rec))
}

// TestCheapBusyAge: under a slow steady stream (never idle, far from the
// part and row bounds) a cheap part is merged once it is CheapMaxAge old,
// and not before; a negative CheapMaxAge keeps the bounds only.
func TestCheapBusyAge(t *testing.T) {
	for _, tc := range []struct {
		age       time.Duration
		wantCheap int
	}{{time.Minute, 0}, {-1, 3}} {
		ctx := context.Background()
		opts := testOptions(t.TempDir())
		opts.MergeQuietAfter = -1 // only the age decides
		opts.CheapMaxAge = tc.age
		var clock atomic.Int64
		clock.Store(time.Now().UnixNano())
		opts.Now = func() time.Time { return time.Unix(0, clock.Load()) }
		s := openTest(t, opts)
		for i := 0; i < 3; i++ {
			s.lastAppend.Store(time.Now().UnixNano()) // busy
			if err := s.Append(ctx, testEvents(i*100, 100)); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			clock.Add(int64(19 * time.Second))
			if err := s.merge(ctx, false); err != nil {
				t.Fatal(err)
			}
			if c, _ := cheapParts(s); c != i+1 {
				t.Fatalf("age %v: %d cheap parts after flush %d (%v after the first), want %d waiting", tc.age, c, i+1, time.Duration(i+1)*19*time.Second, i+1)
			}
		}
		clock.Add(int64(4 * time.Second)) // the first part is 61 s old
		s.lastAppend.Store(time.Now().UnixNano())
		if err := s.merge(ctx, false); err != nil {
			t.Fatal(err)
		}
		if c, _ := cheapParts(s); c != tc.wantCheap {
			t.Errorf("age %v: %d cheap parts after a minute, want %d", tc.age, c, tc.wantCheap)
		}
		checkIDs(t, readAll(t, s, Query{}), 300)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
