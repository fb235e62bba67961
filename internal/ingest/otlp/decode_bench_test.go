package otlp

import (
	"testing"

	"github.com/mamori/mamori/internal/ingest/pb"
)

func BenchmarkDecodeProto(b *testing.B) {
	var sl []byte
	const n = 1000
	for range n {
		sl = pb.AppendBytes(sl, 2, logRecord(1764064800000000000, str("GET /api/orders 200 12ms"), kv("http.method", str("GET")), kv("http.status_code", i64(200))))
	}
	var res []byte
	res = pb.AppendBytes(res, 1, kv("service.name", str("checkout")))
	var rl []byte
	rl = pb.AppendBytes(rl, 1, res)
	rl = pb.AppendBytes(rl, 2, sl)
	req := pb.AppendBytes(nil, 1, rl)
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		evs, err := decodeProto(req, 1)
		if err != nil || len(evs) != n {
			b.Fatal(err, len(evs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}
