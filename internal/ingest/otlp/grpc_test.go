package otlp

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

func h2cServer(t *testing.T, sink ingest.Sink) (*httptest.Server, *http.Client) {
	t.Helper()
	r, err := New(sink, ingesttest.Auth{token: {TokenID: "t1"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	r.Register(mux)
	srv := httptest.NewUnstartedServer(mux)
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &p
	srv.Start()
	t.Cleanup(srv.Close)
	var cp http.Protocols
	cp.SetUnencryptedHTTP2(true)
	return srv, &http.Client{Transport: &http.Transport{Protocols: &cp}}
}

func grpcCall(t *testing.T, c *http.Client, url string, msg []byte, compress bool, auth string) (status, message string) {
	t.Helper()
	flag := byte(0)
	if compress {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(msg)
		zw.Close()
		msg, flag = z.Bytes(), 1
	}
	frame := append([]byte{flag}, binary.BigEndian.AppendUint32(nil, uint32(len(msg)))...)
	req, _ := http.NewRequest("POST", url+GRPCPath, bytes.NewReader(append(frame, msg...)))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	if compress {
		req.Header.Set("Grpc-Encoding", "gzip")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 {
		t.Fatalf("response over HTTP/%d", resp.ProtoMajor)
	}
	return resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message")
}

func TestGRPC(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv, c := h2cServer(t, sink)
	if st, msg := grpcCall(t, c, srv.URL, exportRequest(), false, "Bearer "+token); st != "0" {
		t.Fatalf("export = %s %s", st, msg)
	}
	if st, msg := grpcCall(t, c, srv.URL, exportRequest(), true, "Bearer "+token); st != "0" {
		t.Fatalf("gzip export = %s %s", st, msg)
	}
	evs := sink.Events()
	if len(evs) != 4 || evs[0].Raw != "payment failed" || evs[2].Raw != "payment failed" {
		t.Fatalf("events = %+v", evs)
	}
	if st, _ := grpcCall(t, c, srv.URL, exportRequest(), false, "Bearer wrong"); st != "16" {
		t.Errorf("bad token: grpc-status %s, want 16", st)
	}
	req := exportRequest()
	if st, msg := grpcCall(t, c, srv.URL, req[:len(req)-40], false, "Bearer "+token); st != "3" {
		t.Errorf("damaged: grpc-status %s %s, want 3", st, msg)
	}
	busy, bc := h2cServer(t, &ingesttest.Sink{Fail: func([]event.Event) error { return ingest.ErrOverloaded }})
	if st, _ := grpcCall(t, bc, busy.URL, exportRequest(), false, "Bearer "+token); st != "14" {
		t.Errorf("overloaded: grpc-status %s, want 14 (UNAVAILABLE)", st)
	}
}
