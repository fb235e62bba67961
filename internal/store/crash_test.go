package store

import (
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestTornWAL cuts the WAL at random offsets after a crash: Open must
// succeed, keep every record before the cut exactly once, and a later
// append must survive a further crash.
func TestTornWAL(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 12; iter++ {
		dir := t.TempDir()
		ctx := context.Background()
		s := openTest(t, testOptions(dir))
		const batches, per = 10, 20
		for b := 0; b < batches; b++ {
			if err := s.Append(ctx, testEvents(b*per, per)); err != nil {
				t.Fatal(err)
			}
			if b == 3 {
				if err := s.Flush(ctx); err != nil { // the first 80 are in parts
					t.Fatal(err)
				}
			}
		}
		abandon(s)
		segs, _ := filepath.Glob(filepath.Join(dir, walDir, "*.wal"))
		last := segs[len(segs)-1]
		st, _ := os.Stat(last)
		cut := rng.Int63n(st.Size() + 1)
		if err := os.Truncate(last, cut); err != nil {
			t.Fatal(err)
		}
		if iter%3 == 0 && cut > 20 { // garbage instead of a clean cut
			f, _ := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
			f.Write([]byte("\x10\x00\x00\x00garbage"))
			f.Close()
		}
		rep, err := Verify(dir)
		if err != nil || !rep.OK() {
			t.Fatalf("Verify after cut: %v %v", err, rep.Problems)
		}
		s2 := openTest(t, testOptions(dir))
		ids := readAll(t, s2, Query{})
		// Every batch is whole or absent, and the flushed ones are present.
		if len(ids) < 80 || len(ids)%per != 0 {
			t.Fatalf("cut %d: %d rows survive", cut, len(ids))
		}
		checkIDs(t, ids, len(ids))
		n := len(ids)
		if err := s2.Append(ctx, testEvents(n, per)); err != nil {
			t.Fatal(err)
		}
		abandon(s2)
		s3 := openTest(t, testOptions(dir))
		checkIDs(t, readAll(t, s3, Query{}), n+per)
		if err := s3.Close(); err != nil {
			t.Fatal(err)
		}
		verifyOK(t, dir)
	}
}

// TestCrashBeforeCommit leaves a written but uncommitted part behind:
// Open removes it and replays the WAL instead.
func TestCrashBeforeCommit(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTest(t, testOptions(dir))
	if err := s.Append(ctx, testEvents(0, 100)); err != nil {
		t.Fatal(err)
	}
	infos, err := s.writeMemtable(ctx, s.mem) // parts on disk, no commit
	if err != nil || len(infos) == 0 {
		t.Fatalf("writeMemtable: %v %v", infos, err)
	}
	abandon(s)
	rep, _ := Verify(dir)
	if !rep.OK() || len(rep.Notes) == 0 {
		t.Fatalf("Verify: problems %v notes %v, want a note about the uncommitted part", rep.Problems, rep.Notes)
	}
	s2 := openTest(t, testOptions(dir))
	defer s2.Close()
	checkIDs(t, readAll(t, s2, Query{}), 100)
	// Wait for the background flush of the replayed rows, which may be
	// writing a part of the same name (renamed, not yet committed).
	if err := s2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		// s2 may have flushed the replayed rows under the same name.
		s2.mu.Lock()
		_, live := s2.parts[in.Name]
		s2.mu.Unlock()
		if _, err := os.Stat(filepath.Join(dir, partsDir, in.Name)); err == nil && !live {
			t.Fatalf("orphan part %s not removed", in.Name)
		}
	}
	_ = strconv.Itoa
}

// TestFlushFailureKeepsOrder: a failed flush keeps its memtable searchable
// and is retried before any later one, so the manifest's WAL position
// never covers records that are not in parts.
func TestFlushFailureKeepsOrder(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTest(t, testOptions(dir))
	if err := s.Append(ctx, testEvents(0, 100)); err != nil {
		t.Fatal(err)
	}
	fail := true
	s.flushHook = func() error {
		if fail {
			return os.ErrPermission
		}
		return nil
	}
	if err := s.Flush(ctx); err == nil {
		t.Fatal("Flush with a failing write: no error")
	}
	if err := s.Append(ctx, testEvents(100, 100)); err != nil {
		t.Fatal(err)
	}
	checkIDs(t, readAll(t, s, Query{}), 200) // the failed memtable is still searchable
	if err := s.Flush(ctx); err == nil {
		t.Fatal("second Flush flushed past a failed one")
	}
	fail = false
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if m := s.Metrics(); m.BufferRows != 0 || m.FlushErrors != 2 {
		t.Fatalf("after retry: buffer rows %d, flush errors %d", m.BufferRows, m.FlushErrors)
	}
	abandon(s)
	s2 := openTest(t, testOptions(dir))
	defer s2.Close()
	checkIDs(t, readAll(t, s2, Query{}), 200)
}
