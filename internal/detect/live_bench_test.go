//go:build unix

package detect

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
)

// liveFiles maps the files of a generated scenario (SIGMA_SCENARIO: a
// scenariogen -out directory, see ../shared/testdata/scenario/README.md)
// to the parser the server uses for them ("" = auto).
var liveFiles = map[string]string{
	"winlogbeat_sysmon.ndjson": "", "winlogbeat_security.ndjson": "",
	"syslog_rfc3164.log": "syslog", "syslog_rfc5424.log": "syslog", "firewall_cef.log": "cef",
	"proxy_squid_access.log": "squid", "dns_bind_query.log": "bind", "cloudtrail.ndjson": "",
	"exchange_app.ndjson": "",
}

const sharedTestdata = "../../../shared/testdata"

// liveBody is one ingest request: lines of one source and their parser.
type liveBody struct {
	data   []byte
	parser parse.Parser
	lines  int
}

// events decodes the body as the server does (ingest.DecodeLines), with
// now as the receive clock.
func (lb *liveBody) events(tb testing.TB, now func() int64) []event.Event {
	tb.Helper()
	evs, _, err := ingest.DecodeLines(bytes.NewReader(lb.data), ingest.LineOptions{
		Parser: lb.parser, Meta: event.Event{Source: "bench"}, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

// liveBodies cuts the scenario files (or, without SIGMA_SCENARIO, the Sigma
// dev events) into request bodies of up to 1,000 lines.
func liveBodies(tb testing.TB) []liveBody {
	tb.Helper()
	if path := os.Getenv("LIVE_NDJSON"); path != "" {
		return ndjsonBodies(tb, path)
	}
	files := map[string]string{}
	dir := os.Getenv("SIGMA_SCENARIO")
	if dir != "" {
		for name, p := range liveFiles {
			files[filepath.Join(dir, name)] = p
		}
	} else {
		files[filepath.Join(sharedTestdata, "sigma/dev/logs.jsonl")] = ""
	}
	var out []liveBody
	for _, path := range slices.Sorted(maps.Keys(files)) { // the same order every run
		pname := files[path]
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Skipf("test data absent (%v); set SIGMA_SCENARIO for the mixed corpus", err)
		}
		var p parse.Parser
		if pname != "" {
			p, _ = parse.New(pname, parse.Options{})
		}
		lines := bytes.SplitAfter(data, []byte("\n"))
		for len(lines) > 0 {
			n := min(1000, len(lines))
			out = append(out, liveBody{data: bytes.Join(lines[:n], nil), parser: p, lines: n})
			lines = lines[n:]
		}
	}
	return out
}

// ndjsonBodies cuts the first LIVE_LINES lines (default 100,000) of an
// NDJSON file (LIVE_NDJSON, e.g. the bench harness's dataset) into bodies
// of 1,000 lines decoded with the automatic format, as the harness's
// server decodes them.
func ndjsonBodies(tb testing.TB, path string) []liveBody {
	tb.Helper()
	limit := 100_000
	if v := os.Getenv("LIVE_LINES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			tb.Fatal(err)
		}
		limit = n
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Skipf("LIVE_NDJSON: %v", err)
	}
	lines := bytes.SplitAfterN(data, []byte("\n"), limit+1)
	lines = lines[:min(len(lines), limit)]
	var out []liveBody
	for len(lines) > 0 {
		n := min(1000, len(lines))
		out = append(out, liveBody{data: bytes.Join(lines[:n], nil), lines: n})
		lines = lines[n:]
	}
	return out
}

// BenchmarkLiveDetectionCost measures, on the same events, the CPU time
// per event of the ingest path (ingest.DecodeLines with the source's
// parser) and the added CPU time of live detection (Detector.Detect with
// every SigmaHQ rule and the content pack), and reports their ratio (the
// issue's target: detection adds at most 20%). The two phases alternate
// per body so load on the machine affects both alike. One op is one body.
// LIVE_NDJSON=FILE measures on an NDJSON file instead (ndjsonBodies).
func BenchmarkLiveDetectionCost(b *testing.B) {
	bodies := liveBodies(b)
	d := openSigmaHQDetector(b)
	now := func() int64 { return time.Now().UnixNano() }
	b.ResetTimer()
	var ingestCPU, detectCPU time.Duration
	var events, signals int
	for i := 0; i < b.N; i++ {
		body := &bodies[i%len(bodies)]
		c0 := processCPU()
		evs := body.events(b, now)
		c1 := processCPU()
		signals += len(d.Detect(evs))
		c2 := processCPU()
		ingestCPU += c1 - c0
		detectCPU += c2 - c1
		events += len(evs)
	}
	if events == 0 || ingestCPU <= 0 {
		return
	}
	b.ReportMetric(float64(ingestCPU.Nanoseconds())/float64(events), "ingest-cpu-ns/event")
	b.ReportMetric(float64(detectCPU.Nanoseconds())/float64(events), "detect-cpu-ns/event")
	b.ReportMetric(100*float64(detectCPU)/float64(ingestCPU), "detect/ingest-%")
	b.ReportMetric(float64(signals)/float64(events), "signals/event")
}

// openSigmaHQDetector opens a detector with every SigmaHQ rule and the
// content pack, without suppression; it skips when the rules are absent.
func openSigmaHQDetector(b testing.TB) *Detector {
	b.Helper()
	sigmahq := filepath.Join(sharedTestdata, "sigma/sigmahq")
	if _, err := os.Stat(sigmahq); err != nil {
		b.Skipf("SigmaHQ rules absent (%v)", err)
	}
	d, err := Open(Options{RuleDirs: []string{
		filepath.Join(sigmahq, "rules"), filepath.Join(sigmahq, "rules-emerging-threats"),
		filepath.Join(sigmahq, "rules-threat-hunting"), "../../content/rules",
	}, SuppressFor: -1})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkLiveDetectionBySource splits the added CPU of Detector.Detect
// (every SigmaHQ rule and the content pack, as BenchmarkLiveDetectionCost)
// by scenario file, to show which log sources cost what. Needs
// SIGMA_SCENARIO. One op is one pass over every file's first 2,000 lines
// (liveSourceEvents; LIVE_ONLY=name-prefix keeps only the files named so,
// e.g. for a profile of one source).
func BenchmarkLiveDetectionBySource(b *testing.B) {
	d := openSigmaHQDetector(b)
	names, evs := liveSourceEvents(b)
	cpu := map[string]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		for _, name := range names {
			c0 := processCPU()
			d.Detect(evs[name])
			cpu[name] += processCPU() - c0
		}
	}
	for _, name := range names {
		b.ReportMetric(float64(cpu[name].Nanoseconds())/float64(b.N*len(evs[name])), liveSourceName(name)+"-ns/event")
	}
}

// liveSourceEvents decodes the first 2,000 lines of every scenario file
// (SIGMA_SCENARIO; LIVE_ONLY=name-prefix keeps only the files named so)
// and returns the file names, sorted, and their events.
func liveSourceEvents(b *testing.B) ([]string, map[string][]event.Event) {
	b.Helper()
	dir := os.Getenv("SIGMA_SCENARIO")
	if dir == "" {
		b.Skip("set SIGMA_SCENARIO to a scenariogen -out directory")
	}
	now := func() int64 { return time.Now().UnixNano() }
	names := slices.Sorted(maps.Keys(liveFiles))
	if only := os.Getenv("LIVE_ONLY"); only != "" {
		names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, only) })
	}
	evs := map[string][]event.Event{}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		lines := bytes.SplitAfterN(data, []byte("\n"), 2001)
		var p parse.Parser
		if liveFiles[name] != "" {
			p, _ = parse.New(liveFiles[name], parse.Options{})
		}
		es, _, err := ingest.DecodeLines(bytes.NewReader(bytes.Join(lines[:min(len(lines), 2000)], nil)), ingest.LineOptions{
			Parser: p, Meta: event.Event{Source: "bench"}, Now: now})
		if err != nil {
			b.Fatal(err)
		}
		evs[name] = es
	}
	return names, evs
}

