package store

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// ecsCopies are the ECS names the JSON normalizer (parse.NormalizeJSON)
// adds beside common member names, with the same value.
var ecsCopies = map[string]string{
	"src_ip": "source.ip", "dst_ip": "destination.ip", "src_port": "source.port", "dst_port": "destination.port",
	"user": "user.name", "level": "log.level", "action": "event.action", "method": "http.request.method",
	"status": "http.response.status_code", "url": "url.full", "service": "service.name",
}

// BenchmarkWriteBlockECS is BenchmarkWriteBlock on the bench rows with the
// normalizer's ECS copies added (as the server stores them), at the flush
// level: cpu-ns/row and bytes/row show what alias columns save.
func BenchmarkWriteBlockECS(b *testing.B) {
	src := benchBlockRows(b)
	rows := make([]*event.Event, len(src))
	for i, e := range src {
		c := *e
		c.Fields = append([]event.Field(nil), e.Fields...)
		for _, f := range e.Fields {
			if n, ok := ecsCopies[f.Name]; ok {
				c.Fields = append(c.Fields, event.Field{Name: n, Value: f.Value})
			}
		}
		rows[i] = &c
	}
	dir := b.TempDir()
	b.ReportAllocs()
	cpu0 := cpuTime()
	var p *part
	for i := 0; i < b.N; i++ {
		p = writeBenchPart(b, dir, rows, levelFast)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*len(rows)), "cpu-ns/row")
	b.ReportMetric(float64(len(p.data))/float64(len(rows)), "bytes/row")
}
