package query

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// TestBenchPhases splits the wall time of aggregation queries on an
// existing store (MAMORI_BENCH_STORE, as TestBenchStore) into phases:
// prepare and plan, block listing, the parallel scan (with each worker's
// busy time and its end), the merge of the shards and the table stages.
// It is opt-in, for finding serial phases.
func TestBenchPhases(t *testing.T) {
	dir := os.Getenv("MAMORI_BENCH_STORE")
	if dir == "" {
		t.Skip("set MAMORI_BENCH_STORE to a copy of a benchmark store directory to time query phases on it")
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
		{"field_eq_count", "user=zack.hill | count"},
		{"top_users", "* | count by user | sort by _count desc | limit 10"},
		{"distinct_src_ip", "* | count_distinct(src_ip)"},
		{"ssh_bruteforce_top", "app=sshd outcome=failure | count by src_ip | sort by _count desc | limit 10"},
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, c := range cases {
		if !only.MatchString(c.name) {
			continue
		}
		for range runs {
			ctx := context.Background()
			snap := s.Snapshot()
			t0 := time.Now()
			opts := Options{From: from, To: to, Limit: 100_000}
			q, err := prepareQuery(ctx, snap, MustParse(c.query), &opts)
			if err != nil {
				t.Fatal(err)
			}
			p, err := newPlan(q, &opts)
			if err != nil {
				t.Fatal(err)
			}
			ex := &executor{p: p, opts: &opts, emit: func(Row) error { return nil }, budget: &budget{}}
			t1 := time.Now()
			c1 := cpuTime()
			if n, _ := strconv.Atoi(os.Getenv("MAMORI_PROBE_BLOCKS")); n > 0 {
				var r0, r1 syscall.Rusage
				syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
				b0 := time.Now()
				for range n { // profile the listing alone
					if _, _, err := snap.Blocks(ctx, p.sq); err != nil {
						t.Fatal(err)
					}
				}
				syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
				t.Logf("listing: %v per call, %d minor faults per call", time.Since(b0)/time.Duration(n), (r1.Minflt-r0.Minflt)/int64(n))
			}
			refs, _, err := snap.Blocks(ctx, p.sq)
			c2 := cpuTime()
			if err != nil {
				t.Fatal(err)
			}
			t2 := time.Now()
			nw := ex.workers()
			refs = largestFirst(refs, nw)
			shards := make([]aggShard, nw)
			for i := range shards {
				shards[i] = p.agg.newShard(ex.budget)
			}
			var ips []ipAgg
			if p.dict.ipAgg != "" && len(p.prefix) == 0 {
				ips = make([]ipAgg, nw)
			}
			var mu sync.Mutex
			busy := make([]time.Duration, nw)
			end := make([]time.Duration, nw)
			var slow []time.Duration
			err = ex.forEachBlock(ctx, refs, func(w *worker, i int) error {
				b0 := time.Now()
				defer func() {
					d := time.Since(b0)
					mu.Lock()
					busy[w.id] += d
					end[w.id] = time.Since(t2)
					slow = append(slow, d)
					mu.Unlock()
				}()
				w.shard = shards[w.id]
				w.pre = preFilter{}
				if ips != nil {
					if done, err := ips[w.id].aggBlock(w, refs[i]); done || err != nil {
						return err
					}
				}
				return w.aggBlock(refs[i])
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t3 := time.Now()
			c3 := cpuTime()
			if ips != nil {
				if err := flushIP(ips, shards, &p.dict); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := p.agg.result(shards)
			if err != nil {
				t.Fatal(err)
			}
			t4 := time.Now()
			c4 := cpuTime()
			if err := ex.finish(ctx, rows, &Stats{}); err != nil {
				t.Fatal(err)
			}
			t5 := time.Now()
			snap.Release()
			slices.Sort(slow)
			top := slow[max(0, len(slow)-3):]
			t.Logf("%-19s total %.1f: plan %.2f blocks %.2f cpu %.2f (%d) scan %.1f cpu %.1f [busy %.1f/%.1f end %.1f/%.1f, slowest %v] merge %.2f cpu %.2f finish %.2f",
				c.name, ms(t5.Sub(t0)), ms(t1.Sub(t0)), ms(t2.Sub(t1)), ms(time.Duration(c2-c1)), len(refs), ms(t3.Sub(t2)), ms(time.Duration(c3-c2)),
				ms(busy[0]), ms(busy[len(busy)-1]), ms(end[0]), ms(end[len(end)-1]), top, ms(t4.Sub(t3)), ms(time.Duration(c4-c3)), ms(t5.Sub(t4)))
		}
	}
}
