package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// fakeIngest is an ingest endpoint that counts lines, answers 429 to every
// third request and fails with status fail once records reach failAt.
type fakeIngest struct {
	lines, requests, bytes atomic.Int64
	failAt                 int64
	fail                   int
}

func (f *fakeIngest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	if f.requests.Add(1)%3 == 0 {
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":"overloaded"}`, http.StatusTooManyRequests)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "zstd" {
		zr, err := zstd.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n := int64(bytes.Count(b, []byte("\n")))
	if f.failAt > 0 && f.lines.Load()+n >= f.failAt {
		http.Error(w, `{"error":"boom"}`, f.fail)
		return
	}
	f.lines.Add(n)
	f.bytes.Add(int64(len(b)))
	fmt.Fprintf(w, `{"accepted":%d,"rejected":0,"errors":[]}`, n)
}

func writeLines(t *testing.T, n int) (string, int64) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"_time":"2026-01-01T00:00:00Z","_msg":"line %d %s"}`+"\n", i, strings.Repeat("x", i%50))
	}
	file := filepath.Join(t.TempDir(), "d.ndjson")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, int64(b.Len())
}

func TestRunIngest(t *testing.T) {
	for _, z := range []bool{false, true} {
		t.Run(fmt.Sprintf("zstd=%v", z), func(t *testing.T) {
			fake := &fakeIngest{}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			file, size := writeLines(t, 5000)
			res, err := runIngest(context.Background(), file, ingestOptions{
				url: srv.URL, token: "tok", conns: 4, batchBytes: 16 << 10, zstd: z, pid: os.Getpid(),
			}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("runIngest: %v", err)
			}
			if res.Records != 5000 || res.Accepted != 5000 || fake.lines.Load() != 5000 {
				t.Fatalf("records %d accepted %d server lines %d, want 5000", res.Records, res.Accepted, fake.lines.Load())
			}
			if res.Bytes != size || fake.bytes.Load() != size {
				t.Fatalf("bytes %d (server %d), want %d", res.Bytes, fake.bytes.Load(), size)
			}
			if z && res.WireBytes >= res.Bytes {
				t.Fatalf("zstd wire bytes %d >= %d", res.WireBytes, res.Bytes)
			}
			if res.Retries == 0 {
				t.Fatal("no 429 retries counted")
			}
			if res.Wall <= 0 || res.PeakRSS <= 0 || res.recordsPerSec() <= 0 {
				t.Fatalf("implausible result %+v", res)
			}
		})
	}
}

func TestRunIngestLimitAndLongLine(t *testing.T) {
	fake := &fakeIngest{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "d.ndjson")
	long := `{"_msg":"` + strings.Repeat("y", 5<<20) + `"}` // longer than the 4 MiB read buffer
	data := "{\"a\":1}\n" + long + "\n{\"a\":2}\n{\"a\":3}" // no final newline
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	res, err := runIngest(context.Background(), file, ingestOptions{url: srv.URL, token: "tok", batchBytes: 1 << 10}, log)
	if err != nil || res.Records != 4 || fake.lines.Load() != 4 {
		t.Fatalf("runIngest = %+v, %v; server lines %d, want 4", res, err, fake.lines.Load())
	}
	res, err = runIngest(context.Background(), file, ingestOptions{url: srv.URL, token: "tok", limit: 2}, log)
	if err != nil || res.Records != 2 {
		t.Fatalf("runIngest limit 2 = %d records, %v", res.Records, err)
	}
}

func TestRunIngestErrors(t *testing.T) {
	f := func(fake *fakeIngest, token, wantErr string) {
		t.Helper()
		srv := httptest.NewServer(fake)
		defer srv.Close()
		file, _ := writeLines(t, 3000)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := runIngest(ctx, file, ingestOptions{url: srv.URL, token: token, batchBytes: 8 << 10}, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("runIngest error = %v, want %q", err, wantErr)
		}
	}
	f(&fakeIngest{}, "wrong", "HTTP 401")
	f(&fakeIngest{failAt: 1000, fail: http.StatusRequestEntityTooLarge}, "tok", "lower -batch")
	f(&fakeIngest{failAt: 1000, fail: http.StatusInternalServerError}, "tok", "HTTP 500: {\"error\":\"boom\"}")
	if _, err := runIngest(context.Background(), "/nonexistent/file", ingestOptions{url: "http://127.0.0.1:1"}, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("runIngest(missing file): no error")
	}
}

func TestRetryAfter(t *testing.T) {
	f := func(h string, attempt int, want time.Duration) {
		t.Helper()
		if got := retryAfter(h, attempt); got != want {
			t.Fatalf("retryAfter(%q, %d) = %v, want %v", h, attempt, got, want)
		}
	}
	f("2", 0, 2*time.Second)
	f("0", 3, 0)
	f("9999", 0, 30*time.Second)
	f("", 0, 100*time.Millisecond)
	f("soon", 2, 400*time.Millisecond)
	f("", 10, 2*time.Second)
}
