package query

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// TestNeedleDump writes every row of a query on a store directory as
// JSON lines to a file, for comparing the answers of two builds on the
// 10M store (opt-in: MAMORI_NEEDLE_DUMP_STORE, a copy; MAMORI_NEEDLE_DUMP_Q,
// the query; MAMORI_NEEDLE_DUMP_OUT, the file). The time range is the
// benchmark's day, as TestBenchStore.
func TestNeedleDump(t *testing.T) {
	dir, qs, out := os.Getenv("MAMORI_NEEDLE_DUMP_STORE"), os.Getenv("MAMORI_NEEDLE_DUMP_Q"), os.Getenv("MAMORI_NEEDLE_DUMP_OUT")
	if dir == "" || qs == "" || out == "" {
		t.Skip("set MAMORI_NEEDLE_DUMP_STORE, MAMORI_NEEDLE_DUMP_Q and MAMORI_NEEDLE_DUMP_OUT to dump a query's rows")
	}
	s, err := store.Open(store.Options{Dir: dir, MaintainInterval: -1, Sync: store.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	var buf []byte
	snap := s.Snapshot()
	defer snap.Release()
	_, err = Run(context.Background(), snap, MustParse(qs), Options{From: from, To: from + int64(24*time.Hour), Limit: 100_000}, func(r Row) error {
		buf = append(r.AppendJSON(buf), '\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}
