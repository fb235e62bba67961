package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything one harness run measured; it is written as JSON
// with -json.
type report struct {
	Date         string  `json:"date"`
	Machine      machine `json:"machine"`
	Dataset      string  `json:"dataset"`
	Records      int64   `json:"records"`
	DatasetBytes int64   `json:"dataset_bytes"`
	Fsync        string  `json:"fsync"`
	// Load1 is the machine's 1-minute load average at each step's start:
	// on a shared machine it says how much the figures are worth.
	Load1   []loadSample  `json:"load1,omitempty"`
	Ingest  *ingestReport `json:"ingest,omitempty"`
	Disk    *diskReport   `json:"disk,omitempty"`
	Queries []queryReport `json:"queries,omitempty"`
	Errors  []string      `json:"errors,omitempty"`
	// Rules are the -rules folders the server loaded (besides the
	// content pack); DetectCost is the -detect-pairs comparison.
	Rules       []string      `json:"rules,omitempty"`
	DetectQueue string        `json:"detection_queue,omitempty"` // -detect-queue
	DetectCost  *detectReport `json:"detection_cost,omitempty"`
}

type ingestReport struct {
	ingestResult
	Conns         int     `json:"conns"`
	BatchBytes    int     `json:"batch_bytes"`
	Zstd          bool    `json:"zstd"`
	RecordsPerSec float64 `json:"records_per_s"`
	MBPerSec      float64 `json:"mb_per_s"`
	CPUPerRecord  float64 `json:"server_cpu_us_per_record"`
	// CPUWithSettle counts the flushes and merges after the last
	// acknowledgement too.
	CPUWithSettle float64 `json:"server_cpu_us_per_record_with_merges"`
	// CPUMergesBusy is CPUWithSettle without the idle wait (-settle-quiet)
	// that confirms the merges are done: on a small ingest that wait's
	// background CPU is a visible share of the figure.
	CPUMergesBusy float64 `json:"server_cpu_us_per_record_with_merges_busy,omitempty"`
	// CPUDrained counts the CPU until live detection had detected every
	// record acknowledged (before the wait for merges); DrainSeconds is
	// that wait and Detect the detection metrics then. Absent when the
	// server runs no detection.
	CPUDrained   float64        `json:"server_cpu_us_per_record_detection_drained,omitempty"`
	DrainSeconds float64        `json:"detection_drain_wait_s,omitempty"`
	Detect       *detectMetrics `json:"detection,omitempty"`
}

type diskReport struct {
	StoreBytes     int64   `json:"store_bytes"`
	WALBytes       int64   `json:"wal_bytes"`
	BytesPerRecord float64 `json:"bytes_per_record"`
	SettleSeconds  float64 `json:"settle_seconds"`
}

type queryReport struct {
	Name     string    `json:"name"`
	Query    string    `json:"query"`
	MedianMs float64   `json:"median_ms"`
	MinMs    float64   `json:"min_ms"`
	RunsMs   []float64 `json:"runs_ms"`
	TargetMs float64   `json:"target_ms"`
	RefMs    float64   `json:"reference_10m_ms"`
	Answer   verdict   `json:"answer"`
	Error    string    `json:"error,omitempty"`
	// Stats is the server's _stats trailer of the last run (blocks
	// scanned and skipped, ...), as the server wrote it.
	Stats json.RawMessage `json:"stats,omitempty"`
}

// failed reports whether the run has a failed step or a wrong answer.
func (r *report) failed() bool {
	if len(r.Errors) > 0 {
		return true
	}
	for _, q := range r.Queries {
		if q.Error != "" || !q.Answer.OK {
			return true
		}
	}
	return false
}

// figure is one line of the summary table.
type figure struct {
	name, measured, target, ref, verdict string
}

// Targets and reference figures from ../shared/bench/README.md.
const (
	targetCPUus      = 8.0
	refCPUus         = 16.0
	targetBytesPerRc = 45.0
	refBytesPerRc    = 59.6
	targetRSSBytes   = 500e6
	refRSSBytes      = 0.5e9
	refRecordsPerSec = 110e3
)

func atMost(v, target float64) string {
	if v <= target {
		return "ok"
	}
	return "over target"
}

