package syslog

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

// countSink counts appended events without keeping them.
type countSink struct {
	n    atomic.Int64
	done chan struct{}
	want int64
}

func (s *countSink) Append(_ context.Context, evs []event.Event) error {
	if s.n.Add(int64(len(evs))) >= s.want {
		select {
		case s.done <- struct{}{}:
		default:
		}
	}
	return nil
}

func benchPayload(n int) []byte {
	var b []byte
	for i := range n {
		b = fmt.Appendf(b, "<86>Nov 25 10:00:%02d web01 sshd[%d]: Accepted publickey for alice from 203.0.113.%d port 52%03d ssh2\n", i%60, 1000+i%500, i%250, i%1000)
	}
	return b
}

// BenchmarkTCP measures receive → frame → parse → batch over loopback TCP.
func BenchmarkTCP(b *testing.B) {
	const perConn = 10000
	payload := benchPayload(perConn)
	sink := &countSink{done: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := New(ctx, sink, ingesttest.Auth{testToken: {}}, Options{Token: testToken, UDPAddr: Off, TCPAddr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	go r.Run(ctx)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink.want = int64(i+1) * perConn
		c, err := net.Dial("tcp", r.TCPAddr().String())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(payload); err != nil {
			b.Fatal(err)
		}
		c.Close()
		select {
		case <-sink.done:
		case <-time.After(30 * time.Second):
			b.Fatal("timeout")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*perConn), "ns/msg")
}

func BenchmarkFramer(b *testing.B) {
	payload := benchPayload(1000)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		fr := framer{max: 64 << 10}
		off := 0
		for {
			n, msg, _, _ := fr.next(payload[off:], true)
			if n == 0 && msg == nil {
				break
			}
			off += n
		}
	}
}
