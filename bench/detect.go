package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/scenario"
)

// detectMetrics are live detection's counters and gauges, read from the
// server's /metrics (mamori_detect_*).
type detectMetrics struct {
	Present      bool    `json:"-"` // the server exports them (detection on)
	Events       float64 `json:"events"`
	Signals      float64 `json:"signals"`
	QueueBatches float64 `json:"queue_batches"`
	GapEvents    float64 `json:"gap_events"`
	LagSeconds   float64 `json:"lag_seconds"`
	Gaps         float64 `json:"gaps"`
	CaughtUp     float64 `json:"caught_up_events"`
	Dropped      float64 `json:"dropped_events"`
}

// drained reports whether live detection has nothing left to do.
func (m detectMetrics) drained() bool {
	return m.QueueBatches == 0 && m.GapEvents == 0 && m.LagSeconds == 0
}

// parseDetectMetrics reads the mamori_detect_* samples from the text of
// /metrics (Prometheus text format); other lines are ignored.
func parseDetectMetrics(b []byte) detectMetrics {
	var m detectMetrics
	fields := map[string]*float64{
		"mamori_detect_events_total":           &m.Events,
		"mamori_detect_signals_total":          &m.Signals,
		"mamori_detect_queue_batches":          &m.QueueBatches,
		"mamori_detect_gap_events":             &m.GapEvents,
		"mamori_detect_lag_seconds":            &m.LagSeconds,
		"mamori_detect_gaps_total":             &m.Gaps,
		"mamori_detect_caught_up_events_total": &m.CaughtUp,
		"mamori_detect_dropped_events_total":   &m.Dropped,
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		dst := fields[name]
		if !ok || dst == nil {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		*dst = v
		if name == "mamori_detect_events_total" {
			m.Present = true
		}
	}
	return m
}

// fetchDetectMetrics scrapes base+/metrics.
func fetchDetectMetrics(ctx context.Context, cl *http.Client, base, token string) (detectMetrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return detectMetrics{}, fmt.Errorf("read metrics: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := cl.Do(req)
	if err != nil {
		return detectMetrics{}, fmt.Errorf("read metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return detectMetrics{}, fmt.Errorf("read metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return detectMetrics{}, fmt.Errorf("read metrics: HTTP %d: %s", resp.StatusCode, short(b))
	}
	return parseDetectMetrics(b), nil
}

// drainPoll is how often waitDrained scrapes /metrics.
const drainPoll = 200 * time.Millisecond

// waitDrained waits until live detection has detected everything ingested:
// its queue and gap empty, its lag 0 and its event count unchanged over
// two scrapes in a row. It returns the last metrics and how long it
// waited; without detection metrics (detection off) it returns at once.
// On timeout it returns the metrics with a warning, not an error: the
// CPU figure is then a lower bound.
func waitDrained(ctx context.Context, base, token string, timeout time.Duration, log *slog.Logger) (detectMetrics, time.Duration, error) {
	start := time.Now()
	cl := &http.Client{Timeout: 10 * time.Second}
	last, stable := -1.0, 0
	for {
		m, err := fetchDetectMetrics(ctx, cl, base, token)
		if err != nil || !m.Present {
			return m, time.Since(start), err
		}
		if m.drained() && m.Events == last {
			if stable++; stable >= 2 {
				return m, time.Since(start), nil
			}
		} else {
			stable = 0
		}
		last = m.Events
		if time.Since(start) > timeout {
			log.Warn("live detection not drained, measuring anyway", "waited", timeout, "queue_batches", m.QueueBatches, "gap_events", m.GapEvents, "lag_s", m.LagSeconds)
			return m, time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return m, time.Since(start), ctx.Err()
		case <-time.After(drainPoll):
		}
	}
}

// scenarioSlice is the slice of event time the scenario is sent in, as
// the server's detection lag test sends it.
const scenarioSlice = 20 * time.Minute

// scenarioBodies reads a generated scenario folder (the files of
// internal/scenario.Files) as a shipper sends it: the lines of each file
// to POST /api/v1/ingest with source (the file's base name) and format,
// in event-time order (20-minute slices, as the server's detection lag
// test sends them), each file's lines gathered into bodies of about
// maxBytes (a shipper's bulk size: the slices alone make bodies of ~25
// lines, whose per-request cost would hide detection's). It returns the
// bodies, the lines and their bytes.
func scenarioBodies(dir string, maxBytes int) ([]pathBody, int64, int64, error) {
	bs, n, err := scenario.Slices(dir, scenarioSlice)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("read scenario: %w", err)
	}
	bodies := make([]pathBody, len(bs))
	for i, b := range bs {
		bodies[i] = pathBody{Path: b.Path, Data: b.Data}
	}
	out, size := coalesceBodies(bodies, maxBytes)
	return out, int64(n), size, nil
}

// coalesceBodies gathers the bodies of each path, in order, into bodies
// of at least maxBytes (the last of each path may be smaller); a body is
// placed where its last part was. It returns them and their total size.
func coalesceBodies(in []pathBody, maxBytes int) ([]pathBody, int64) {
	var out []pathBody
	pending := map[string][]byte{}
	var size int64
	for _, b := range in {
		buf := append(pending[b.Path], b.Data...)
		size += int64(len(b.Data))
		if len(buf) >= maxBytes {
			out = append(out, pathBody{Path: b.Path, Data: buf})
			buf = nil
		}
		pending[b.Path] = buf
	}
	for _, b := range in { // the rest, in the order the paths first came
		if buf := pending[b.Path]; len(buf) > 0 {
			out = append(out, pathBody{Path: b.Path, Data: buf})
			delete(pending, b.Path)
		}
	}
	return out, size
}

// detectRun is one server run of the detection cost comparison: the
// server CPU per record at three points (µs).
type detectRun struct {
	WithRules bool    `json:"with_rules"`
	Ingest    float64 `json:"cpu_us_per_record_acknowledged"`
	Drained   float64 `json:"cpu_us_per_record_detection_drained"`
	Settled   float64 `json:"cpu_us_per_record_with_merges"`
	WallSec   float64 `json:"ingest_wall_s"`
	DrainSec  float64 `json:"drain_wait_s"`
	Load1     float64 `json:"load1"`
	// PeakRSSMiB is the server's peak RSS (VmHWM) once merges are done.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	Detect     detectMetrics
}

// detectReport compares the server's CPU per record without and with the
// -rules folders (the content pack is loaded in both), run by run
// (interleaved pairs) and as medians; Added* are the medians of each
// pair's added share in percent.
type detectReport struct {
	Rules        []string    `json:"rules"`
	Runs         []detectRun `json:"runs"`
	Base         detectRun   `json:"median_without_rules"`
	With         detectRun   `json:"median_with_rules"`
	AddedIngest  float64     `json:"added_pct_acknowledged"`
	AddedDrained float64     `json:"added_pct_detection_drained"`
	AddedSettled float64     `json:"added_pct_with_merges"`
}

// targetDetectAddedPct is issue #5's bound on the CPU live detection adds
// per ingested event.
const targetDetectAddedPct = 20.0

// summarize fills the medians from Runs, pairing the i-th run without
// rules with the i-th run with them.
func (d *detectReport) summarize() {
	var base, with []detectRun
	for _, r := range d.Runs {
		if r.WithRules {
			with = append(with, r)
		} else {
			base = append(base, r)
		}
	}
	d.Base, d.With = medianRun(base), medianRun(with)
	d.With.WithRules = true
	var ai, ad, as []float64
	for i := range min(len(base), len(with)) {
		ai = append(ai, addedPct(base[i].Ingest, with[i].Ingest))
		ad = append(ad, addedPct(base[i].Drained, with[i].Drained))
		as = append(as, addedPct(base[i].Settled, with[i].Settled))
	}
	d.AddedIngest, d.AddedDrained, d.AddedSettled = medianF(ai), medianF(ad), medianF(as)
}

func addedPct(base, with float64) float64 {
	if base <= 0 {
		return 0
	}
	return 100 * (with - base) / base
}

// medianF is the median of vs (the mean of the middle two for an even
// count; 0 for none).
func medianF(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianRun takes the median of each figure separately.
func medianRun(rs []detectRun) detectRun {
	pick := func(f func(detectRun) float64) float64 {
		vs := make([]float64, len(rs))
		for i, r := range rs {
			vs[i] = f(r)
		}
		return medianF(vs)
	}
	return detectRun{
		Ingest:     pick(func(r detectRun) float64 { return r.Ingest }),
		Drained:    pick(func(r detectRun) float64 { return r.Drained }),
		Settled:    pick(func(r detectRun) float64 { return r.Settled }),
		WallSec:    pick(func(r detectRun) float64 { return r.WallSec }),
		DrainSec:   pick(func(r detectRun) float64 { return r.DrainSec }),
		Load1:      pick(func(r detectRun) float64 { return r.Load1 }),
		PeakRSSMiB: pick(func(r detectRun) float64 { return r.PeakRSSMiB }),
		Detect: detectMetrics{
			Events:   pick(func(r detectRun) float64 { return r.Detect.Events }),
			Signals:  pick(func(r detectRun) float64 { return r.Detect.Signals }),
			CaughtUp: pick(func(r detectRun) float64 { return r.Detect.CaughtUp }),
			Gaps:     pick(func(r detectRun) float64 { return r.Detect.Gaps }),
			Dropped:  pick(func(r detectRun) float64 { return r.Detect.Dropped }),
		},
	}
}

// figures are the comparison's lines of the summary table.
func (d *detectReport) figures() []figure {
	line := func(what string, base, with, added float64, target bool) figure {
		f := figure{name: "server CPU µs/record, " + what + ": without / with rules",
			measured: fmt.Sprintf("%.2f / %.2f (%+.0f%%)", base, with, added), target: "-", ref: "-", verdict: "-"}
		if target {
			f.target = fmt.Sprintf("≤ +%.0f%%", targetDetectAddedPct)
			f.verdict = atMost(added, targetDetectAddedPct)
		}
		return f
	}
	return []figure{
		line("acknowledged", d.Base.Ingest, d.With.Ingest, d.AddedIngest, false),
		line("detection drained", d.Base.Drained, d.With.Drained, d.AddedDrained, true),
		line("drained + merges", d.Base.Settled, d.With.Settled, d.AddedSettled, true),
		{name: "server peak RSS MiB: without / with rules (medians)",
			measured: fmt.Sprintf("%.0f / %.0f", d.Base.PeakRSSMiB, d.With.PeakRSSMiB), target: "-", ref: "-", verdict: "-"},
		{name: "live detection events / signals / caught up (median run with rules)",
			measured: fmt.Sprintf("%.0f / %.0f / %.0f", d.With.Detect.Events, d.With.Detect.Signals, d.With.Detect.CaughtUp),
			target:   "-", ref: "-", verdict: "-"},
	}
}

// runList is each run's figures, for the markdown report.
func (d *detectReport) runList() string {
	parts := make([]string, len(d.Runs))
	for i, r := range d.Runs {
		side := "without"
		if r.WithRules {
			side = "with"
		}
		parts[i] = fmt.Sprintf("%s %.2f / %.2f / %.2f (%.0f MiB)", side, r.Ingest, r.Drained, r.Settled, r.PeakRSSMiB)
	}
	return strings.Join(parts, "; ")
}