// figures returns the summary table.
func (r *report) figures() []figure {
	var fs []figure
	if in := r.Ingest; in != nil {
		fs = append(fs,
			figure{"ingest records/s (" + fmt.Sprint(in.Conns) + " conns)", fmt.Sprintf("%.0f", in.RecordsPerSec), "≥ 200000", fmt.Sprintf("%.0f (1M)", refRecordsPerSec), atLeast(in.RecordsPerSec, 200e3)},
			figure{"ingest MB/s", fmt.Sprintf("%.1f", in.MBPerSec), "-", "-", "-"},
			figure{"server CPU µs/record (ingest)", fmt.Sprintf("%.2f", in.CPUPerRecord), fmt.Sprintf("≤ %.0f", targetCPUus), fmt.Sprintf("%.0f", refCPUus), atMost(in.CPUPerRecord, targetCPUus)},
			figure{"server CPU µs/record (with merges)", fmt.Sprintf("%.2f", in.CPUWithSettle), fmt.Sprintf("≤ %.0f", targetCPUus), "-", atMost(in.CPUWithSettle, targetCPUus)},
		)
		if in.Detect != nil {
			fs = append(fs, figure{"server CPU µs/record (live detection drained)", fmt.Sprintf("%.2f", in.CPUDrained), "-", "-", "-"})
		}
		fs = append(fs,
			figure{"peak RSS while ingesting", mib(in.PeakRSS), "≤ 500 MB (10M)", "~500 MB (10M)", atMost(float64(in.PeakRSS), targetRSSBytes)},
		)
	}
	if d := r.Disk; d != nil {
		fs = append(fs, figure{"bytes/record on disk (store dir)", fmt.Sprintf("%.1f", d.BytesPerRecord), fmt.Sprintf("≤ %.0f", targetBytesPerRc), fmt.Sprintf("%.1f", refBytesPerRc), atMost(d.BytesPerRecord, targetBytesPerRc)})
		if d.WALBytes > 0 && r.Records > 0 {
			noWAL := float64(d.StoreBytes-d.WALBytes) / float64(r.Records)
			fs = append(fs, figure{"bytes/record on disk (without WAL)", fmt.Sprintf("%.1f", noWAL), fmt.Sprintf("≤ %.0f", targetBytesPerRc), fmt.Sprintf("%.1f", refBytesPerRc), atMost(noWAL, targetBytesPerRc)})
		}
	}
	if r.DetectCost != nil {
		fs = append(fs, r.DetectCost.figures()...)
	}
	for _, q := range r.Queries {
		f := figure{name: q.Name + " (median)", target: fmt.Sprintf("≤ %s ms", ms(q.TargetMs)), ref: ms(q.RefMs) + " ms"}
		switch {
		case q.Error != "":
			f.measured, f.verdict = "error", "FAIL: "+shortString(q.Error, 80)
		case !q.Answer.OK:
			f.measured = ms(q.MedianMs) + " ms"
			f.verdict = "FAIL: wrong answer"
		default:
			f.measured = fmt.Sprintf("%s ms (min %s)", ms(q.MedianMs), ms(q.MinMs))
			f.verdict = atMost(q.MedianMs, q.TargetMs)
		}
		fs = append(fs, f)
	}
	return fs
}

func atLeast(v, target float64) string {
	if v >= target {
		return "ok"
	}
	return "under target"
}

func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// writeTable prints the summary as aligned text.
func (r *report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tmeasured\ttarget\treference store\tverdict\n")
	for _, f := range r.figures() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.name, f.measured, f.target, f.ref, f.verdict)
	}
	return tw.Flush()
}

// markdown returns the run as a section for docs/benchmarks.md.
func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s records (%s)\n\n", strings.ToUpper(humanCount(r.Records)), r.Date)
	fmt.Fprintf(&b, "Machine: %s. Dataset: %s, %.0f MB, seed 42. WAL fsync: %s.\n\n", r.Machine, r.Dataset, float64(r.DatasetBytes)/1e6, r.Fsync)
	if len(r.Load1) > 0 {
		parts := make([]string, len(r.Load1))
		for i, l := range r.Load1 {
			parts[i] = fmt.Sprintf("%s %.1f", strings.ReplaceAll(l.Step, "_", " "), l.Load1)
		}
		fmt.Fprintf(&b, "Load average (1 min) on the %d cores: %s.\n\n", r.Machine.CPUs, strings.Join(parts, ", "))
	}
	if len(r.Rules) > 0 {
		fmt.Fprintf(&b, "Rules: the content pack and %s.\n\n", strings.Join(r.Rules, ", "))
	}
	if r.DetectQueue != "" {
		fmt.Fprintf(&b, "Live detection queue: %s.\n\n", r.DetectQueue)
	}
	if d := r.DetectCost; d != nil {
		fmt.Fprintf(&b, "Live detection cost: %d runs, pairs without and with the rules interleaved; µs of server CPU per record (acknowledged / detection drained / with merges) per run: %s.\n\n", len(d.Runs), d.runList())
	}
	if in := r.Ingest; in != nil {
		fmt.Fprintf(&b, "Ingest: %d connections, %d KiB NDJSON bodies, zstd %v, %d records acknowledged in %.1f s (%d rejected, %d retries after 429).\n\n",
			in.Conns, in.BatchBytes>>10, in.Zstd, in.Records, in.Wall.Seconds(), in.Rejected, in.Retries)
	}
	b.WriteString("| figure | measured | target | reference store | verdict |\n| --- | --- | --- | --- | --- |\n")
	for _, f := range r.figures() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", f.name, f.measured, f.target, f.ref, mdEscape(f.verdict))
	}
	if len(r.Queries) > 0 {
		b.WriteString("\n| query | text | answer | expected | got |\n| --- | --- | --- | --- | --- |\n")
		for _, q := range r.Queries {
			res := "PASS"
			if q.Error != "" || !q.Answer.OK {
				res = "FAIL"
			}
			got := q.Answer.Got
			if q.Error != "" {
				got = q.Error
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", q.Name, mdEscape(q.Query), res, mdEscape(q.Answer.Want), mdEscape(got))
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "\nError: %s\n", mdEscape(e))
	}
	return b.String()
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func (r *report) writeJSON(file string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func durMs(d time.Duration) float64 { return float64(d) / 1e6 }

// parseLoad1 reads the 1-minute load average from /proc/loadavg text.
func parseLoad1(b []byte) (float64, bool) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// noteLoad records the current load average under step, when readable.
func (r *report) noteLoad(step string) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return // informative only
	}
	if v, ok := parseLoad1(b); ok {
		r.Load1 = append(r.Load1, loadSample{step, v})
	}
}

// loadSample is the load average when a step started.
type loadSample struct {
	Step  string  `json:"step"`
	Load1 float64 `json:"load1"`
}
