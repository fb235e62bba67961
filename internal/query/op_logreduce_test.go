package query

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestLogReduceBenchSet times logreduce over the benchmark set (issue #9:
// "| logreduce" over the 1M records in at most 5 s), like TestBenchSet:
//
//	MAMORI_BENCH_NDJSON=/tmp/sec-1m.ndjson MAMORI_BENCH_DIR=/tmp/bench-store \
//	  go test ./internal/query -run TestLogReduceBenchSet -v
//
// It reports times and checks only that signatures come out; speed targets
// are not asserted in tests.
func TestLogReduceBenchSet(t *testing.T) {
	path := os.Getenv("MAMORI_BENCH_NDJSON")
	if path == "" {
		t.Skip("set MAMORI_BENCH_NDJSON to a file from ../shared/bench/gen to time logreduce on the benchmark set")
	}
	s, _ := benchSetStore(t, path)
	snap := s.Snapshot()
	defer snap.Release()
	for _, q := range []string{"| logreduce", "| logreduce keys", "app=sshd | logreduce"} {
		var rows int
		cpu0 := cpuTime()
		start := time.Now()
		_, err := Run(context.Background(), snap, MustParse(q), Options{}, func(Row) error { rows++; return nil })
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		wall := time.Since(start)
		t.Logf("%-22s %7.2f s wall, %7.2f s CPU, %d signatures", q, wall.Seconds(), float64(cpuTime()-cpu0)/1e9, rows)
		if rows == 0 {
			t.Errorf("%s: no signatures", q)
		}
	}
}
