package query

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// TestPlanStats runs the phrase and regexp queries of the harness on
// MAMORI_BENCH_STORE (opt-in, opened read only as TestBenchStore does)
// with the prepass's skeleton plans (phrase_plan.go) and without, in one
// binary, and logs the CPU of each run: MAMORI_PLAN_MODE alt (8 pairs),
// on or off (2 runs each, else 2 pairs), MAMORI_PLAN_Q phrase or regex
// (else both), MAMORI_PLAN_LIT=1 for plans on the regexp's literal too.
func TestPlanStats(t *testing.T) {
	dir := os.Getenv("MAMORI_BENCH_STORE")
	if dir == "" {
		t.Skip("set MAMORI_BENCH_STORE to a benchmark store directory")
	}
	s, err := store.Open(store.Options{Dir: dir, MaintainInterval: -1, Sync: store.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	planLit = os.Getenv("MAMORI_PLAN_LIT") != ""
	defer func() { planLit = false }()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for _, qs := range []string{`"Failed password for invalid user" | count`, `_raw matches /Failed password for invalid user (root|admin) from 1[0-9]{2}\./ | count`} {
		q := MustParse(qs)
		modes := []bool{false, true, false, true}
		switch os.Getenv("MAMORI_PLAN_MODE") {
		case "on":
			modes = []bool{false, false}
		case "off":
			modes = []bool{true, true}
		case "alt":
			modes = nil
			for range 8 {
				modes = append(modes, false, true)
			}
		}
		if os.Getenv("MAMORI_PLAN_Q") == "regex" && qs[0] == '"' || os.Getenv("MAMORI_PLAN_Q") == "phrase" && qs[0] != '"' {
			continue
		}
		for _, off := range modes {
			planOff = off
			var rows []Row
			c0 := cpuTime()
			snap := s.Snapshot()
			_, err := Run(context.Background(), snap, q, Options{From: from, To: from + int64(24*time.Hour), Limit: 100_000}, func(r Row) error { rows = append(rows, r); return nil })
			snap.Release()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%.30s off=%v cpu %.1f ms, %s", qs, off, float64(cpuTime()-c0)/1e6, rows[0].AppendJSON(nil))
		}
	}
	planOff = false
}