func liveSourceName(file string) string {
	return strings.TrimSuffix(strings.TrimSuffix(file, ".log"), ".ndjson")
}

// BenchmarkLiveDetectionSplit splits the CPU of Detector.Detect per
// scenario file (as BenchmarkLiveDetectionBySource) into the Sigma
// engine's matching (matchAll: Engine.Match on every event) and the rest
// (skipping, stateful rules, signal building, suppression, intel): each
// op runs the matching alone, then the whole Detect, per file, and the
// rest is their difference. GOMAXPROCS=1 keeps the matching on one
// goroutine, as in the process CPU measured.
func BenchmarkLiveDetectionSplit(b *testing.B) {
	d := openSigmaHQDetector(b)
	names, evs := liveSourceEvents(b)
	match, all := map[string]time.Duration{}, map[string]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		for _, name := range names {
			c0 := processCPU()
			matchAll(d.eng, evs[name])
			c1 := processCPU()
			d.Detect(evs[name])
			match[name] += c1 - c0
			all[name] += processCPU() - c1
		}
	}
	for _, name := range names {
		per := float64(b.N * len(evs[name]))
		b.ReportMetric(float64(match[name].Nanoseconds())/per, liveSourceName(name)+"-match-ns/event")
		b.ReportMetric(float64((all[name]-match[name]).Nanoseconds())/per, liveSourceName(name)+"-rest-ns/event")
	}
}

