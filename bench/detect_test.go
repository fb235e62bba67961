package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const sampleMetrics = `# HELP mamori_store_rows_appended_total Events appended since start.
# TYPE mamori_store_rows_appended_total counter
mamori_store_rows_appended_total 1000
# HELP mamori_detect_events_total Events evaluated by live detection.
# TYPE mamori_detect_events_total counter
mamori_detect_events_total 1234
mamori_detect_signals_total 7
mamori_detect_queue_batches 2
mamori_detect_queue_bytes 4096
mamori_detect_lag_seconds 0.25
mamori_detect_gap_events 5
mamori_detect_gaps_total 1
mamori_detect_caught_up_events_total 300
mamori_detect_catchup_missing_events_total 0
mamori_detect_dropped_events_total 9
mamori_detect_signal_lag_seconds_bucket{le="0.01"} 3
mamori_detect_events_total_bogus x
`

func TestParseDetectMetrics(t *testing.T) {
	m := parseDetectMetrics([]byte(sampleMetrics))
	want := detectMetrics{Present: true, Events: 1234, Signals: 7, QueueBatches: 2, GapEvents: 5, LagSeconds: 0.25, Gaps: 1, CaughtUp: 300, Dropped: 9}
	if m != want {
		t.Fatalf("parseDetectMetrics = %+v, want %+v", m, want)
	}
	if m.drained() {
		t.Fatal("drained() with a queue, a gap and a lag")
	}
	if (detectMetrics{Present: true, Events: 3}).drained() != true {
		t.Fatal("drained() false for an idle detector")
	}
	for _, bad := range []string{"", "mamori_store_rows 1\n", "mamori_detect_events_total notanumber\n", "garbage without spaces\n"} {
		if m := parseDetectMetrics([]byte(bad)); m.Present {
			t.Errorf("parseDetectMetrics(%q) = %+v, want absent", bad, m)
		}
	}
}

// fakeMetrics serves /metrics from a list of states, one per scrape (the
// last repeats), and counts scrapes.
type fakeMetrics struct {
	mu     sync.Mutex
	states []string
	scrape atomic.Int64
}

func (f *fakeMetrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" || r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := min(int(f.scrape.Add(1))-1, len(f.states)-1)
	fmt.Fprint(w, f.states[i])
}

func detectState(events, batches int, lag float64) string {
	return fmt.Sprintf("mamori_detect_events_total %d\nmamori_detect_queue_batches %d\nmamori_detect_lag_seconds %g\nmamori_detect_gap_events 0\n", events, batches, lag)
}

