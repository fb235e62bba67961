package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// BenchmarkIngestPath runs the server's ingest path in process, the way
// `go run ./bench` drives the real binary: the NDJSON file (set
// MAMORI_BENCH_NDJSON; MAMORI_BENCH_N caps the records) cut into 2 MiB
// bodies, 4 concurrent requests, each DecodeLines then store.Append
// (fsync always, default store options, background flushes and merges),
// retried after a pause when the store is overloaded. Then it flushes and
// merges until nothing is left to merge. It reports CPU time (getrusage,
// so all goroutines) per record at ingest and with the merges, peak RSS
// and bytes per record on disk. Profile it with -cpuprofile.
func BenchmarkIngestPath(b *testing.B) {
	path := os.Getenv("MAMORI_BENCH_NDJSON")
	if path == "" {
		b.Skip("set MAMORI_BENCH_NDJSON to a file from ../shared/bench/gen")
	}
	limit, _ := strconv.Atoi(os.Getenv("MAMORI_BENCH_N"))
	for i := 0; i < b.N; i++ {
		runIngestPath(b, path, limit)
	}
}

func runIngestPath(b *testing.B, path string, limit int) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	bodies := make(chan []byte, 4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var retries atomic.Int64
	records := 0
	budget := NewBudget(256 << 20)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				for {
					evs, res, err := DecodeLines(bytes.NewReader(body), LineOptions{Now: func() int64 { return time.Now().UnixNano() }, Budget: budget})
					if err == nil {
						err = st.Append(ctx, evs)
					}
					budget.Release(res.Charged)
					if errors.Is(err, ErrOverloaded) || errors.Is(err, store.ErrOverloaded) {
						// The server answers 429 with Retry-After: 1, and
						// the client sends the body again (decoded again).
						retries.Add(1)
						time.Sleep(time.Second)
						continue
					}
					if err != nil {
						b.Error(err)
					}
					mu.Lock()
					records += len(evs)
					mu.Unlock()
					break
				}
			}
		}()
	}
	cpu0, start := benchCPU(), time.Now()
	br := bufio.NewReaderSize(f, 1<<20)
	n := 0
	for limit <= 0 || n < limit {
		var body []byte
		for len(body) < 2<<20 && (limit <= 0 || n < limit) {
			line, err := br.ReadSlice('\n')
			body = append(body, line...)
			if len(line) > 0 {
				n++
			}
			if err == io.EOF {
				break
			}
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				b.Fatal(err)
			}
		}
		if len(body) == 0 {
			break
		}
		bodies <- body
		if len(body) < 2<<20 && (limit <= 0 || n < limit) {
			break // end of file
		}
	}
	close(bodies)
	wg.Wait()
	ingestCPU, ingestWall := benchCPU()-cpu0, time.Since(start)
	rss := peakRSS()
	if err := st.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if err := st.Merge(ctx); err != nil {
		b.Fatal(err)
	}
	totalCPU := benchCPU() - cpu0
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	var size int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	r := float64(records)
	b.ReportMetric(float64(ingestCPU.Nanoseconds())/r, "ingest-cpu-ns/record")
	b.ReportMetric(float64(totalCPU.Nanoseconds())/r, "total-cpu-ns/record")
	b.ReportMetric(float64(ingestWall.Nanoseconds())/r, "ingest-wall-ns/record")
	b.ReportMetric(rss, "peak-rss-MiB")
	b.ReportMetric(float64(size)/r, "disk-bytes/record")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.NumGC), "gcs")
	b.ReportMetric(float64(retries.Load()), "retries")
}

// benchCPU is the process's user+system CPU time.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is VmHWM in MiB.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
