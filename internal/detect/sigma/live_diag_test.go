package sigma

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
)

// liveParsers maps the files of a generated scenario to the parser the
// server uses for them ("" = auto), as internal/detect's live tests do.
var liveParsers = map[string]string{
	"winlogbeat_sysmon.ndjson": "", "winlogbeat_security.ndjson": "",
	"syslog_rfc3164.log": "syslog", "syslog_rfc5424.log": "syslog", "firewall_cef.log": "cef",
	"proxy_squid_access.log": "squid", "dns_bind_query.log": "bind", "cloudtrail.ndjson": "",
	"exchange_app.ndjson": "",
}

// liveEngine compiles every SigmaHQ rule and the content pack's Sigma
// rules as the live detector does (SlimRules).
func liveEngine(tb testing.TB) *Engine {
	tb.Helper()
	root := filepath.Join(sharedSigma, "sigmahq")
	if _, err := os.Stat(root); err != nil {
		tb.Skipf("SigmaHQ rules absent (%v)", err)
	}
	rs, _, err := LoadDir(filepath.Join(root, "rules"), filepath.Join(root, "rules-emerging-threats"),
		filepath.Join(root, "rules-threat-hunting"), "../../../content/rules/sigma")
	if err != nil {
		tb.Fatal(err)
	}
	e, _, err := Compile(rs.Rules, Options{SlimRules: true})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// liveEvents decodes lines 1-2,000 of every scenario file (SIGMA_SCENARIO;
// LIVE_ONLY=name-prefix keeps the files named so) as the server ingests
// them: per file, the first 1,000 events (warm) and the next 1,000.
func liveEvents(tb testing.TB) (warm, measured [][]event.Event) {
	tb.Helper()
	dir := os.Getenv("SIGMA_SCENARIO")
	if dir == "" {
		tb.Skip("set SIGMA_SCENARIO")
	}
	names := slices.Sorted(maps.Keys(liveParsers))
	if only := os.Getenv("LIVE_ONLY"); only != "" {
		names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, only) })
	}
	now := func() int64 { return 1 }
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		lines := bytes.SplitAfterN(data, []byte("\n"), 2001)
		var p parse.Parser
		if liveParsers[name] != "" {
			p, _ = parse.New(liveParsers[name], parse.Options{})
		}
		for part, lo := range []int{0, 1000} {
			if lo >= len(lines) {
				continue
			}
			hi := min(len(lines), lo+1000)
			if hi == 2001 {
				hi = 2000
			}
			es, _, err := ingest.DecodeLines(bytes.NewReader(bytes.Join(lines[lo:hi], nil)), ingest.LineOptions{
				Parser: p, Meta: event.Event{Source: "bench"}, Now: now})
			if err != nil {
				tb.Fatal(err)
			}
			if part == 0 {
				warm = append(warm, es)
			} else {
				measured = append(measured, es)
			}
		}
	}
	return warm, measured
}

// liveRun matches the event sets interleaved in batches of 100, as the
// live test does; it returns the events and the matches.
func liveRun(e *Engine, sets [][]event.Event) (events, matches int) {
	fn := func(Match) { matches++ }
	for off := 0; ; off += 100 {
		more := false
		for _, es := range sets {
			if off < len(es) {
				more = true
				for i := off; i < min(off+100, len(es)); i++ {
					e.Match(&es[i], fn)
				}
				events += min(off+100, len(es)) - off
			}
		}
		if !more {
			return events, matches
		}
	}
}

// diagLiveMeasured is liveRun under its own name, for
// valgrind --toggle-collect.
//
//go:noinline
func diagLiveMeasured(e *Engine, sets [][]event.Event) (events, matches int) {
	return liveRun(e, sets)
}

// TestDiagLiveMatch is for instruction counts of Engine.Match on the live
// path (SIGMA_SCENARIO, LIVE_MATCH_DIAG=1): every SigmaHQ rule and the
// content pack's Sigma rules, the events of TestDiagLiveOnce
// (internal/detect). Run under
//
//	valgrind --tool=callgrind --toggle-collect='*diagLiveMeasured*'
//
// (GOGC=off GOMAXPROCS=1): the collected instructions / the measured
// events are Match's cost per event. LIVE_DIAG_REPS repeats the measured
// pass (default 1).
func TestDiagLiveMatch(t *testing.T) {
	if os.Getenv("LIVE_MATCH_DIAG") == "" {
		t.Skip("set LIVE_MATCH_DIAG=1 and SIGMA_SCENARIO")
	}
	warm, measured := liveEvents(t)
	e := liveEngine(t)
	we, wm := liveRun(e, warm)
	t.Logf("warm-up: %d events, %d matches", we, wm)
	reps, _ := strconv.Atoi(os.Getenv("LIVE_DIAG_REPS"))
	for range max(reps, 1) {
		me, mm := diagLiveMeasured(e, measured)
		t.Logf("measured: %d events, %d matches", me, mm)
	}
}
