package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/detect/sigma"
	"github.com/mamori/mamori/internal/event"
)

func init() {
	register("hunt", "run Sigma rules over EVTX and JSON-lines files, offline", runHunt)
}

// huntListFlag collects a repeatable flag.
type huntListFlag []string

func (l *huntListFlag) String() string     { return strings.Join(*l, ",") }
func (l *huntListFlag) Set(v string) error { *l = append(*l, v); return nil }

func runHunt(ctx context.Context, args []string) error {
	fs := newFlagSet("hunt", "--rules DIR [--rules DIR...] FILE|DIR...")
	var rules huntListFlag
	fs.Var(&rules, "rules", "Sigma rule folder or file (repeatable; required)")
	since := fs.String("since", "", "only events at or after this time (RFC 3339, or relative like -24h; default: all)")
	until := fs.String("until", "", "only events before this time (RFC 3339, or relative; default: all)")
	pipeline := fs.String("pipeline", "", "pipeline YAML file with log-source routing and field mapping (default: built-in)")
	placeholders := fs.String("placeholders", "", "YAML file of named value lists for the expand modifier (default: none)")
	workers := fs.Int("workers", 0, "files read in parallel (default: number of CPUs)")
	summary := fs.Bool("summary", true, "print a summary table to stderr")
	verbose := fs.Bool("v", false, "list every skipped rule and malformed input on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the hunt to this file (default: none)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if len(rules) == 0 || fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	opts := sigma.HuntOptions{Workers: *workers}
	var err error
	if opts.Since, err = huntParseTime(*since); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if opts.Until, err = huntParseTime(*until); err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	opts.Logger = logger
	copts := sigma.Options{Logger: logger}
	if *pipeline != "" {
		data, err := os.ReadFile(*pipeline)
		if err != nil {
			return err
		}
		if copts.Pipeline, err = sigma.ParsePipeline(data); err != nil {
			return err
		}
	}
	if *placeholders != "" {
		data, err := os.ReadFile(*placeholders)
		if err != nil {
			return err
		}
		if err := yaml.Unmarshal(data, &copts.Placeholders); err != nil {
			return fmt.Errorf("placeholders %s: %w", *placeholders, err)
		}
	}
	start := time.Now()
	rs, issues, err := sigma.LoadDir(rules...)
	if err != nil {
		return err
	}
	eng, cissues, err := sigma.Compile(rs.Rules, copts)
	if err != nil {
		return err
	}
	issues = append(issues, cissues...)
	huntReportIssues(os.Stderr, issues, *verbose)
	fmt.Fprintf(os.Stderr, "mamori hunt: %d rules compiled from %d files, %d skipped (%s)\n",
		len(eng.Rules()), rs.Files, len(issues), time.Since(start).Round(time.Millisecond))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	stats, herr := sigma.Hunt(ctx, eng, fs.Args(), opts, out)
	if err := out.Flush(); err != nil && herr == nil {
		herr = err
	}
	if stats != nil && (*summary || huntIsTerminal(os.Stdout)) {
		huntPrintSummary(os.Stderr, stats)
	}
	return herr
}

func huntParseTime(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if strings.HasPrefix(s, "-") {
		d, err := time.ParseDuration(s[1:])
		if err != nil {
			return 0, err
		}
		return time.Now().Add(-d).UnixNano(), nil
	}
	if ns, ok := event.ParseTime(s); ok {
		return ns, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, fmt.Errorf("want RFC 3339, a date or -DURATION, got %q", s)
	}
	return t.UnixNano(), nil
}

func huntReportIssues(w io.Writer, issues []sigma.LoadIssue, verbose bool) {
	byReason := map[string]int{}
	for _, li := range issues {
		byReason[li.Reason]++
		if verbose {
			fmt.Fprintln(w, "skipped:", li)
		}
	}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  skipped %-24s %d\n", r, byReason[r])
	}
}

func huntIsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func huntPrintSummary(w io.Writer, s *sigma.HuntStats) {
	type row struct {
		r *sigma.Rule
		n int64
	}
	rows := make([]row, 0, len(s.ByRule))
	for r, n := range s.ByRule {
		rows = append(rows, row{r, n})
	}
	rank := map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if ra, rb := rank[a.r.Level], rank[b.r.Level]; ra != rb {
			return ra < rb
		}
		if a.n != b.n {
			return a.n > b.n
		}
		return a.r.Title < b.r.Title
	})
	fmt.Fprintf(w, "\n%-8s %7s  %s\n", "LEVEL", "HITS", "RULE")
	for _, r := range rows {
		fmt.Fprintf(w, "%-8s %7d  %s\n", r.r.Level, r.n, r.r.Title)
	}
	secs := s.Took.Seconds()
	fmt.Fprintf(w, "\n%d files, %d events (%.1f MB), %d malformed, %d matches of %d rules in %s (%.0f events/s)\n",
		s.Files, s.Events, float64(s.Bytes)/1e6, s.Malformed, s.Matches, len(s.ByRule), s.Took.Round(time.Millisecond), float64(s.Events)/max(secs, 1e-9))
}