func TestWaitDrained(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	f := &fakeMetrics{states: []string{
		detectState(100, 3, 1.5), detectState(200, 1, 0.5), detectState(300, 0, 0),
		detectState(310, 0, 0), // signals detected after the last batch
		detectState(310, 0, 0),
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	m, waited, err := waitDrained(context.Background(), srv.URL, "tok", time.Minute, log)
	if err != nil || !m.Present || m.Events != 310 || waited <= 0 {
		t.Fatalf("waitDrained = %+v, %v, %v", m, waited, err)
	}
	// Drained at the 4th scrape, confirmed by two more unchanged ones.
	if n := f.scrape.Load(); n != 6 {
		t.Fatalf("%d scrapes, want 6", n)
	}

	off := httptest.NewServer(&fakeMetrics{states: []string{"mamori_store_rows_appended_total 5\n"}})
	defer off.Close()
	if m, _, err := waitDrained(context.Background(), off.URL, "tok", time.Minute, log); err != nil || m.Present {
		t.Fatalf("detection off: waitDrained = %+v, %v; want at once, absent", m, err)
	}
	if _, _, err := waitDrained(context.Background(), off.URL, "wrong", time.Minute, log); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("bad token: waitDrained error = %v", err)
	}

	busy := httptest.NewServer(&fakeMetrics{states: []string{detectState(1, 4, 2)}})
	defer busy.Close()
	start := time.Now()
	m, _, err = waitDrained(context.Background(), busy.URL, "tok", 300*time.Millisecond, log)
	if err != nil || m.QueueBatches != 4 || time.Since(start) > 5*time.Second {
		t.Fatalf("timeout: waitDrained = %+v, %v after %v; want the last metrics, no error", m, err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := waitDrained(ctx, busy.URL, "tok", time.Minute, log); err == nil {
		t.Fatal("cancelled: waitDrained returned no error")
	}
}

func TestCoalesceBodies(t *testing.T) {
	in := []pathBody{
		{"/a", []byte("a1\n")}, {"/b", []byte("b1\n")}, {"/a", []byte("a2\n")},
		{"/c", []byte("c1\n")}, {"/a", []byte("a3\n")}, {"/b", []byte("b2\n")},
	}
	out, size := coalesceBodies(in, 6)
	got := make([]string, len(out))
	for i, b := range out {
		got[i] = b.Path + "=" + strings.ReplaceAll(string(b.Data), "\n", ",")
	}
	want := "/a=a1,a2, /b=b1,b2, /a=a3, /c=c1,"
	if strings.Join(got, " ") != want || size != 18 {
		t.Fatalf("coalesceBodies = %q (%d bytes), want %q (18)", strings.Join(got, " "), size, want)
	}
	if out, _ := coalesceBodies(nil, 10); len(out) != 0 {
		t.Fatalf("coalesceBodies(nil) = %v", out)
	}
}

func TestScenarioBodies(t *testing.T) {
	if _, _, _, err := scenarioBodies(t.TempDir(), 1<<20); err == nil {
		t.Fatal("scenarioBodies of an empty folder: no error")
	}
	dir := os.Getenv("SIGMA_SCENARIO") // a scenariogen -out folder, e.g. /tmp/scen/dev
	if _, err := os.Stat(filepath.Join(dir, "winlogbeat_sysmon.ndjson")); dir == "" || err != nil {
		t.Skip("set SIGMA_SCENARIO to a generated scenario folder")
	}
	bodies, lines, size, err := scenarioBodies(dir, 2<<20)
	if err != nil || lines == 0 || size == 0 {
		t.Fatalf("scenarioBodies = %d bodies, %d lines, %d bytes, %v", len(bodies), lines, size, err)
	}
	var n int64
	for _, b := range bodies {
		if !strings.HasPrefix(b.Path, "/api/v1/ingest?source=") || !strings.Contains(b.Path, "&format=") {
			t.Fatalf("body path %q", b.Path)
		}
		n += int64(strings.Count(string(b.Data), "\n"))
	}
	if n != lines {
		t.Fatalf("bodies hold %d lines, want %d", n, lines)
	}
}

func TestRunIngestBodies(t *testing.T) {
	var mu sync.Mutex
	paths := map[string]int{}
	fake := &fakeIngest{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths[r.URL.RequestURI()]++
		mu.Unlock()
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	bodies := []pathBody{
		{"/api/v1/ingest?source=a&format=syslog", []byte("x\ny\n")},
		{"/api/v1/ingest?source=b&format=json", []byte("{}\n")},
		{"/api/v1/ingest?source=a&format=syslog", []byte("")}, // nothing to send
		{"/api/v1/ingest?source=c&format=json", []byte("{}\n{}\n{}\n")},
	}
	log := slog.New(slog.DiscardHandler)
	res, err := runIngest(context.Background(), "", ingestOptions{token: "tok", base: srv.URL, bodies: bodies, batchBytes: 1}, log)
	if err != nil || res.Records != 6 || res.Accepted != 6 || fake.lines.Load() != 6 {
		t.Fatalf("runIngest(bodies) = %+v, %v; server lines %d", res, err, fake.lines.Load())
	}
	mu.Lock()
	if paths["/api/v1/ingest?source=a&format=syslog"] == 0 || paths["/api/v1/ingest?source=c&format=json"] == 0 {
		t.Fatalf("paths requested: %v", paths)
	}
	mu.Unlock()
	res, err = runIngest(context.Background(), "", ingestOptions{token: "tok", base: srv.URL, bodies: bodies, limit: 2}, log)
	if err != nil || res.Records != 2 {
		t.Fatalf("runIngest(bodies, limit 2) = %d records, %v; want the first body", res.Records, err)
	}
}

func TestDetectReport(t *testing.T) {
	d := &detectReport{Rules: []string{"r"}, Runs: []detectRun{
		{WithRules: false, Ingest: 8, Drained: 8.5, Settled: 16, PeakRSSMiB: 300},
		{WithRules: true, Ingest: 9, Drained: 10.2, Settled: 17.6, PeakRSSMiB: 420},
		{WithRules: true, Ingest: 10, Drained: 12.75, Settled: 20},
		{WithRules: false, Ingest: 9, Drained: 8.5, Settled: 16},
		{WithRules: false, Ingest: 7, Drained: 10, Settled: 20},
		{WithRules: true, Ingest: 8, Drained: 11, Settled: 30},
	}}
	d.summarize()
	if d.Base.Ingest != 8 || d.Base.Drained != 8.5 || d.With.Drained != 11 || !d.With.WithRules || d.Base.WithRules {
		t.Fatalf("medians: without %+v, with %+v", d.Base, d.With)
	}
	// Pairs: drained +20%, +50%, +10%; with merges +10%, +25%, +50%.
	if math.Abs(d.AddedDrained-20) > 1e-9 || math.Abs(d.AddedSettled-25) > 1e-9 {
		t.Fatalf("added drained %.2f%%, with merges %.2f%%; want 20, 25", d.AddedDrained, d.AddedSettled)
	}
	verdicts := map[string]string{}
	for _, f := range d.figures() {
		verdicts[f.name] = f.verdict
	}
	if v := verdicts["server CPU µs/record, detection drained: without / with rules"]; v != "ok" {
		t.Errorf("drained verdict %q, want ok (+20%% is the bound)", v)
	}
	if v := verdicts["server CPU µs/record, drained + merges: without / with rules"]; v != "over target" {
		t.Errorf("with merges verdict %q, want over target", v)
	}
	if s := d.runList(); !strings.HasPrefix(s, "without 8.00 / 8.50 / 16.00 (300 MiB); with 9.00 / 10.20 / 17.60 (420 MiB)") {
		t.Errorf("runList = %q", s)
	}
	if medianF(nil) != 0 || medianF([]float64{3, 1}) != 2 || addedPct(0, 5) != 0 {
		t.Error("medianF or addedPct of edge cases")
	}

	rep := sampleReport()
	rep.Rules, rep.DetectQueue, rep.DetectCost = []string{"rules-a", "rules-b"}, "1GiB", d
	rep.Ingest.Detect, rep.Ingest.CPUDrained = &detectMetrics{Present: true, Events: 5}, 7.9
	md := rep.markdown()
	for _, want := range []string{"Rules: the content pack and rules-a, rules-b.", "Live detection queue: 1GiB.", "Live detection cost: 6 runs",
		"| server CPU µs/record, drained + merges: without / with rules | 16.00 / 20.00 (+25%) | ≤ +20% |", "| server peak RSS MiB: without / with rules (medians) | 0 / 0 |", "| server CPU µs/record (live detection drained) | 7.90 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestDetectArgs(t *testing.T) {
	c := config{work: t.TempDir(), rules: ruleDirs{"a", "b"}}
	if args, err := c.detectArgs(false); err != nil || len(args) != 0 {
		t.Fatalf("detectArgs(without) = %q, %v", args, err)
	}
	args, err := c.detectArgs(true)
	if err != nil || strings.Join(args, " ") != "--rules a --rules b" {
		t.Fatalf("detectArgs(with) = %q, %v", args, err)
	}
	c.detectQueue = "1GiB"
	args, err = c.detectArgs(false)
	if err != nil || len(args) != 2 || args[0] != "--config" {
		t.Fatalf("detectArgs(queue) = %q, %v", args, err)
	}
	if b, err := os.ReadFile(args[1]); err != nil || string(b) != "detection_queue: \"1GiB\"\n" {
		t.Fatalf("config file = %q, %v", b, err)
	}
}

func TestWaitIdleCPU(t *testing.T) {
	start := time.Now()
	// This test process is idle enough between scrapes most of the time;
	// either way the wait ends by its timeout.
	if err := waitIdleCPU(context.Background(), os.Getpid(), 500*time.Millisecond, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 500*time.Millisecond || el > 10*time.Second {
		t.Fatalf("waitIdleCPU took %v", el)
	}
	if err := waitIdleCPU(context.Background(), -1, time.Second, time.Second); err == nil {
		t.Fatal("waitIdleCPU of no process: no error")
	}
}
