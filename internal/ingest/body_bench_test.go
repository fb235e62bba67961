package ingest

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// BenchmarkDecodeBodies decodes the first 100k records of the benchmark
// dataset (MAMORI_BENCH_NDJSON) cut into bodies of about 2 MiB, each read
// through OpenBody from an HTTP request with its Content-Length, as the
// ingest API receives the harness's requests.
func BenchmarkDecodeBodies(b *testing.B) {
	path := os.Getenv("MAMORI_BENCH_NDJSON")
	if path == "" {
		b.Skip("set MAMORI_BENCH_NDJSON to a file from ../shared/bench/gen")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var bodies [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for n < 100_000 && sc.Scan() {
		cur.Write(sc.Bytes())
		cur.WriteByte('\n')
		n++
		if cur.Len() >= 2<<20 {
			bodies = append(bodies, bytes.Clone(cur.Bytes()))
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		bodies = append(bodies, bytes.Clone(cur.Bytes()))
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchCPU()
	for i := 0; i < b.N; i++ {
		got := 0
		for _, data := range bodies {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/ingest", bytes.NewReader(data))
			r.ContentLength = int64(len(data))
			r.Body = io.NopCloser(bytes.NewReader(data)) // no Len: read as a stream
			body, err := OpenBody(httptest.NewRecorder(), r, BodyLimits{})
			if err != nil {
				b.Fatal(err)
			}
			evs, _, err := DecodeLines(body, LineOptions{Now: func() int64 { return 1 }})
			body.Close()
			if err != nil {
				b.Fatal(err)
			}
			got += len(evs)
		}
		if got != n {
			b.Fatal(got, n)
		}
	}
	cpu := benchCPU() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/record")
}
