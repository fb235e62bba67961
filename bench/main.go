package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the harness's flags.
type config struct {
	n              int64
	seed           uint64
	work, shared   string
	dataset        string // reuse this NDJSON file
	dataDir        string // reuse or create this data dir
	bin            string
	skipBuild      bool
	skipIngest     bool
	skipQueries    bool
	addr, token    string
	fsync          string
	conns          int
	batchBytes     int
	zstd           bool
	ingestParams   string
	runs           int
	only           string
	queryTimeout   time.Duration
	settleQuiet    time.Duration
	settleTimeout  time.Duration
	jsonOut, mdOut string
	// Live detection cost (#5).
	rules        ruleDirs      // -rules: Sigma rule folders for the server
	scenario     string        // -scenario: ingest this scenario folder instead
	detectPairs  int           // -detect-pairs: runs without and with -rules
	limit        int64         // -limit: ingest only the first records
	drainTimeout time.Duration // longest wait for live detection to drain
	detectQueue  string        // -detect-queue: the server's detection_queue setting
}

// ruleDirs is a repeatable flag.
type ruleDirs []string

func (r *ruleDirs) String() string { return strings.Join(*r, ",") }
func (r *ruleDirs) Set(v string) error {
	*r = append(*r, v)
	return nil
}

// detectArgs are the server flags for the rules (when with) and for
// -detect-queue (a configuration file written into the work directory).
func (c config) detectArgs(with bool) ([]string, error) {
	var args []string
	if with {
		args = c.rules.serverArgs()
	}
	if c.detectQueue == "" {
		return args, nil
	}
	file := filepath.Join(c.work, "detect-config.yaml")
	if err := os.WriteFile(file, []byte("detection_queue: "+strconv.Quote(c.detectQueue)+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	return append(args, "--config", file), nil
}

// serverArgs are the server flags for the rule folders.
func (r ruleDirs) serverArgs() []string {
	var args []string
	for _, d := range r {
		args = append(args, "--rules", d)
	}
	return args
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Int64Var(&c.n, "n", 1_000_000, "number of records in the dataset")
	fs.Uint64Var(&c.seed, "seed", 42, "generator seed (the README's answers are for 42)")
	fs.StringVar(&c.work, "work", "/tmp/mamori-bench", "work directory for the dataset, binary, data dir and logs")
	fs.StringVar(&c.shared, "shared", "", "shared benchmark folder with gen/ (default ../shared/bench)")
	fs.StringVar(&c.dataset, "dataset", "", "use this NDJSON file (with FILE.meta.json) instead of generating one")
	fs.StringVar(&c.dataDir, "data", "", "server data directory (default WORK/data-N; wiped before ingest unless -skip-ingest)")
	fs.StringVar(&c.bin, "bin", "", "mamori binary (default WORK/mamori, built from ./cmd/mamori)")
	fs.BoolVar(&c.skipBuild, "skip-build", false, "do not build the binary; use -bin or WORK/mamori as is")
	fs.BoolVar(&c.skipIngest, "skip-ingest", false, "do not ingest: query the existing data directory")
	fs.BoolVar(&c.skipQueries, "skip-queries", false, "do not run the query set")
	fs.StringVar(&c.addr, "addr", "", "server listen address (default a free 127.0.0.1 port)")
	fs.StringVar(&c.token, "token", "bench-token", "admin token given to the server in MAMORI_ADMIN_TOKEN")
	fs.StringVar(&c.fsync, "fsync", "", "server --fsync policy (default the server's: always)")
	fs.IntVar(&c.conns, "c", 4, "concurrent ingest connections")
	fs.IntVar(&c.batchBytes, "batch", 2<<20, "ingest body size in bytes before compression")
	fs.BoolVar(&c.zstd, "zstd", false, "send ingest bodies zstd-compressed")
	fs.StringVar(&c.ingestParams, "ingest-params", "", "query parameters for /api/v1/ingest, e.g. 'source=bench'")
	fs.IntVar(&c.runs, "runs", 5, "timed runs of each query after one warm-up run")
	fs.StringVar(&c.only, "q", "", "run only the queries whose name matches this regexp")
	fs.DurationVar(&c.queryTimeout, "query-timeout", 2*time.Minute, "timeout of one query run")
	fs.DurationVar(&c.settleQuiet, "settle-quiet", 5*time.Second, "how long the store must stay unchanged after ingest")
	fs.DurationVar(&c.settleTimeout, "settle-timeout", 5*time.Minute, "longest wait for flushes and merges after ingest")
	fs.StringVar(&c.jsonOut, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&c.mdOut, "md", "", "also write the report as a markdown section for docs/benchmarks.md")
	fs.Var(&c.rules, "rules", "Sigma rule folder the server loads (repeatable: mamori server --rules)")
	fs.StringVar(&c.scenario, "scenario", "", "ingest this generated scenario folder (winlogbeat, CloudTrail, CEF, syslog, ... with source and format) instead of the dataset; no queries")
	fs.IntVar(&c.detectPairs, "detect-pairs", 0, "measure live detection's cost: this many interleaved pairs of fresh servers without and with -rules (ingest, drain, merges); no queries")
	fs.Int64Var(&c.limit, "limit", 0, "ingest only the first N records (needs -skip-queries, -scenario or -detect-pairs: the answers are for the whole set)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 10*time.Minute, "longest wait for live detection to drain after ingest")
	fs.StringVar(&c.detectQueue, "detect-queue", "", "the server's live detection queue bound (detection_queue in a configuration file the harness writes, e.g. 1GiB; default the server's, 64 MiB)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	if c.n <= 0 && c.dataset == "" {
		errs = append(errs, errors.New("-n must be positive"))
	}
	if c.conns <= 0 || c.batchBytes <= 0 || c.runs <= 0 {
		errs = append(errs, errors.New("-c, -batch and -runs must be positive"))
	}
	if _, err := regexp.Compile(c.only); err != nil {
		errs = append(errs, fmt.Errorf("-q: %w", err))
	}
	if _, err := url.ParseQuery(c.ingestParams); err != nil {
		errs = append(errs, fmt.Errorf("-ingest-params: %w", err))
	}
	if c.detectPairs < 0 || c.detectPairs > 0 && len(c.rules) == 0 {
		errs = append(errs, errors.New("-detect-pairs needs -rules and a positive count"))
	}
	if c.limit < 0 || c.limit > 0 && !c.skipQueries && c.scenario == "" && c.detectPairs == 0 {
		errs = append(errs, errors.New("-limit needs -skip-queries (or -scenario, -detect-pairs)"))
	}
	if c.scenario != "" || c.detectPairs > 0 {
		c.skipQueries = true
	}
	return c, errors.Join(errs...)
}

func main() {
	c, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, c, log)
	if errors.Is(err, errNoShared) {
		log.Warn("skipping the benchmark: " + err.Error())
		os.Exit(0)
	}
	if rep != nil {
		finish(c, rep, err, log)
	}
	if err != nil || rep == nil || rep.failed() {
		if err != nil {
			log.Error("benchmark failed", "err", err)
		}
		os.Exit(1)
	}
}

// finish prints and writes the report.
func finish(c config, rep *report, runErr error, log *slog.Logger) {
	if runErr != nil {
		rep.Errors = append(rep.Errors, runErr.Error())
	}
	fmt.Println()
	if err := rep.writeTable(os.Stdout); err != nil {
		log.Error("print report", "err", err)
	}
	if c.jsonOut != "" {
		if err := rep.writeJSON(c.jsonOut); err != nil {
			log.Error("write report", "err", err)
		}
	}
	if c.mdOut != "" {
		if err := os.WriteFile(c.mdOut, []byte(rep.markdown()), 0o644); err != nil {
			log.Error("write markdown", "err", fmt.Errorf("write %s: %w", c.mdOut, err))
		}
	}
}

// run performs the steps; the report holds what was measured even when a
// later step fails.
func run(ctx context.Context, c config, log *slog.Logger) (*report, error) {
	if err := os.MkdirAll(c.work, 0o755); err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	if c.scenario != "" {
		return runScenario(ctx, c, log)
	}
	// Step 1: dataset and its exact answers.
	file, m, err := dataset(ctx, c, log)
	if err != nil {
		return nil, err
	}
	rep := newReport(c, filepath.Base(file), m.Records, m.Bytes)
	if c.detectPairs > 0 {
		if c.limit > 0 {
			rep.Records = min(rep.Records, c.limit)
		}
		return rep, detectStep(ctx, c, ingestSource{file: file}, rep, log)
	}
	start := time.Now()
	exp, cached, err := loadExpected(file)
	switch {
	case exp == nil:
		return rep, err
	case err != nil:
		log.Warn("answers computed but not cached", "err", err)
	}
	log.Info("expected answers ready", "cached", cached, "took", time.Since(start).Round(time.Millisecond))
	if exp.Records != m.Records {
		return rep, fmt.Errorf("dataset %s has %d records, its meta says %d", file, exp.Records, m.Records)
	}
	if probs := crossCheck(exp, m.Seed); len(probs) > 0 {
		return rep, fmt.Errorf("reference answers disagree with ../shared/bench/README.md (harness bug): %s", strings.Join(probs, "; "))
	}
	// Step 2: the server.
	srv, dataDir, err := server(ctx, c, humanCount(c.n), log)
	if err != nil {
		return rep, err
	}
	defer func() {
		if err := srv.stop(log, 60*time.Second); err != nil {
			log.Error("stop server", "err", err)
		}
	}()
	// Steps 3 and 4: ingest, settle, disk.
	if !c.skipIngest {
		rep.noteLoad("ingest_start")
		if err := ingestStep(ctx, c, srv, ingestSource{file: file}, dataDir, rep, log); err != nil {
			return rep, err
		}
	}
	// Step 5: queries.
	if c.skipIngest && !c.skipQueries {
		// A server just started replays detection over recent data and
		// opens its parts: queries timed meanwhile share the cores with it.
		if err := waitIdleCPU(ctx, srv.pid(), 2*time.Second, 2*time.Minute); err != nil {
			return rep, err
		}
	}
	if !c.skipQueries {
		from, to, err := m.timeRange()
		if err != nil {
			return rep, err
		}
		rep.noteLoad("queries_start")
		rep.Queries = runQueries(ctx, c, srv.base, from, to, exp, log)
		rep.noteLoad("queries_end")
	}
	return rep, ctx.Err()
}

func dataset(ctx context.Context, c config, log *slog.Logger) (string, meta, error) {
	if c.dataset != "" {
		m, err := readMeta(c.dataset + ".meta.json")
		return c.dataset, m, err
	}
	shared, err := findShared(c.shared)
	if err != nil {
		return "", meta{}, err
	}
	file := datasetName(c.work, c.n, c.seed)
	m, err := ensureDataset(ctx, shared, file, c.n, c.seed, log)
	return file, m, err
}

// binary builds the server binary unless -skip-build and returns its path.
func binary(ctx context.Context, c config, log *slog.Logger) (string, error) {
	bin := c.bin
	if bin == "" {
		bin = filepath.Join(c.work, "mamori")
	}
	if !c.skipBuild {
		start := time.Now()
		if err := buildServer(ctx, bin); err != nil {
			return "", err
		}
		log.Info("server built", "bin", bin, "took", time.Since(start).Round(time.Millisecond))
	}
	return bin, nil
}

// server builds the binary, prepares the data dir and starts the server;
// name names the default data dir (WORK/data-NAME) and the log.
func server(ctx context.Context, c config, name string, log *slog.Logger) (*serverProc, string, error) {
	bin, err := binary(ctx, c, log)
	if err != nil {
		return nil, "", err
	}
	dataDir := c.dataDir
	if dataDir == "" {
		dataDir = filepath.Join(c.work, "data-"+name)
	}
	if !c.skipIngest {
		if err := freshDataDir(dataDir, c.dataDir != ""); err != nil {
			return nil, "", err
		}
	} else if _, err := os.Stat(dataDir); err != nil {
		return nil, "", fmt.Errorf("-skip-ingest needs an existing data dir: %w", err)
	}
	args, err := c.detectArgs(true)
	if err != nil {
		return nil, "", err
	}
	srv, err := startServer(ctx, serverOptions{
		bin: bin, dataDir: dataDir, addr: c.addr, token: c.token, fsync: c.fsync, extraArgs: args,
		logFile: filepath.Join(c.work, "server-"+name+".log"), healthTimeout: 2 * time.Minute,
	}, log)
	return srv, dataDir, err
}

// ingestSource is what an ingest sends: the NDJSON file, or bodies (a
// scenario) when set.
type ingestSource struct {
	file   string
	bodies []pathBody
}

func ingestStep(ctx context.Context, c config, srv *serverProc, src ingestSource, dataDir string, rep *report, log *slog.Logger) error {
	u := srv.base + "/api/v1/ingest"
	if c.ingestParams != "" {
		u += "?" + c.ingestParams
	}
	log.Info("ingest started", "conns", c.conns, "batch_bytes", c.batchBytes, "zstd", c.zstd)
	res, err := runIngest(ctx, src.file, ingestOptions{
		url: u, token: c.token, conns: c.conns, batchBytes: c.batchBytes, zstd: c.zstd, pid: srv.pid(),
		limit: c.limit, bodies: src.bodies, base: srv.base,
	}, log)
	in := &ingestReport{ingestResult: res, Conns: c.conns, BatchBytes: c.batchBytes, Zstd: c.zstd}
	if res.Wall > 0 {
		in.RecordsPerSec, in.MBPerSec = res.recordsPerSec(), res.mbPerSec()
		in.CPUPerRecord = float64(res.cpuPerRecord()) / 1e3
	}
	rep.Ingest = in
	if err != nil {
		return err
	}
	log.Info("ingest done", "records", res.Records, "accepted", res.Accepted, "rejected", res.Rejected,
		"took", res.Wall.Round(time.Millisecond), "records_per_s", int(in.RecordsPerSec),
		"cpu_us_per_record", fmt.Sprintf("%.2f", in.CPUPerRecord), "peak_rss_mib", res.PeakRSS>>20)
	if res.Rejected > 0 {
		log.Warn("the server rejected records; answers will not match", "rejected", res.Rejected)
	}
	cpu0, err := readProcCPU(srv.pid())
	if err != nil {
		return err
	}
	// Live detection may still be working on what was acknowledged: wait
	// for it, so the CPU per record counts all of its work (#5).
	dm, drainWait, err := waitDrained(ctx, srv.base, c.token, c.drainTimeout, log)
	if err != nil {
		return err
	}
	if dm.Present && res.Records > 0 {
		cpuD, err := readProcCPU(srv.pid())
		if err != nil {
			return err
		}
		in.Detect, in.DrainSeconds = &dm, drainWait.Seconds()
		in.CPUDrained = float64(res.ServerCPU+cpuD.total()-cpu0.total()) / float64(res.Records) / 1e3
		log.Info("live detection drained", "waited", drainWait.Round(time.Millisecond), "events", dm.Events, "signals", dm.Signals,
			"caught_up", dm.CaughtUp, "dropped", dm.Dropped, "cpu_us_per_record", fmt.Sprintf("%.2f", in.CPUDrained))
	}
	storeDir := filepath.Join(dataDir, "store")
	if _, err := os.Stat(storeDir); err != nil {
		log.Warn("no store directory, measuring the whole data dir", "dir", dataDir)
		storeDir = dataDir
	}
	log.Info("waiting for flushes and merges", "quiet", c.settleQuiet, "timeout", c.settleTimeout)
	waited, busyCPU, err := settleBusy(ctx, storeDir, srv.pid(), c.settleQuiet, c.settleTimeout, log)
	if err != nil {
		return err
	}
	cpu1, err := readProcCPU(srv.pid())
	if err != nil {
		return err
	}
	if res.Records > 0 {
		in.CPUWithSettle = float64(res.ServerCPU+cpu1.total()-cpu0.total()) / float64(res.Records) / 1e3
		in.CPUMergesBusy = float64(res.ServerCPU+busyCPU-cpu0.total()) / float64(res.Records) / 1e3
	}
	size, err := dirSize(storeDir)
	if err != nil {
		return err
	}
	wal, _ := dirSize(filepath.Join(storeDir, "wal")) // 0 when the store keeps no wal/ folder
	rep.Disk = &diskReport{StoreBytes: size, WALBytes: wal, BytesPerRecord: float64(size) / float64(rep.Records), SettleSeconds: waited.Seconds()}
	log.Info("store settled", "waited", waited.Round(time.Second), "store_bytes", size, "wal_bytes", wal,
		"bytes_per_record", fmt.Sprintf("%.1f", rep.Disk.BytesPerRecord))
	return nil
}

// runQueries runs the query set: one warm-up, then c.runs timed runs each.
func runQueries(ctx context.Context, c config, base string, from, to time.Time, exp *expected, log *slog.Logger) []queryReport {
	only := regexp.MustCompile(c.only) // validated in parseFlags
	cl := &searchClient{base: base, token: c.token, http: &http.Client{}, timeout: c.queryTimeout}
	var out []queryReport
	for _, q := range querySet {
		if !only.MatchString(q.name) || ctx.Err() != nil {
			continue
		}
		qr := runQuery(ctx, cl, q, c.runs, from, to, exp)
		status := "PASS"
		if qr.Error != "" || !qr.Answer.OK {
			status = "FAIL"
		}
		log.Info("query "+status, "name", q.name, "median_ms", ms(qr.MedianMs), "want", qr.Answer.Want, "got", qr.Answer.Got, "err", qr.Error)
		out = append(out, qr)
	}
	return out
}

func runQuery(ctx context.Context, cl *searchClient, q benchQuery, runs int, from, to time.Time, exp *expected) queryReport {
	qr := queryReport{Name: q.name, Query: q.text, TargetMs: durMs(q.target), RefMs: durMs(q.ref)}
	req := searchRequest{Query: q.text, From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), Limit: 100_000}
	res, err := cl.search(ctx, req) // warm-up; its answer is the one checked
	if err != nil {
		qr.Error = err.Error()
		qr.Answer = verdict{Want: checkAnswer(q.name, nil, exp).Want, Got: "error"}
		return qr
	}
	qr.Answer = checkAnswer(q.name, res.rows, exp)
	var took []time.Duration
	for range runs {
		res, err := cl.search(ctx, req)
		if err != nil {
			qr.Error = err.Error()
			return qr
		}
		took = append(took, res.took)
		qr.RunsMs = append(qr.RunsMs, durMs(res.took))
		qr.Stats = res.stats
	}
	qr.MedianMs, qr.MinMs = durMs(median(took)), durMs(slices.Min(took))
	return qr
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), CPUModel: "unknown cpu"}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemBytes = parseMemTotal(b)
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = parseCPUModel(b)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// freshDataDir empties the data directory before an ingest. A directory
// named with -data is only removed when it is empty, so a typo cannot wipe
// real data; the default one under the work directory is the harness's own.
func freshDataDir(dir string, explicit bool) error {
	if explicit {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("fresh data dir: %w", err)
		}
		if len(entries) > 0 {
			return fmt.Errorf("fresh data dir: %s is not empty: remove it, pick a new -data, or pass -skip-ingest to query it", dir)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("fresh data dir: %w", err)
	}
	return nil
}
