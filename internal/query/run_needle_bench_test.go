package query

import (
	"hash/fnv"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// TestNeedleStoreQueries runs the queries of MAMORI_NEEDLE_QUERIES (one
// per line) on a copy of a store directory (MAMORI_BENCH_STORE) and logs
// wall and CPU time per run, the row count and a hash of the rows, to
// compare builds. Opt-in: a measuring tool, not a check.
func TestNeedleStoreQueries(t *testing.T) {
	dir, list := os.Getenv("MAMORI_BENCH_STORE"), os.Getenv("MAMORI_NEEDLE_QUERIES")
	if dir == "" || list == "" {
		t.Skip("set MAMORI_BENCH_STORE (a copy of a store directory) and MAMORI_NEEDLE_QUERIES to time queries")
	}
	s, err := store.Open(store.Options{Dir: dir, MaintainInterval: -1, Sync: store.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	o := Options{From: from, To: from + int64(24*time.Hour), Limit: 100_000}
	for _, text := range strings.Split(list, "\n") {
		if strings.TrimSpace(text) == "" {
			continue
		}
		q := MustParse(text)
		var walls, cpus []time.Duration
		var out string
		for range 5 {
			snap := s.Snapshot()
			cpu0, start := cpuTime(), time.Now()
			out = runText(t, snap, q, o)
			walls, cpus = append(walls, time.Since(start)), append(cpus, time.Duration(cpuTime()-cpu0))
			snap.Release()
		}
		slices.Sort(walls)
		slices.Sort(cpus)
		t.Logf("%-50q wall %6.1f ms cpu %6.1f ms (medians of 5), %d rows, hash %016x", text,
			float64(walls[2].Microseconds())/1000, float64(cpus[2].Microseconds())/1000, strings.Count(out, "\n"), fnv64(out))
	}
}

// fnv64 hashes the rows to compare builds (FNV-1a).
func fnv64(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}
