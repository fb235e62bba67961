package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// testEvents returns n events over hosts, with distinct ids.
func testEvents(start, n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		id := start + i
		evs[i] = event.Event{
			Time:   t0 + int64(id)*int64(time.Second),
			Raw:    fmt.Sprintf("Failed password for user%d from 10.0.%d.%d port %d ssh2 id=%d", id%50, id%7, id%200, 1000+id%5000, id),
			Source: "sshd",
			Host:   "host-" + strconv.Itoa(id%5),
			Fields: []event.Field{{Name: "id", Value: strconv.Itoa(id)}, {Name: "user", Value: "user" + strconv.Itoa(id%50)}},
		}
		if id%3 == 0 {
			evs[i].Category = "auth"
			evs[i].Fields = append(evs[i].Fields, event.Field{Name: "odd", Value: "x y"})
		}
	}
	return evs
}

func testOptions(dir string) Options {
	return Options{Dir: dir, MaintainInterval: -1, FlushInterval: time.Hour, BlockRows: 100}
}

func openTest(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// readAll returns every row's id field, via Snapshot/Blocks/Load.
func readAll(t *testing.T, s *Store, q Query) []string {
	t.Helper()
	sn := s.Snapshot()
	defer sn.Release()
	refs, _, err := sn.Blocks(context.Background(), q)
	if err != nil {
		t.Fatalf("Blocks: %v", err)
	}
	var ids []string
	for _, r := range refs {
		b, err := r.Load([]string{"id", event.FieldRaw})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if b.Rows() != r.Rows() {
			t.Fatalf("Load rows %d, ref says %d", b.Rows(), r.Rows())
		}
		for i := range b.Times {
			if i > 0 && b.Times[i] < b.Times[i-1] {
				t.Fatalf("block not sorted by time")
			}
			ids = append(ids, b.Cols[0].Values[i])
		}
	}
	sort.Slice(ids, func(i, j int) bool { a, _ := strconv.Atoi(ids[i]); b, _ := strconv.Atoi(ids[j]); return a < b })
	return ids
}

// checkIDs fails unless ids are exactly 0..n-1, each once.
func checkIDs(t *testing.T, ids []string, n int) {
	t.Helper()
	if len(ids) != n {
		t.Fatalf("got %d rows, want %d", len(ids), n)
	}
	for i, id := range ids {
		if id != strconv.Itoa(i) {
			t.Fatalf("row %d has id %s (lost or duplicated rows)", i, id)
		}
	}
}

func verifyOK(t *testing.T, dir string) {
	t.Helper()
	rep, err := Verify(dir)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.OK() {
		t.Fatalf("Verify found problems: %v", rep.Problems)
	}
}

func TestAppendFlushReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, testOptions(dir))
	ctx := context.Background()
	if err := s.Append(ctx, testEvents(0, 500)); err != nil {
		t.Fatal(err)
	}
	checkIDs(t, readAll(t, s, Query{}), 500) // from memory
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, testEvents(500, 300)); err != nil {
		t.Fatal(err)
	}
	checkIDs(t, readAll(t, s, Query{}), 800) // parts + memory
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, dir)
	s = openTest(t, testOptions(dir))
	defer s.Close()
	checkIDs(t, readAll(t, s, Query{}), 800)
	// Full content round trip of one event.
	sn := s.Snapshot()
	defer sn.Release()
	refs, _, _ := sn.Blocks(ctx, Query{Hosts: []string{"host-0"}})
	b, err := refs[0].Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := testEvents(0, 1)[0]
	if b.Times[0] != want.Time || b.Column(event.FieldRaw).Values[0] != want.Raw || b.Column(event.FieldCategory).Values[0] != "auth" ||
		b.Column("odd").Values[0] != "x y" || b.Column(event.FieldTime).Values[0] != event.FormatTime(want.Time) {
		t.Fatalf("Load(nil) first row = %+v", b)
	}
	if err := s.Append(ctx, testEvents(800, 10)); err != nil {
		t.Fatal(err)
	}
	mem := s.Snapshot()
	defer mem.Release()
	mrefs, _, _ := mem.Blocks(ctx, Query{MinTime: t0 + 800*1e9})
	if len(mrefs) == 0 {
		t.Fatal("no in-memory blocks")
	}
	for _, r := range mrefs {
		mb, err := r.Load(nil)
		if err != nil {
			t.Fatal(err)
		}
		names := []string{}
		for _, c := range mb.Cols {
			names = append(names, c.Name)
		}
		if d := cmp.Diff(r.Columns(), names); d != "" {
			t.Fatalf("memory block Columns and Load(nil) differ:\n%s", d)
		}
	}
	if c := b.Column("odd"); c.Has(1) {
		t.Fatalf("odd present in row 1: %+v", c)
	}
}

func TestCrashReplay(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
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
	abandon(s) // crash: no Close
	s2 := openTest(t, testOptions(dir))
	checkIDs(t, readAll(t, s2, Query{}), 500)
	if err := s2.Append(ctx, testEvents(500, 100)); err != nil {
		t.Fatal(err)
	}
	if err := s2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	abandon(s2)
	s3 := openTest(t, testOptions(dir))
	defer s3.Close()
	checkIDs(t, readAll(t, s3, Query{}), 600)
	verifyOK(t, dir)
}

// abandon simulates kill -9: background goroutines stop, files stay as
// they are (nothing flushed, nothing synced beyond what Append did).
func abandon(s *Store) {
	close(s.done)
	s.wg.Wait()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.closeParts()
	// Close file descriptors without syncing or flushing anything.
	s.wal.AbandonForTest()
	s.man.close()
}

func TestConcurrentAppendSearchMerge(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.FlushBytes = 64 << 10
	opts.MergeMinParts = 2
	s := openTest(t, opts)
	ctx := context.Background()
	const writers, batches, per = 4, 20, 50
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				if err := s.Append(ctx, testEvents((w*batches+b)*per, per)); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			sn := s.Snapshot()
			refs, _, err := sn.Blocks(ctx, Query{})
			if err != nil {
				t.Error(err)
			}
			for _, r := range refs {
				if _, err := r.Load([]string{"id"}); err != nil {
					t.Error(err)
				}
			}
			sn.Release()
		}
	}()
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Flush(ctx); err != nil {
				t.Error(err)
			}
			if err := s.Merge(ctx); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	close(stop)
	bg.Wait()
	checkIDs(t, readAll(t, s, Query{}), writers*batches*per)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, dir)
	if _, err := os.Stat(filepath.Join(dir, manifestName)); err != nil {
		t.Fatal(err)
	}
}
