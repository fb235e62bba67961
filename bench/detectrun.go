package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// newReport starts the report of a run over a dataset of records.
func newReport(c config, dataset string, records, size int64) *report {
	rep := &report{
		Date: time.Now().UTC().Format(time.RFC3339), Machine: describeMachine(),
		Dataset: dataset, Records: records, DatasetBytes: size, Fsync: c.fsync, Rules: c.rules, DetectQueue: c.detectQueue,
	}
	if rep.Fsync == "" {
		rep.Fsync = "server default (always)"
	}
	return rep
}

// runScenario ingests a generated scenario folder (-scenario) as a
// shipper sends it, on one server or, with -detect-pairs, on pairs of
// servers without and with the rules. There are no queries: the query
// set's answers are for the benchmark dataset.
func runScenario(ctx context.Context, c config, log *slog.Logger) (*report, error) {
	bodies, lines, size, err := scenarioBodies(c.scenario, c.batchBytes)
	if err != nil {
		return nil, err
	}
	if c.limit > 0 {
		lines = min(lines, c.limit) // whole bodies are sent: a bound, not exact
	}
	rep := newReport(c, "scenario "+c.scenario, lines, size)
	log.Info("scenario read", "dir", c.scenario, "bodies", len(bodies), "lines", lines, "bytes", size)
	src := ingestSource{bodies: bodies}
	if c.detectPairs > 0 {
		return rep, detectStep(ctx, c, src, rep, log)
	}
	srv, dataDir, err := server(ctx, c, "scenario", log)
	if err != nil {
		return rep, err
	}
	defer func() {
		if err := srv.stop(log, 60*time.Second); err != nil {
			log.Error("stop server", "err", err)
		}
	}()
	rep.noteLoad("ingest_start")
	return rep, ingestStep(ctx, c, srv, src, dataDir, rep, log)
}

// detectStep measures live detection's cost (-detect-pairs): fresh
// servers, alternately without and with the -rules folders (the content
// pack is loaded by both), each ingesting the same records, then waiting
// for detection to drain and for merges; the pairs' order alternates so
// a drift of the machine's load favours neither side.
func detectStep(ctx context.Context, c config, src ingestSource, rep *report, log *slog.Logger) error {
	bin, err := binary(ctx, c, log)
	if err != nil {
		return err
	}
	dataDir := c.dataDir
	if dataDir == "" {
		dataDir = filepath.Join(c.work, "data-detect")
	}
	defer os.RemoveAll(dataDir) // #nosec G104 -- the harness's own scratch data
	d := &detectReport{Rules: c.rules}
	rep.DetectCost = d
	rep.noteLoad("detect_start")
	for i := range c.detectPairs {
		order := []bool{false, true}
		if i%2 == 1 {
			order = []bool{true, false}
		}
		for _, with := range order {
			r, err := detectRunOnce(ctx, c, bin, src, dataDir, rep.Records, with, log)
			if err != nil {
				return err
			}
			d.Runs = append(d.Runs, r)
			d.summarize()
			log.Info("detection cost run", "pair", i+1, "with_rules", with, "ack_us", fmt.Sprintf("%.2f", r.Ingest),
				"drained_us", fmt.Sprintf("%.2f", r.Drained), "merges_us", fmt.Sprintf("%.2f", r.Settled), "peak_rss_mib", int(r.PeakRSSMiB), "load1", r.Load1)
		}
	}
	rep.noteLoad("detect_end")
	return nil
}

// detectRunOnce runs one server of the comparison on a fresh data dir.
func detectRunOnce(ctx context.Context, c config, bin string, src ingestSource, dataDir string, records int64, with bool, log *slog.Logger) (detectRun, error) {
	r := detectRun{WithRules: with}
	if err := freshDataDir(dataDir, c.dataDir != ""); err != nil {
		return r, err
	}
	args, err := c.detectArgs(with)
	if err != nil {
		return r, err
	}
	name := "detect-base"
	if with {
		name = "detect-rules"
	}
	srv, err := startServer(ctx, serverOptions{
		bin: bin, dataDir: dataDir, addr: c.addr, token: c.token, fsync: c.fsync, extraArgs: args,
		logFile: filepath.Join(c.work, "server-"+name+".log"), healthTimeout: 2 * time.Minute,
	}, log)
	if err != nil {
		return r, err
	}
	defer func() {
		if err := srv.stop(log, 60*time.Second); err != nil {
			log.Error("stop server", "err", err)
		}
	}()
	// Rule loading and the start's replay are not ingest: wait for the
	// server to go idle first.
	if err := waitIdleCPU(ctx, srv.pid(), 2*time.Second, time.Minute); err != nil {
		return r, err
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.Load1, _ = parseLoad1(b)
	}
	run := &report{Records: max(records, 1)}
	if err := ingestStep(ctx, c, srv, src, dataDir, run, log); err != nil {
		return r, err
	}
	in := run.Ingest
	r.Ingest, r.Drained, r.Settled, r.WallSec, r.DrainSec = in.CPUPerRecord, in.CPUDrained, in.CPUMergesBusy, in.Wall.Seconds(), in.DrainSeconds
	if m, err := readProcMem(srv.pid()); err == nil {
		r.PeakRSSMiB = float64(m.hwm) / (1 << 20)
	}
	if in.Detect == nil { // detection off: nothing to drain
		r.Drained = r.Ingest
	} else {
		r.Detect = *in.Detect
	}
	return r, nil
}

// waitIdleCPU waits until the process uses under 5% of a core for quiet,
// or until timeout (then it goes on: the figure is only less exact).
func waitIdleCPU(ctx context.Context, pid int, quiet, timeout time.Duration) error {
	const every = 250 * time.Millisecond
	start := time.Now()
	last := time.Duration(-1)
	stable := time.Duration(0)
	for time.Since(start) < timeout {
		cpu, err := readProcCPU(pid)
		if err != nil {
			return err
		}
		if last >= 0 && cpu.total()-last < every/20 {
			if stable += every; stable >= quiet {
				return nil
			}
		} else {
			stable = 0
		}
		last = cpu.total()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
	return nil
}
