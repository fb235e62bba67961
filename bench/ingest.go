package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
)

// ingestOptions says how to send a dataset.
type ingestOptions struct {
	url        string // full URL of POST /api/v1/ingest, with any query parameters
	token      string
	conns      int   // concurrent connections (default 4)
	batchBytes int   // approximate body size before compression (default 2 MiB)
	zstd       bool  // send bodies with Content-Encoding: zstd
	limit      int64 // stop after this many records (0 = all)
	pid        int   // server pid to measure (0 = none)
	// bodies, when set, are sent instead of the file (file is then
	// ignored): each to base+Path, as a shipper sends each source with
	// its own source and format parameters (-scenario).
	bodies []pathBody
	base   string // http://host:port for the bodies' paths
}

// pathBody is one request of a body list: lines for base+Path.
type pathBody struct {
	Path string // e.g. /api/v1/ingest?source=...&format=...
	Data []byte // whole lines, each ending in a newline
}

// ingestResult is what one ingest run measured.
type ingestResult struct {
	Records   int64         `json:"records"`    // records sent and acknowledged
	Bytes     int64         `json:"bytes"`      // NDJSON bytes acknowledged (uncompressed)
	WireBytes int64         `json:"wire_bytes"` // body bytes on the wire
	Accepted  int64         `json:"accepted"`   // the server's accepted counts, summed
	Rejected  int64         `json:"rejected"`
	Retries   int64         `json:"retries"` // 429/503 answers retried
	Wall      time.Duration `json:"wall_ns"`
	ServerCPU time.Duration `json:"server_cpu_ns"` // utime+stime during the run
	PeakRSS   int64         `json:"peak_rss_bytes"`
}

func (r ingestResult) recordsPerSec() float64 { return float64(r.Records) / r.Wall.Seconds() }
func (r ingestResult) mbPerSec() float64      { return float64(r.Bytes) / 1e6 / r.Wall.Seconds() }
func (r ingestResult) cpuPerRecord() time.Duration {
	if r.Records == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Records)
}

type batch struct {
	body    []byte
	records int64
	url     string // "" = ingestOptions.url
	shared  bool   // body is not from the pool (a pathBody's data)
}

// ingestAnswer is the body of a 200 answer of POST /api/v1/ingest.
type ingestAnswer struct {
	Accepted int64             `json:"accepted"`
	Rejected int64             `json:"rejected"`
	Errors   []json.RawMessage `json:"errors"`
}

// runIngest streams the NDJSON file to the server on o.conns connections.
// It stops at the first request that fails for a reason other than
// overload (429/503, which are retried after Retry-After).
func runIngest(ctx context.Context, file string, o ingestOptions, log *slog.Logger) (ingestResult, error) {
	if o.conns <= 0 {
		o.conns = 4
	}
	if o.batchBytes <= 0 {
		o.batchBytes = 2 << 20
	}
	var src io.Reader
	if o.bodies == nil {
		f, err := os.Open(file)
		if err != nil {
			return ingestResult{}, fmt.Errorf("ingest: %w", err)
		}
		defer f.Close()
		src = f
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	tr := &http.Transport{MaxIdleConnsPerHost: o.conns, MaxConnsPerHost: o.conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	s := &sender{o: o, client: &http.Client{Transport: tr, Timeout: 10 * time.Minute}, log: log}
	s.pool.New = func() any { return make([]byte, 0, o.batchBytes+64<<10) }

	var cpu0 procCPU
	if o.pid > 0 {
		var err error
		if cpu0, err = readProcCPU(o.pid); err != nil {
			return ingestResult{}, fmt.Errorf("ingest: %w", err)
		}
	}
	stopSampler := s.sampleRSS(o.pid)
	start := time.Now()
	batches := make(chan batch, o.conns)
	var wg sync.WaitGroup
	for range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.work(ctx, batches); err != nil {
				cancel(err)
			}
		}()
	}
	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	var readErr error
	if o.bodies != nil {
		s.sendBodies(ctx, batches)
	} else {
		readErr = s.read(ctx, src, batches, progress.C, start)
	}
	close(batches)
	wg.Wait()
	res := s.result()
	res.Wall = time.Since(start)
	stopSampler()
	res.PeakRSS = s.peakRSS.Load()
	if o.pid > 0 {
		cpu1, err := readProcCPU(o.pid)
		if err != nil {
			return res, fmt.Errorf("ingest: %w", err)
		}
		res.ServerCPU = cpu1.total() - cpu0.total()
		if m, err := readProcMem(o.pid); err == nil && m.hwm > res.PeakRSS {
			res.PeakRSS = m.hwm
		}
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return res, fmt.Errorf("ingest: %w", cause)
	}
	if readErr != nil {
		return res, fmt.Errorf("ingest: %w", readErr)
	}
	return res, ctx.Err()
}

// sender holds the state the ingest workers share.
type sender struct {
	o      ingestOptions
	client *http.Client
	log    *slog.Logger
	pool   sync.Pool // of []byte batch bodies

	records, bytes, wire, accepted, rejected, retries atomic.Int64
	peakRSS                                           atomic.Int64
	loggedRejects                                     atomic.Bool
}

func (s *sender) result() ingestResult {
	return ingestResult{
		Records: s.records.Load(), Bytes: s.bytes.Load(), WireBytes: s.wire.Load(),
		Accepted: s.accepted.Load(), Rejected: s.rejected.Load(), Retries: s.retries.Load(),
	}
}

