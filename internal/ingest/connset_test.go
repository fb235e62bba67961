package ingest

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestConnSet(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int32
	s := &ConnSet{Max: 2, OnRefuse: func(net.Conn) { refused.Add(1) }}
	started := make(chan struct{}, 10)
	served := make(chan struct{})
	go func() {
		s.Serve(ln, func(c net.Conn) {
			defer c.Close()
			started <- struct{}{}
			io.Copy(io.Discard, c) // until Shutdown closes it
		})
		close(served)
	}()
	var clients []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	<-started
	<-started
	deadline := time.Now().Add(5 * time.Second)
	for refused.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if refused.Load() != 1 {
		t.Fatalf("refused %d connections over Max, want 1", refused.Load())
	}
	ln.Close()
	<-served
	done := make(chan struct{})
	go func() { s.Shutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not stop the live connections")
	}
	for _, c := range clients {
		c.Close()
	}
}
