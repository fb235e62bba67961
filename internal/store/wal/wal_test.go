package wal

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func collect(t *testing.T, dir string, after uint64) (*WAL, []string, Replayed) {
	t.Helper()
	var got []string
	w, rep, err := Open(dir, after, Options{SegmentBytes: 300}, func(lsn uint64, p []byte) error {
		got = append(got, fmt.Sprintf("%d:%s", lsn, p))
		return nil
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return w, got, rep
}

func TestWriteReplay(t *testing.T) {
	dir := t.TempDir()
	w, got, _ := collect(t, dir, 0)
	if len(got) != 0 {
		t.Fatalf("new wal replayed %v", got)
	}
	for i := 0; i < 20; i++ {
		lsn, pos, err := w.Write([]byte(fmt.Sprintf("rec%02d", i)))
		if err != nil || lsn != uint64(i+1) {
			t.Fatalf("Write = %d, %v", lsn, err)
		}
		if err := w.Sync(pos); err != nil {
			t.Fatal(err)
		}
	}
	if st := w.Stats(); st.Segments < 2 {
		t.Fatalf("segments = %d, want rotation", st.Segments)
	}
	if err := w.Truncate(10); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, got, _ = collect(t, dir, 10)
	defer w.Close()
	if len(got) != 10 || got[0] != "11:rec10" || got[9] != "20:rec19" {
		t.Fatalf("replay after 10 = %v", got)
	}
	if lsn, _, _ := w.Write([]byte("next")); lsn != 21 {
		t.Fatalf("next lsn = %d, want 21", lsn)
	}
}

func TestTornTail(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for iter := 0; iter < 30; iter++ {
		dir := t.TempDir()
		w, _, _ := collect(t, dir, 0)
		for i := 0; i < 5; i++ {
			w.Write(bytes.Repeat([]byte{byte('a' + i)}, 10+i))
		}
		w.SyncAll()
		w.AbandonForTest()
		segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
		last := segs[len(segs)-1]
		st, _ := os.Stat(last)
		cut := rng.Int63n(st.Size() + 1)
		os.Truncate(last, cut)
		probs, err := Check(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range probs {
			if !p.Torn {
				t.Fatalf("cut at %d: problem %+v is not a torn tail", cut, p)
			}
		}
		w2, got, rep := collect(t, dir, 0)
		if rep.TornBytes == 0 && len(probs) > 0 {
			t.Fatalf("cut at %d: torn tail not reported", cut)
		}
		// Records before the cut survive in order; appends continue.
		lsn, pos, err := w2.Write([]byte("after"))
		if err != nil || w2.Sync(pos) != nil || lsn != uint64(len(got)+1) {
			t.Fatalf("write after cut: lsn %d (replayed %d), %v", lsn, len(got), err)
		}
		w2.Close()
		w3, again, _ := collect(t, dir, 0)
		w3.Close()
		if len(again) != len(got)+1 || again[len(again)-1] != fmt.Sprintf("%d:after", lsn) {
			t.Fatalf("cut at %d: replay after append = %v", cut, again)
		}
	}
}

func TestCorruptMiddleSegment(t *testing.T) {
	dir := t.TempDir()
	w, _, _ := collect(t, dir, 0)
	for i := 0; i < 30; i++ {
		w.Write([]byte(fmt.Sprintf("record number %d", i)))
	}
	w.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	b, _ := os.ReadFile(segs[0])
	b[len(b)-3] ^= 0xff
	os.WriteFile(segs[0], b, 0o644)
	probs, _ := Check(dir)
	if len(probs) != 1 || probs[0].Torn || probs[0].File != segs[0] {
		t.Fatalf("Check = %+v, want one non-torn problem in %s", probs, segs[0])
	}
	if _, _, err := Open(dir, 0, Options{}, nil); err == nil {
		t.Fatal("Open over a corrupt middle segment: no error")
	}
}

func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	w, _, _ := collect(t, dir, 0)
	var wg sync.WaitGroup
	const writers, per = 8, 50
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				_, pos, err := w.Write([]byte("x"))
				if err == nil {
					err = w.Sync(pos)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := w.Stats()
	if st.LastLSN != writers*per {
		t.Fatalf("last lsn %d", st.LastLSN)
	}
	t.Logf("%d syncs for %d records", st.Fsyncs, writers*per)
	w.Close()
	_, got, _ := collect(t, dir, 0)
	if len(got) != writers*per {
		t.Fatalf("replayed %d", len(got))
	}
}

func FuzzSegment(f *testing.F) {
	dir := f.TempDir()
	w, _, err := Open(dir, 0, Options{}, nil)
	if err != nil {
		f.Fatal(err)
	}
	w.Write([]byte("hello"))
	w.Write([]byte("world"))
	w.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	good, _ := os.ReadFile(segs[0])
	f.Add(good)
	f.Add(good[:len(good)-2])
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, segName(1)), data, 0o644)
		if _, err := Check(d); err != nil {
			t.Fatal(err)
		}
		w, _, err := Open(d, 0, Options{}, func(uint64, []byte) error { return nil })
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if _, pos, err := w.Write([]byte("ok")); err != nil || w.Sync(pos) != nil {
			t.Fatal(err)
		}
		w.Close()
	})
}

// TestTruncateCurrent checks that Truncate covering every record starts a
// new segment and deletes the old one, that appends and replay go on
// from the right LSN, and that a current segment with records past the
// truncation point stays.
func TestTruncateCurrent(t *testing.T) {
	dir := t.TempDir()
	w, _, err := Open(dir, 0, Options{SegmentBytes: 1 << 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := bytes.Repeat([]byte("x"), 100<<10) // more than a sixteenth of the segment
	var last uint64
	for i := 0; i < 3; i++ {
		lsn, pos, err := w.Write(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(pos); err != nil {
			t.Fatal(err)
		}
		last = lsn
	}
	if err := w.Truncate(last - 1); err != nil { // the current segment still has record 3
		t.Fatal(err)
	}
	if segs, _ := listSegments(dir); len(segs) != 1 {
		t.Fatalf("after a partial truncate: %d segments, want 1", len(segs))
	}
	if err := w.Truncate(last); err != nil {
		t.Fatal(err)
	}
	segs, _ := listSegments(dir)
	if len(segs) != 1 || segs[0].seq != 2 {
		t.Fatalf("after a full truncate: segments %v, want only number 2", segs)
	}
	lsn, pos, err := w.Write([]byte("after"))
	if err != nil || lsn != last+1 {
		t.Fatalf("Write after truncate = %d, %v; want lsn %d", lsn, err, last+1)
	}
	if err := w.Sync(pos); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var got []uint64
	w, rep, err := Open(dir, last, Options{SegmentBytes: 1 << 20}, func(lsn uint64, p []byte) error {
		got = append(got, lsn)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if len(got) != 1 || got[0] != last+1 || rep.LastLSN != last+1 {
		t.Fatalf("replay after truncate = %v (last %d), want [%d]", got, rep.LastLSN, last+1)
	}
}
