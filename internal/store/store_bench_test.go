package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// The benchmark dataset is generated, not stored in the repository:
//
//	go run /work/shared/bench/gen/main.go -n 1000000 -seed 42 -out /tmp/sec-1m.ndjson
//
// MAMORI_BENCH_FILE overrides the path; MAMORI_BENCH_N caps the records.
func benchFile(b *testing.B) string {
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
