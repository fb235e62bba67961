package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// The benchmark dataset is generated, not stored in the repository:
//
//	go run /work/shared/bench/gen/main.go -n 1000000 -seed 42 -out /tmp/sec-1m.ndjson
//
// MAMORI_BENCH_FILE overrides the path; MAMORI_BENCH_N caps the records.
func benchFile(b testing.TB) string {
	p := os.Getenv("MAMORI_BENCH_FILE")
	if p == "" {
		p = "/tmp/sec-1m.ndjson"
	}
	if _, err := os.Stat(p); err != nil {
		b.Skipf("benchmark data %s absent (generate it with /work/shared/bench/gen): %v", p, err)
	}
	return p
}

// loadBenchEvents decodes the NDJSON file simply: _time → Time, _msg →
// Raw, host → Host, app → Source, the rest → Fields.
func loadBenchEvents(b *testing.B, path string, limit int) ([]event.Event, int64) {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var evs []event.Event
	var bytes int64
	for sc.Scan() && (limit <= 0 || len(evs) < limit) {
		line := sc.Bytes()
		bytes += int64(len(line)) + 1
		var m map[string]string
		if err := json.Unmarshal(line, &m); err != nil {
			continue // values that are not strings: skip the record
		}
		e := event.Event{Raw: m["_msg"], Host: m["host"], Source: m["app"]}
		e.Time, _ = event.ParseTime(m["_time"])
		for k, v := range m {
			switch k {
			case "_time", "_msg", "host", "app":
			default:
				e.Fields = append(e.Fields, event.Field{Name: k, Value: v})
			}
		}
		evs = append(evs, e)
	}
	return evs, bytes
}

var benchEventsOnce struct {
	sync.Once
	evs []event.Event
}

func benchEvents(b *testing.B) []event.Event {
	p := benchFile(b)
	benchEventsOnce.Do(func() {
		n := 0
		if s := os.Getenv("MAMORI_BENCH_N"); s != "" {
			n = atoiOr(s, 0)
		}
		benchEventsOnce.evs, _ = loadBenchEvents(b, p, n)
	})
	return benchEventsOnce.evs
}

func atoiOr(s string, d int) int {
	if s == "" {
		return d
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return d
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// BenchmarkAppend appends the dataset with 4 concurrent appenders in
// batches of 1000 events, fsync on (SyncAlways), then flushes and merges
// and reports CPU per record and bytes per record on disk.
func BenchmarkAppend(b *testing.B) {
	evs := benchEvents(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		s, err := Open(Options{Dir: dir, MaintainInterval: -1, MergeMinParts: 2})
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := cpuTime()
		start := time.Now()
		const batch, workers = 1000, 4
		next := make(chan int, workers)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for off := range next {
					for {
						err := s.Append(ctx, evs[off:min(off+batch, len(evs))])
						if err == ErrOverloaded {
							time.Sleep(time.Millisecond)
							continue
						}
						if err != nil {
							b.Error(err)
						}
						break
					}
				}
			}()
		}
		for off := 0; off < len(evs); off += batch {
			next <- off
		}
		close(next)
		wg.Wait()
		appendWall := time.Since(start)
		appendCPU := cpuTime() - cpu0
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Merge(ctx); err != nil {
			b.Fatal(err)
		}
		totalCPU := cpuTime() - cpu0
		n := float64(len(evs))
		b.ReportMetric(float64(appendWall.Nanoseconds())/n, "wall-ns/record")
		b.ReportMetric(float64(appendCPU.Nanoseconds())/n, "append-cpu-ns/record")
		b.ReportMetric(float64(totalCPU.Nanoseconds())/n, "total-cpu-ns/record")
		var size int64
		filepath.Walk(filepath.Join(dir, partsDir), func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				size += fi.Size()
			}
			return nil
		})
		b.ReportMetric(float64(size)/n, "disk-bytes/record")
		if i == 0 {
			reportColumns(b, s, n)
		}
		m := s.Metrics()
		b.ReportMetric(float64(m.WALFsyncs), "fsyncs")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MiB")
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// reportColumns logs the bytes per record of each column and of the
// blooms and indexes.
func reportColumns(b *testing.B, s *Store, n float64) {
	by := map[string]int64{}
	s.mu.Lock()
	for _, p := range s.parts {
		var idx int64 = p.info.Size
		for _, bm := range p.blocks {
			by["(bloom)"] += int64(bm.bloomLen)
			by["_time"] += int64(bm.timeCol.size)
			idx -= int64(bm.bloomLen) + int64(bm.timeCol.size)
			for _, c := range bm.cols {
				by[p.names[c.name]] += int64(c.size)
				idx -= int64(c.size)
			}
		}
		by["(index+footer)"] += idx
	}
	s.mu.Unlock()
	for k, v := range by {
		fmt.Fprintf(os.Stderr, "column %-16s %7.2f bytes/record\n", k, float64(v)/n)
	}
}

