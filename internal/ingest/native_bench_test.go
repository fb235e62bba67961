package ingest

import (
	"bufio"
	"bytes"
	"os"
	"testing"
)

// BenchmarkDecodeLinesBench decodes the first 100k records of the benchmark
// dataset (set MAMORI_BENCH_NDJSON to its path) as the ingest API does.
func BenchmarkDecodeLinesBench(b *testing.B) {
	path := os.Getenv("MAMORI_BENCH_NDJSON")
	if path == "" {
		b.Skip("set MAMORI_BENCH_NDJSON to a file from ../shared/bench/gen")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var body bytes.Buffer
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for n < 100_000 && sc.Scan() {
		body.Write(sc.Bytes())
		body.WriteByte('\n')
		n++
	}
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchCPU()
	for i := 0; i < b.N; i++ {
		evs, _, err := DecodeLines(bytes.NewReader(body.Bytes()), LineOptions{Now: func() int64 { return 1 }})
		if err != nil || len(evs) != n {
			b.Fatal(err, len(evs))
		}
	}
	cpu := benchCPU() - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
	// CPU time (user+system, GC included): wall time is meaningless on a
	// busy machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/record")
	b.ReportMetric(float64(body.Len())*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
}