// read cuts the file into batches at line boundaries.
func (s *sender) read(ctx context.Context, r io.Reader, out chan<- batch, tick <-chan time.Time, start time.Time) error {
	br := bufio.NewReaderSize(r, 4<<20)
	buf := s.pool.Get().([]byte)[:0]
	var n, total int64
	send := func() bool {
		select {
		case out <- batch{body: buf, records: n}:
		case <-ctx.Done():
			return false
		}
		buf, n = s.pool.Get().([]byte)[:0], 0
		return true
	}
	for {
		line, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) { // a line longer than the buffer
			buf = append(buf, line...)
			line, err = br.ReadSlice('\n')
		}
		if len(line) > 0 {
			buf = append(buf, line...)
			if buf[len(buf)-1] != '\n' {
				buf = append(buf, '\n')
			}
			n++
			total++
		}
		last := err != nil || (s.o.limit > 0 && total >= s.o.limit)
		if (len(buf) >= s.o.batchBytes || last) && n > 0 && !send() {
			return nil // cancelled: the cause is reported by the caller
		}
		if errors.Is(err, io.EOF) || last && err == nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read dataset: %w", err)
		}
		select {
		case <-tick:
			el := time.Since(start)
			s.log.Info("ingesting", "acked", s.records.Load(), "read", total,
				"records_per_s", int(float64(s.records.Load())/el.Seconds()), "peak_rss_mib", s.peakRSS.Load()>>20)
		default:
		}
	}
}

// sendBodies queues o.bodies in order (o.limit counts whole bodies: the
// body that reaches it is the last sent).
func (s *sender) sendBodies(ctx context.Context, out chan<- batch) {
	var total int64
	for _, b := range s.o.bodies {
		n := int64(bytes.Count(b.Data, []byte{'\n'}))
		if n == 0 {
			continue
		}
		select {
		case out <- batch{body: b.Data, records: n, url: s.o.base + b.Path, shared: true}:
		case <-ctx.Done():
			return
		}
		if total += n; s.o.limit > 0 && total >= s.o.limit {
			return
		}
	}
}

// work sends batches until the channel closes or ctx ends.
func (s *sender) work(ctx context.Context, in <-chan batch) error {
	var enc *zstd.Encoder
	var zbuf []byte
	if s.o.zstd {
		var err error
		if enc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1)); err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		defer enc.Close()
	}
	for b := range in {
		if ctx.Err() != nil {
			continue // drain so the reader never blocks
		}
		body := b.body
		if enc != nil {
			zbuf = enc.EncodeAll(b.body, zbuf[:0])
			body = zbuf
		}
		url := b.url
		if url == "" {
			url = s.o.url
		}
		if err := s.post(ctx, url, body, b.records); err != nil {
			return err
		}
		s.records.Add(b.records)
		s.bytes.Add(int64(len(b.body)))
		s.wire.Add(int64(len(body)))
		if !b.shared {
			s.pool.Put(b.body[:0])
		}
	}
	return nil
}

// post sends one body, retrying while the server is overloaded.
func (s *sender) post(ctx context.Context, url string, body []byte, records int64) error {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("post batch: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Authorization", "Bearer "+s.o.token)
		if s.o.zstd {
			req.Header.Set("Content-Encoding", "zstd")
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return fmt.Errorf("post batch: %w", err)
		}
		msg, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if rerr != nil {
			return fmt.Errorf("post batch: read answer: %w", rerr)
		}
		switch resp.StatusCode {
		case http.StatusOK, http.StatusAccepted, http.StatusCreated:
			return s.account(msg, records)
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			s.retries.Add(1)
			wait := retryAfter(resp.Header.Get("Retry-After"), attempt)
			select {
			case <-time.After(wait):
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		case http.StatusRequestEntityTooLarge:
			return fmt.Errorf("post batch: HTTP 413 for a %d-byte body: lower -batch: %s", len(body), short(msg))
		}
		return fmt.Errorf("post batch: HTTP %d: %s", resp.StatusCode, short(msg))
	}
}

// account adds the server's counts from a 200 answer.
func (s *sender) account(msg []byte, records int64) error {
	var a ingestAnswer
	if err := json.Unmarshal(msg, &a); err != nil {
		return fmt.Errorf("post batch: answer %q: %w", short(msg), err)
	}
	s.accepted.Add(a.Accepted)
	s.rejected.Add(a.Rejected)
	if a.Accepted+a.Rejected != records && s.loggedRejects.CompareAndSwap(false, true) {
		s.log.Warn("server counted a different number of records than sent", "sent", records, "accepted", a.Accepted, "rejected", a.Rejected)
	}
	if a.Rejected > 0 && len(a.Errors) > 0 && s.loggedRejects.CompareAndSwap(false, true) {
		s.log.Warn("server rejected records", "rejected", a.Rejected, "first_error", string(a.Errors[0]))
	}
	return nil
}

// retryAfter reads a Retry-After in seconds, else backs off from 100 ms to 2 s.
func retryAfter(h string, attempt int) time.Duration {
	if secs, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && secs >= 0 {
		return min(time.Duration(secs)*time.Second, 30*time.Second)
	}
	return min(100*time.Millisecond<<min(attempt, 5), 2*time.Second)
}

func short(b []byte) string { return shortString(strings.TrimSpace(string(b)), 300) }

// shortString cuts s to at most n bytes (plus "...").
func shortString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// sampleRSS samples the server's RSS every 200 ms into s.peakRSS until the
// returned function is called.
func (s *sender) sampleRSS(pid int) (stop func()) {
	if pid <= 0 {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := readProcMem(pid); err == nil && m.rss > s.peakRSS.Load() {
				s.peakRSS.Store(m.rss)
			}
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(quit); <-done }
}