// BenchmarkQueries builds a store from the dataset (4 appenders, flush,
// merge) and times the store's side of the README's queries: Blocks
// pruning plus Load of the columns the query needs, with a plain row loop
// standing in for the query engine.
func BenchmarkQueries(b *testing.B) {
	evs := benchEvents(b)
	ctx := context.Background()
	dir := b.TempDir()
	s, err := Open(Options{Dir: dir, MaintainInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for off := 0; off < len(evs); off += 1000 {
		for {
			err := s.Append(ctx, evs[off:min(off+1000, len(evs))])
			if err == ErrOverloaded {
				time.Sleep(time.Millisecond)
				continue
			}
			if err != nil {
				b.Fatal(err)
			}
			break
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.Merge(ctx); err != nil {
		b.Fatal(err)
	}
	count := func(q Query, col string, match func(string) bool) (int, Stats) {
		sn := s.Snapshot()
		defer sn.Release()
		refs, st, err := sn.Blocks(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, r := range refs {
			blk, err := r.Load([]string{col})
			if err != nil {
				b.Fatal(err)
			}
			c := &blk.Cols[0]
			for i, v := range c.Values {
				if c.Has(i) && match(v) {
					n++
				}
			}
		}
		return n, st
	}
	const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	const ip = "203.0.113.77"
	contains := func(s string) func(string) bool {
		return func(v string) bool { return token.Match(v, s) }
	}
	equals := func(s string) func(string) bool { return func(v string) bool { return v == s } }
	cases := []struct {
		name  string
		q     Query
		col   string
		match func(string) bool
	}{
		{"needle_term", Query{Filter: &Filter{Op: FilterToken, Token: sha}}, event.FieldRaw, contains(sha)},
		{"needle_ip", Query{Filter: &Filter{Op: FilterToken, Token: ip}}, event.FieldRaw, contains(ip)},
		{"field_eq_needle", Query{Filter: &Filter{Op: FilterEqual, Field: "src_ip", Value: ip}}, "src_ip", equals(ip)},
		{"field_eq_count", Query{Filter: &Filter{Op: FilterEqual, Field: "user", Value: "zack.hill"}}, "user", equals("zack.hill")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var n int
			var st Stats
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				n, st = count(c.q, c.col, c.match)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(n), "rows")
			b.ReportMetric(float64(st.BlocksScanned), "blocks-kept")
			b.ReportMetric(float64(st.BlocksTotal), "blocks-total")
		})
	}
	b.Run("count_by_1m", func(b *testing.B) {
		var n int
		for i := 0; i < b.N; i++ {
			sn := s.Snapshot()
			refs, _, _ := sn.Blocks(ctx, Query{})
			m := map[int64]int{}
			for _, r := range refs {
				for _, mc := range r.MinuteCounts() {
					m[mc.Minute] += mc.Count
				}
			}
			sn.Release()
			n = len(m)
		}
		b.ReportMetric(float64(n), "rows")
	})
	b.Run("count_by_host", func(b *testing.B) {
		var n int
		for i := 0; i < b.N; i++ {
			sn := s.Snapshot()
			refs, _, _ := sn.Blocks(ctx, Query{})
			m := map[string]int{}
			for _, r := range refs {
				m[r.Host()] += r.Rows()
			}
			sn.Release()
			n = len(m)
		}
		b.ReportMetric(float64(n), "rows")
	})
	b.Run("host_tail_100", func(b *testing.B) {
		var n int
		for i := 0; i < b.N; i++ {
			sn := s.Snapshot()
			refs, _, _ := sn.Blocks(ctx, Query{Hosts: []string{"web-001.fra1.corp"}})
			n = 0
			for j := len(refs) - 1; j >= 0 && n < 100; j-- {
				blk, err := refs[j].Load([]string{event.FieldRaw})
				if err != nil {
					b.Fatal(err)
				}
				n += min(blk.Rows(), 100-n)
			}
			sn.Release()
		}
		b.ReportMetric(float64(n), "rows")
	})
}

// BenchmarkIngestStream streams the NDJSON file into a store (decode on
// the fly, batches of 1000, 4 appenders, fsync on) the way the server
// does, and reports the process's peak RSS (VmHWM; run it alone).
func BenchmarkIngestStream(b *testing.B) {
	path := benchFile(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		s, err := Open(Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		batches := make(chan []event.Event, 4)
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for evs := range batches {
					for {
						err := s.Append(ctx, evs)
						if err == ErrOverloaded {
							time.Sleep(5 * time.Millisecond)
							continue
						}
						if err != nil {
							b.Error(err)
						}
						break
					}
				}
			}()
		}
		cpu0, start := cpuTime(), time.Now()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		n := 0
		var batch []event.Event
		for sc.Scan() {
			var m map[string]string
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			e := event.Event{Raw: m["_msg"], Host: m["host"], Source: m["app"]}
			e.Time, _ = event.ParseTime(m["_time"])
			for k, v := range m {
				if k != "_time" && k != "_msg" && k != "host" && k != "app" {
					e.Fields = append(e.Fields, event.Field{Name: k, Value: v})
				}
			}
			batch = append(batch, e)
			if len(batch) == 1000 {
				batches <- batch
				batch = nil
			}
			n++
		}
		if len(batch) > 0 {
			batches <- batch
		}
		close(batches)
		wg.Wait()
		f.Close()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		var size int64
		filepath.Walk(filepath.Join(dir, partsDir), func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				size += fi.Size()
			}
			return nil
		})
		b.ReportMetric(float64(size)/float64(n), "disk-bytes/record(no-final-merge)")
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(n), "wall-ns/record")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/record(incl-json)")
		b.ReportMetric(peakRSSMiB(), "peak-rss-MiB")
	}
}

func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				return float64(atoiOr(f[1], 0)) / 1024
			}
		}
	}
	return 0
}
