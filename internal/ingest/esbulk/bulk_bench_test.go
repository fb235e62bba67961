package esbulk

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mamori/mamori/internal/parse"
)

// BenchmarkDecode measures a Winlogbeat-like _bulk body: action line plus
// a nested document per event.
func BenchmarkDecode(b *testing.B) {
	var body []byte
	const n = 1000
	for i := range n {
		body = fmt.Appendf(body, `{"create":{"_index":"winlogbeat-8.11.0"}}`+"\n"+
			`{"@timestamp":"2026-11-25T10:00:%02d.123Z","message":"An account was successfully logged on.","event":{"code":"4624","provider":"Microsoft-Windows-Security-Auditing","action":"logged-in"},"winlog":{"channel":"Security","computer_name":"DC01.corp.example","event_data":{"TargetUserName":"alice%d","IpAddress":"10.0.%d.%d","LogonType":"3"}},"host":{"name":"dc01"},"agent":{"type":"winlogbeat"}}`+"\n", i%60, i, i%250, i%200)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d := &decoder{maxDoc: 1 << 20, opts: parse.JSONEventOptions{}}
		evs, _, err := d.decode(bytes.NewReader(body))
		if err != nil || len(evs) != n {
			b.Fatal(err, len(evs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}
