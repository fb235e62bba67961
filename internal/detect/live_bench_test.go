//go:build unix

package detect

import (
	"bytes"
	"os"
	"path/filepath"
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

// liveBodies cuts the scenario files (or, without SIGMA_SCENARIO, the Sigma
// dev events) into request bodies of up to 1,000 lines.
func liveBodies(b *testing.B) []liveBody {
	b.Helper()
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
	for path, pname := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Skipf("test data absent (%v); set SIGMA_SCENARIO for the mixed corpus", err)
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

// BenchmarkLiveDetectionCost measures, on the same events, the CPU time
// per event of the ingest path (ingest.DecodeLines with the source's
// parser) and the added CPU time of live detection (Detector.Detect with
// every SigmaHQ rule and the content pack), and reports their ratio (the
// issue's target: detection adds at most 20%). The two phases alternate
// per body so load on the machine affects both alike. One op is one body.
func BenchmarkLiveDetectionCost(b *testing.B) {
	sigmahq := filepath.Join(sharedTestdata, "sigma/sigmahq")
	if _, err := os.Stat(sigmahq); err != nil {
		b.Skipf("SigmaHQ rules absent (%v)", err)
	}
	bodies := liveBodies(b)
	d, err := Open(Options{RuleDirs: []string{
		filepath.Join(sigmahq, "rules"), filepath.Join(sigmahq, "rules-emerging-threats"),
		filepath.Join(sigmahq, "rules-threat-hunting"), "../../content/rules",
	}, SuppressFor: -1})
	if err != nil {
		b.Fatal(err)
	}
	now := func() int64 { return time.Now().UnixNano() }
	b.ResetTimer()
	var ingestCPU, detectCPU time.Duration
	var events, signals int
	for i := 0; i < b.N; i++ {
		body := &bodies[i%len(bodies)]
		c0 := processCPU()
		evs, _, err := ingest.DecodeLines(bytes.NewReader(body.data), ingest.LineOptions{
			Parser: body.parser, Meta: event.Event{Source: "bench"}, Now: now})
		c1 := processCPU()
		if err != nil {
			b.Fatal(err)
		}
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
