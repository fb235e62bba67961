package parse

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

// The scenario generator (../shared/testdata/scenario) writes a whole
// exchange's logs in native wire formats with ground truth. Every line of
// every file must parse with its parser and with Auto, to the same fields,
// at a time inside the scenario, and the lines of every attack stage and
// lookalike must carry one of the stage's entities in an ECS field.

const scenarioSrc = "../../../shared/testdata/scenario"

type groundTruth struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Timezone string    `json:"timezone"`
	Files    []struct {
		Name  string `json:"name"`
		Lines int    `json:"lines"`
	} `json:"files"`
	Stages     []gtStage `json:"stages"`
	Lookalikes []gtStage `json:"lookalikes"`
}

type gtStage struct {
	ID       string              `json:"id"`
	Entities map[string][]string `json:"entities"`
	Lines    map[string][]int    `json:"lines"`
}

var scenarioParsers = map[string]string{
	"winlogbeat_sysmon.ndjson":   "windows",
	"winlogbeat_security.ndjson": "windows",
	"syslog_rfc3164.log":         "syslog",
	"syslog_rfc5424.log":         "syslog",
	"firewall_cef.log":           "cef",
	"proxy_squid_access.log":     "squid",
	"dns_bind_query.log":         "bind",
	"cloudtrail.ndjson":          "cloudtrail",
	"exchange_app.ndjson":        "json",
}

// scenarioRequired lists the fields every line of a file must have.
var scenarioRequired = map[string][]string{
	"winlogbeat_sysmon.ndjson":   {"event.code", "host.name", "winlog.channel", "user.name", "process.executable", "process.pid"},
	"winlogbeat_security.ndjson": {"event.code", "host.name", "winlog.channel", "user.name", "event.outcome"},
	"syslog_rfc3164.log":         {"host.name", "process.name", "message", "syslog.severity"},
	"syslog_rfc5424.log":         {"host.name", "process.name", "message", "syslog.version"},
	"firewall_cef.log":           {"host.name", "source.ip", "destination.ip", "destination.port", "event.action", "network.transport"},
	"proxy_squid_access.log":     {"source.ip", "http.response.status_code", "http.request.method", "url.domain", "event.outcome"},
	"dns_bind_query.log":         {"source.ip", "dns.question.name", "dns.question.type"},
	"cloudtrail.ndjson":          {"event.action", "event.provider", "cloud.account.id", "event.outcome", "user.name"},
	"exchange_app.ndjson":        {"event.action", "service.name", "host.name"},
}

// scenarioDir returns a directory with generated scenario files: the one
// named by MAMORI_SCENARIO_DIR, or a small one generated into a temp dir.
func scenarioDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("MAMORI_SCENARIO_DIR"); d != "" {
		return d
	}
	if testing.Short() {
		t.Skip("scenario generation skipped in -short mode")
	}
	if _, err := os.Stat(filepath.Join(scenarioSrc, "dev.json")); err != nil {
		t.Skipf("scenario generator not found at %s (shared test data absent): %v", scenarioSrc, err)
	}
	src, err := filepath.Abs(scenarioSrc)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "scenariogen")
	if out, err := exec.Command("go", "-C", src, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build scenariogen: %v\n%s", err, out)
	}
	out := filepath.Join(tmp, "dev")
	cmd := exec.Command(bin, "-spec", filepath.Join(src, "dev.json"), "-out", out, "-scale", "0.01", "-q")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run scenariogen: %v\n%s", err, b)
	}
	return out
}

func TestScenario(t *testing.T) {
	dir := scenarioDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "ground_truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gt groundTruth
	if err := json.Unmarshal(b, &gt); err != nil {
		t.Fatal(err)
	}
	zone, err := time.Parse("-07:00", gt.Timezone)
	if err != nil {
		t.Fatalf("timezone %q: %v", gt.Timezone, err)
	}
	_, off := zone.Zone()
	opts := Options{Location: time.FixedZone("", off), Now: func() time.Time { return gt.End }}
	auto := NewAuto(opts)
	// lines of interest: file -> line number -> entity values
	interest := map[string]map[int][]string{}
	for _, st := range append(gt.Stages, gt.Lookalikes...) {
		var ents []string
		for _, k := range []string{"hosts", "users", "ips", "domains", "hashes", "aws_principals"} {
			ents = append(ents, st.Entities[k]...)
		}
		for file, lines := range st.Lines {
			if interest[file] == nil {
				interest[file] = map[int][]string{}
			}
			for _, n := range lines {
				interest[file][n] = append(interest[file][n], ents...)
			}
		}
	}
	for _, f := range gt.Files {
		name := scenarioParsers[f.Name]
		if name == "" {
			t.Errorf("no parser for scenario file %s", f.Name)
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			p, _ := New(name, opts)
			checkScenarioFile(t, filepath.Join(dir, f.Name), p, auto, gt, interest[f.Name])
		})
	}
}

