package query

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// TestScriptsStore runs the data-driven scripts against the real embedded
// store: events appended, flushed to parts, then searched.
func TestScriptsStore(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runScript(t, f, storeSnapshot) })
	}
}

func storeSnapshot(t *testing.T, events []event.Event, blockRows int) store.Snapshot {
	t.Helper()
	// Full flushes: the snapshot has the encoded parts of a settled store
	// (the loaders these tests spy on); cheap parts have their own
	// differential test (internal/store cheap_query_test.go).
	s, err := store.Open(store.Options{Dir: t.TempDir(), BlockRows: blockRows, MaintainInterval: -1, Sync: store.SyncInterval, FullFlush: true})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	ctx := context.Background()
	if err := s.Append(ctx, append([]event.Event(nil), events...)); err != nil {
		t.Fatalf("store append: %v", err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("store flush: %v", err)
	}
	snap := s.Snapshot()
	t.Cleanup(snap.Release)
	return snap
}