// BenchmarkDetectContentPack measures Detector.Detect with the rules a
// server loads by default (the content pack) on the first 100,000 lines
// of DETECT_NDJSON (e.g. the ingest benchmark's dataset, whose server
// runs this detection), in batches of 1,000, with and without the
// stateful rule index, against the CPU of decoding the lines (one pass,
// ingest.DecodeLines, measured once). One op is one pass over the lines.
func BenchmarkDetectContentPack(b *testing.B) {
	path := os.Getenv("DETECT_NDJSON")
	if path == "" {
		b.Skip("set DETECT_NDJSON to an NDJSON file")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	data := make([]byte, 64<<20)
	n, _ := io.ReadFull(f, data)
	lines := bytes.SplitAfter(data[:n], []byte("\n"))
	lines = lines[:min(len(lines)-1, 100_000)] // the last may be cut
	var batches [][]event.Event
	var ingestCPU time.Duration
	for len(lines) > 0 {
		k := min(1000, len(lines))
		c0 := processCPU()
		evs, _, err := ingest.DecodeLines(bytes.NewReader(bytes.Join(lines[:k], nil)), ingest.LineOptions{
			Meta: event.Event{Source: "bench"}, Now: func() int64 { return time.Now().UnixNano() }})
		ingestCPU += processCPU() - c0
		if err != nil {
			b.Fatal(err)
		}
		batches, lines = append(batches, evs), lines[k:]
	}
	total := 0
	for _, evs := range batches {
		total += len(evs)
	}
	for _, index := range []bool{true, false} {
		b.Run(fmt.Sprintf("index=%v", index), func(b *testing.B) {
			d, err := Open(Options{RuleDirs: []string{"../../content/rules"}})
			if err != nil {
				b.Fatal(err)
			}
			d.st.noIndex = !index
			events := 0
			c0 := processCPU()
			for b.Loop() {
				for _, evs := range batches {
					d.Detect(evs)
					events += len(evs)
				}
			}
			perEvent := float64((processCPU() - c0).Nanoseconds()) / float64(events)
			b.ReportMetric(perEvent, "detect-cpu-ns/event")
			b.ReportMetric(float64(ingestCPU.Nanoseconds())/float64(total), "ingest-cpu-ns/event")
			b.ReportMetric(100*perEvent*float64(total)/float64(ingestCPU.Nanoseconds()), "detect/ingest-%")
		})
	}
}

// TestDiagLiveOnce is for instruction counts of live detection: with
// LIVE_DIAG_ONCE=1 it decodes lines 1-2,000 of every scenario file
// (SIGMA_SCENARIO), detects lines 1-1,000 of each (warming the engine's
// caches) and then lines 1,001-2,000 of each, interleaved by file in
// batches of 100; with LIVE_DIAG_ONCE=0 it stops after the warm-up. Run
// both under valgrind (cachegrind, GOGC=off, GOMAXPROCS=1): the difference
// over the measured events is the detection cost per event (every SigmaHQ
// rule and the content pack, signals and stateful rules included).
// LIVE_ONLY=name-prefix keeps only the files named so.
func TestDiagLiveOnce(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("LIVE_DIAG_ONCE"))
	dir := os.Getenv("SIGMA_SCENARIO")
	if err != nil || dir == "" {
		t.Skip("set LIVE_DIAG_ONCE (0 or 1) and SIGMA_SCENARIO")
	}
	d := openSigmaHQDetector(t)
	now := func() int64 { return 1 }
	names := slices.Sorted(maps.Keys(liveFiles))
	if only := os.Getenv("LIVE_ONLY"); only != "" {
		names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, only) })
	}
	var warm, measured [][]event.Event
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.SplitAfterN(data, []byte("\n"), 2001)
		var p parse.Parser
		if liveFiles[name] != "" {
			p, _ = parse.New(liveFiles[name], parse.Options{})
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
				t.Fatal(err)
			}
			if part == 0 {
				warm = append(warm, es)
			} else {
				measured = append(measured, es)
			}
		}
	}
	run := func(sets [][]event.Event) (events, signals int) {
		for off := 0; ; off += 100 {
			more := false
			for _, es := range sets {
				if off < len(es) {
					more = true
					batch := es[off:min(off+100, len(es))]
					signals += len(d.Detect(batch))
					events += len(batch)
				}
			}
			if !more {
				return events, signals
			}
		}
	}
	we, ws := run(warm)
	t.Logf("warm-up: %d events, %d signals", we, ws)
	if n > 0 {
		me, ms := run(measured)
		t.Logf("measured: %d events, %d signals", me, ms)
	}
}
