package query

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// TestBenchStore runs the harness's query set (bench/query.go) on an
// existing store directory, the way the server does (whole dataset day,
// limit 100,000), and logs wall and CPU time per query. It is opt-in and
// meant for profiling the read path on the 10M set:
//
//	cp -a /tmp/mamori-bench/data-10m /tmp/x && \
//	MAMORI_BENCH_STORE=/tmp/x/store go test ./internal/query -run TestBenchStore -v -cpuprofile cpu.out
//
// MAMORI_BENCH_Q (a regexp) picks queries, MAMORI_BENCH_RUNS the runs per
// query (default 3). The store directory is opened read-write (Open replays
// the WAL), so use a copy.
func TestBenchStore(t *testing.T) {
	dir := os.Getenv("MAMORI_BENCH_STORE")
	if dir == "" {
		t.Skip("set MAMORI_BENCH_STORE to a copy of a benchmark store directory to run the query set on it")
	}
	s, err := store.Open(store.Options{Dir: dir, MaintainInterval: -1, Sync: store.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	only := regexp.MustCompile(os.Getenv("MAMORI_BENCH_Q"))
	runs := 3
	if n, err := strconv.Atoi(os.Getenv("MAMORI_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	to := from + int64(24*time.Hour)
	cases := []struct{ name, query string }{
		{"needle_term", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		{"needle_ip", `"203.0.113.77"`},
		{"field_eq_needle", "src_ip=203.0.113.77"},
		{"field_eq_count", "user=zack.hill | count"},
		{"phrase_count", `"Failed password for invalid user" | count`},
		{"regex_count", `_raw matches /Failed password for invalid user (root|admin) from 1[0-9]{2}\./ | count`},
		{"count_by_host", "* | count by host"},
		{"count_by_1m", "* | timeslice 1m | count by _timeslice"},
		{"top_users", "* | count by user | sort by _count desc | limit 10"},
		{"distinct_src_ip", "* | count_distinct(src_ip)"},
		{"ssh_bruteforce_top", "app=sshd outcome=failure | count by src_ip | sort by _count desc | limit 10"},
		{"host_tail_100", "host=web-001.fra1.corp | limit 100"},
	}
	for _, c := range cases {
		if !only.MatchString(c.name) {
			continue
		}
		q := MustParse(c.query)
		var walls []time.Duration
		var rows []Row
		var st Stats
		cpu0 := cpuTime()
		for range runs {
			rows = rows[:0]
			snap := s.Snapshot()
			start := time.Now()
			st, err = Run(context.Background(), snap, q, Options{From: from, To: to, Limit: 100_000}, func(r Row) error { rows = append(rows, r); return nil })
			walls = append(walls, time.Since(start))
			snap.Release()
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		cpu := float64(cpuTime()-cpu0) / float64(runs) / 1e6
		first := ""
		if len(rows) > 0 {
			first = string(rows[0].AppendJSON(nil))
			if len(first) > 100 {
				first = first[:100]
			}
		}
		t.Logf("%-19s wall %v, cpu %.1f ms/run, %d rows, blocks %d/%d, rows scanned %d; first %s",
			c.name, walls, cpu, len(rows), st.BlocksScanned, st.BlocksTotal, st.RowsScanned, first)
	}
}