func checkScenarioFile(t *testing.T, path string, p, auto Parser, gt groundTruth, interest map[int][]string) {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	lo, hi := gt.Start.Add(-26*time.Hour).UnixNano(), gt.End.Add(26*time.Hour).UnixNano()
	n, bad, missed := 0, 0, 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		var ev, ea event.Event
		if err := p.Parse(line, &ev); err != nil {
			bad++
			if bad <= 5 {
				t.Errorf("line %d: %s.Parse: %v\n%s", n, p.Name(), err, line)
			}
			continue
		}
		if err := auto.Parse(line, &ea); err != nil {
			t.Errorf("line %d: Auto.Parse: %v", n, err)
		} else if !sameEvent(&ev, &ea) {
			bad++
			if bad <= 5 {
				t.Errorf("line %d: Auto differs from %s (-want +got):\n%s", n, p.Name(), cmp.Diff(ev, ea))
			}
		}
		if ev.Time < lo || ev.Time > hi {
			bad++
			if bad <= 5 {
				t.Errorf("line %d: time %s outside the scenario\n%s", n, event.FormatTime(ev.Time), line)
			}
		}
		if d := duplicateECS(&ev); d != "" {
			missed++
			if missed <= 5 {
				t.Errorf("line %d: ECS field %s twice\n%s\nfields:\n%s", n, d, line, fieldsString(ev.Fields))
			}
		}
		for _, name := range scenarioRequired[filepath.Base(path)] {
			if _, ok := ev.Get(name); !ok {
				missed++
				if missed <= 5 {
					t.Errorf("line %d: no %s\n%s\nfields:\n%s", n, name, line, fieldsString(ev.Fields))
				}
			}
		}
		if ents, ok := interest[n]; ok && !hasEntity(&ev, ents) {
			missed++
			if missed <= 5 {
				t.Errorf("line %d: no ECS field holds any of %v\n%s\nfields:\n%s", n, ents, line, fieldsString(ev.Fields))
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if bad > 0 || missed > 0 {
		t.Errorf("%s: %d lines, %d bad, %d missing fields or ground-truth entities", filepath.Base(path), n, bad, missed)
	}
	t.Logf("%s: %d lines parsed, %d ground-truth lines checked", filepath.Base(path), n, len(interest))
}

// entityFields are the ECS fields where ground-truth entities must appear.
var entityFields = map[string]bool{
	"host.name": true, "user.name": true, "source.ip": true, "destination.ip": true,
	"source.nat.ip": true, "dns.question.name": true, "url.domain": true, "destination.domain": true,
	"file.hash.sha256": true, "process.hash.sha256": true, "source.domain": true, "user.id": true,
}

func hasEntity(ev *event.Event, ents []string) bool {
	for _, f := range ev.Fields {
		if !entityFields[f.Name] {
			continue
		}
		v := strings.ToLower(f.Value)
		for _, e := range ents {
			e = strings.ToLower(e)
			if v == e || strings.HasPrefix(v, e+".") {
				return true
			}
		}
	}
	return false
}

func sameEvent(a, b *event.Event) bool {
	if a.Time != b.Time || a.Raw != b.Raw || a.Host != b.Host || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i] != b.Fields[i] {
			return false
		}
	}
	return true
}

// duplicateECS returns an ECS name (a target of any mapping table) that ev
// has more than once.
func duplicateECS(ev *event.Event) string {
	targets := map[string]bool{}
	for _, t := range ecsTables {
		for _, m := range t.fm.table {
			targets[m.to] = true
		}
	}
	seen := map[string]bool{}
	for _, f := range ev.Fields {
		if !targets[f.Name] {
			continue
		}
		if seen[f.Name] {
			return f.Name
		}
		seen[f.Name] = true
	}
	return ""
}
