package parse

import (
	"bufio"
	"os"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// BenchmarkDecodeJSONLines decodes the first 100k records of the benchmark
// dataset (set MAMORI_BENCH_NDJSON to its path) with DecodeJSONLine, as the
// ingest API does, into one reused field slice: pool is DecodeJSONLine, kept
// a JSONLineDecoder kept across the lines.
func BenchmarkDecodeJSONLines(b *testing.B) {
	path := os.Getenv("MAMORI_BENCH_NDJSON")
	if path == "" {
		b.Skip("set MAMORI_BENCH_NDJSON to a file from ../shared/bench/gen")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for len(lines) < 100_000 && sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	for _, kept := range []bool{false, true} {
		name := "pool"
		if kept {
			name = "kept"
		}
		b.Run(name, func(b *testing.B) {
			var dec JSONLineDecoder
			fields := make([]event.Field, 0, 256)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime(b)
			for i := 0; i < b.N; i++ {
				for _, line := range lines {
					ev := event.Event{Fields: fields[:0]}
					var err error
					if kept {
						err = dec.Decode(line, "", &ev, JSONEventOptions{})
					} else {
						err = DecodeJSONLine(line, "", &ev, JSONEventOptions{})
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			cpu := cpuTime(b) - cpu0
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(lines)), "cpu-ns/record")
		})
	}
}
