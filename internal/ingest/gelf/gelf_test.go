package gelf

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

const token = "gelf-secret"

func start(t *testing.T, sink ingest.Sink) *Receiver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := New(ctx, sink, ingesttest.Auth{token: {TokenID: "t1"}}, Options{Token: token, UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return r
}

func waitN(t *testing.T, s *ingesttest.Sink, n int) []event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := s.WaitN(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

const msg = `{"version":"1.1","host":"example.org","short_message":"A short message","full_message":"Backtrace here\n\nmore stuff","timestamp":1385053862.3072,"level":1,"_user_id":9001,"_some_info":"foo"}`

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func zl(b []byte) []byte {
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// chunks splits a payload into GELF chunks of at most size bytes.
func chunks(id byte, payload []byte, size int) [][]byte {
	var parts [][]byte
	for len(payload) > 0 {
		n := min(size, len(payload))
		parts = append(parts, payload[:n])
		payload = payload[n:]
	}
	var out [][]byte
	for i, p := range parts {
		d := []byte{0x1e, 0x0f, id, 2, 3, 4, 5, 6, 7, 8, byte(i), byte(len(parts))}
		out = append(out, append(d, p...))
	}
	return out
}

func TestUDP(t *testing.T) {
	sink := &ingesttest.Sink{}
	r := start(t, sink)
	c, err := net.Dial("udp", r.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(msg))
	c.Write(gz([]byte(strings.Replace(msg, "A short message", "gzipped", 1))))
	parts := chunks(1, zl([]byte(strings.Replace(msg, "A short message", "chunked", 1))), 20)
	for i := len(parts) - 1; i >= 0; i-- { // out of order, with a duplicate
		c.Write(parts[i])
	}
	c.Write(parts[0])
	c.Write([]byte("not json at all"))
	evs := waitN(t, sink, 4)
	got := map[string]event.Event{}
	for _, ev := range evs {
		got[ev.Raw] = ev
	}
	for _, raw := range []string{"A short message", "gzipped", "chunked"} {
		ev, ok := got[raw]
		if !ok {
			t.Errorf("no event %q in %+v", raw, evs)
			continue
		}
		if ev.Host != "example.org" || event.FormatTime(ev.Time) != "2013-11-21T17:11:02.3072Z" || ev.Source != "gelf" {
			t.Errorf("%q: %+v", raw, ev)
		}
		for name, want := range map[string]string{"user_id": "9001", "some_info": "foo", "level": "1", "log.level": "alert", "full_message": "Backtrace here\n\nmore stuff"} {
			if v, _ := ev.Get(name); v != want {
				t.Errorf("%q: %s = %q, want %q", raw, name, v, want)
			}
		}
	}
	if bad, ok := got["not json at all"]; !ok {
		t.Errorf("the bad datagram was lost")
	} else if v, _ := bad.Get(event.FieldParseError); v == "" {
		t.Errorf("bad datagram without parse error: %+v", bad)
	}
}

func TestTCPAndHTTP(t *testing.T) {
	sink := &ingesttest.Sink{}
	r := start(t, sink)
	c, err := net.Dial("tcp", r.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "%s\x00%s\x00", msg, strings.Replace(msg, "A short message", "second", 1))
	c.Close()
	waitN(t, sink, 2)
	mux := http.NewServeMux()
	r.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/gelf", strings.NewReader(msg))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Errorf("http = %d", resp.StatusCode)
	}
	evs := waitN(t, sink, 3)
	if evs[1].Raw != "second" || evs[2].Raw != "A short message" {
		t.Errorf("events = %+v", evs)
	}
	req, _ = http.NewRequest("POST", srv.URL+"/gelf", strings.NewReader(msg))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("http without token = %d, want 401", resp.StatusCode)
	}
}

func TestAssemblerBounds(t *testing.T) {
	a := assembler{maxPending: 2, maxBytes: 1 << 20, timeout: time.Second}
	now := time.Now()
	for id := byte(0); id < 5; id++ {
		if _, _, err := a.add(chunks(id, []byte("0123456789"), 5)[0], now); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.pending) != 2 {
		t.Errorf("pending = %d, want the bound 2", len(a.pending))
	}
	_, dropped, _ := a.add(chunks(9, []byte("0123456789"), 5)[0], now.Add(2*time.Second))
	if dropped != 2 || len(a.pending) != 1 {
		t.Errorf("after the timeout: dropped %d, pending %d; want 2 and 1", dropped, len(a.pending))
	}
	if _, _, err := a.add([]byte{0x1e, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 5, 3, 'x'}, now); err == nil {
		t.Errorf("chunk 5 of 3 accepted")
	}
}

func FuzzPayload(f *testing.F) {
	f.Add([]byte(msg))
	f.Add(gz([]byte(msg)))
	f.Add(zl([]byte(msg)))
	f.Fuzz(func(t *testing.T, b []byte) {
		js, err := decompress(b, 1<<16)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		ev, err := decodeMessage(js, 1)
		if err != nil && ev.Raw != string(js) {
			t.Fatalf("bad message not kept raw")
		}
	})
}

func FuzzChunks(f *testing.F) {
	f.Add(bytes.Join(chunks(1, []byte(msg), 30), []byte{0xff}))
	f.Fuzz(func(t *testing.T, b []byte) {
		a := assembler{maxPending: 4, maxBytes: 1 << 12, timeout: time.Second}
		for _, d := range bytes.Split(b, []byte{0xff}) {
			if _, _, err := a.add(d, time.Unix(0, 0)); err != nil && err.Error() == "" {
				t.Fatal("empty error")
			}
		}
		if len(a.pending) > 4 {
			t.Fatalf("pending %d over the bound", len(a.pending))
		}
	})
}
