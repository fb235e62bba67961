package server_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/scenario"
)

// The scenario end-to-end test (#6): generate the dev scenario of
// ../shared/testdata/scenario at -scale 0.1, shifted to the last 7 days,
// ingest every file over HTTP into a running server with SigmaHQ rules
// and the content pack, then check the README's pass criteria against
// ground_truth.json and print a per-stage table.

const scenarioSrcDir = "../../../shared/testdata/scenario"

// sigmaHQDirs are the SigmaHQ folders loaded: the Windows and Linux ones
// for the scenario's sources. The whole tree also passes the stage checks
// now that rules run only on events of their log source (2026-11-26), but
// its generic cloud and Windows rules add medium signals on lookalikes (5
// against a budget of 4) and a second, high incident; tuning those is open.
var sigmaHQDirs = []string{
	"../../../shared/testdata/sigma/sigmahq/rules/windows/process_creation",
	"../../../shared/testdata/sigma/sigmahq/rules/windows/registry",
	"../../../shared/testdata/sigma/sigmahq/rules/windows/file",
	"../../../shared/testdata/sigma/sigmahq/rules/windows/network_connection",
	"../../../shared/testdata/sigma/sigmahq/rules/windows/dns_query",
	"../../../shared/testdata/sigma/sigmahq/rules/windows/builtin/security",
	"../../../shared/testdata/sigma/sigmahq/rules/linux",
}

type scenGT struct {
	Start    time.Time   `json:"start"`
	End      time.Time   `json:"end"`
	Baseline time.Time   `json:"baseline_end"`
	Stages   []scenStage `json:"stages"`
	Looks    []scenStage `json:"lookalikes"`
	Expect   struct {
		MinSeverity  string `json:"min_severity"`
		MaxIncidents int    `json:"max_incidents"`
		EntityChain  []struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"entity_chain"`
		StageOrder       []string `json:"stage_order"`
		RequiredStages   []string `json:"required_stages"`
		MinStageCoverage float64  `json:"min_stage_coverage"`
		MustSpanSources  []string `json:"must_span_sources"`
		DetectBy         string   `json:"detect_by"`
	} `json:"expected_incident"`
	FPBudget struct {
		LookHigh   int `json:"lookalike_high_or_critical_alerts"`
		LookMedium int `json:"lookalike_medium_alerts_max"`
		BgHigh     int `json:"background_high_or_critical_alerts_max"`
		Extra      int `json:"extra_incidents_max"`
	} `json:"false_positive_budget"`
}

type scenStage struct {
	ID       string                         `json:"id"`
	Name     string                         `json:"name"`
	MaxSev   string                         `json:"max_allowed_severity"`
	Window   struct{ Start, End time.Time } `json:"window"`
	Entities map[string][]string            `json:"entities"`
	Lines    map[string][]int               `json:"lines"`
	Detect   []struct {
		RuleType    string `json:"rule_type"`
		MinSeverity string `json:"min_severity"`
		Required    bool   `json:"required"`
	} `json:"detection"`
}

type scenSignal struct {
	ID       string `json:"id"`
	RuleID   string `json:"rule_id"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Kind     string `json:"kind"`
	Time     string `json:"time"`
	Source   string `json:"event_source"`
	Entities []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"entities"`
}

type scenIncident struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Entities []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"entities"`
	Tactics []string `json:"tactics"`
	Sources []string `json:"sources"`
	Signals []struct {
		ID          string    `json:"id"`
		RuleID      string    `json:"rule_id"`
		Severity    string    `json:"severity"`
		Time        time.Time `json:"time"`
		EventSource string    `json:"event_source"`
		Entities    []struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"entities"`
	} `json:"signals"`
}

var sevRank = map[string]int{"low": 0, "medium": 1, "high": 2, "critical": 3}

func TestScenarioEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("scenario end-to-end test skipped in -short mode")
	}
	src, err := filepath.Abs(scenarioSrcDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "dev.json")); err != nil {
		t.Skipf("scenario generator not found at %s (shared test data absent): %v", scenarioSrcDir, err)
	}
	began := time.Now()
	tmp := t.TempDir()
	out := filepath.Join(tmp, "dev")
	// The scenario happens in the last weeks, shifted from its spec by
	// whole weeks so each event keeps its weekday and hour of the day in
	// the organisation's time zone. MAMORI_SCENARIO_SHIFT (a Go duration)
	// moves it further, to probe how detection depends on the clock.
	start, err := scenario.RecentStart(src, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if v := os.Getenv("MAMORI_SCENARIO_SHIFT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("MAMORI_SCENARIO_SHIFT=%q: %v", v, err)
		}
		start = start.Add(d)
	}
	t.Logf("scenario starts at %s", start.Format(time.RFC3339))
	if err := scenario.Generate(src, out, "0.1", start); err != nil {
		t.Fatal(err)
	}
	var gt scenGT
	b, err := os.ReadFile(filepath.Join(out, "ground_truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &gt); err != nil {
		t.Fatal(err)
	}

	args := []string{}
	for _, d := range sigmaHQDirs {
		if _, err := os.Stat(d); err == nil {
			abs, _ := filepath.Abs(d)
			args = append(args, "--rules", abs)
		}
	}
	if len(args) == 0 {
		t.Log("SigmaHQ rules absent: running with the content pack only")
	}
	t0 := time.Now()
	n := startNode(t, filepath.Join(tmp, "data"), args...)
	defer n.stop()
	t.Logf("server started with %d SigmaHQ folders + content pack in %v", len(args)/2, time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	lines := ingestScenario(t, n, out)
	t.Logf("ingested %d lines in %v", lines, time.Since(t0).Round(time.Millisecond))
	waitDetection(t, n)

	sigs := fetchSignals(t, n)
	incs := fetchIncidents(t, n)
	t.Logf("%d signals, %d incidents; total %v", len(sigs), len(incs), time.Since(began).Round(time.Second))
	if d := os.Getenv("MAMORI_SCENARIO_DUMP"); d != "" {
		// For rule tuning: keep what the server raised and the truth.
		_, sb, _ := n.do("GET", "/api/v1/signals?limit=1000000&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", "", nil)
		_, ib, _ := n.do("GET", "/api/v1/incidents", "", nil)
		_ = os.WriteFile(filepath.Join(d, "signals.json"), sb, 0o600)     // best effort: debugging aid
		_ = os.WriteFile(filepath.Join(d, "incidents.json"), ib, 0o600)   // best effort
		_ = os.WriteFile(filepath.Join(d, "ground_truth.json"), b, 0o600) // best effort
	}
	checkScenario(t, &gt, sigs, incs)
}

// ingestScenario posts every file's lines through /api/v1/ingest,
// interleaved in 20-minute slices of event time, as live shippers would.
func ingestScenario(t *testing.T, n *node, dir string) int {
	t.Helper()
	bodies, total, err := scenario.Slices(dir, 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	err = scenario.Post(bodies, func(path string, body []byte) (int, []byte) {
		st, ans, _ := n.do("POST", path, "", body)
		return st, ans
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

var metricLine = regexp.MustCompile(`(?m)^(mamori_detect_events_total|mamori_detect_queue_batches|mamori_detect_dropped_events_total|mamori_stateful_evicted_total|mamori_stateful_keys) ([0-9.e+]+)$`)

func detectMetrics(t *testing.T, n *node) map[string]float64 {
	_, b, _ := n.do("GET", "/metrics", "", nil)
	out := map[string]float64{}
	for _, m := range metricLine.FindAllStringSubmatch(string(b), -1) {
		out[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	return out
}

// waitDetection waits until live detection drained its queue and stayed
// idle for two seconds (absence rules resolve on a 1 s timer).
func waitDetection(t *testing.T, n *node) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	last, stable := -1.0, 0
	for time.Now().Before(deadline) {
		m := detectMetrics(t, n)
		if m["mamori_detect_queue_batches"] == 0 && m["mamori_detect_events_total"] == last {
			stable++
			if stable >= 8 {
				t.Logf("detection idle: %v", m)
				return
			}
		} else {
			stable = 0
		}
		last = m["mamori_detect_events_total"]
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("detection did not go idle within 2m")
}

func fetchSignals(t *testing.T, n *node) []scenSignal {
	t.Helper()
	st, b, _ := n.do("GET", "/api/v1/signals?limit=1000000&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", "", nil)
	if st != 200 {
		t.Fatalf("signals: HTTP %d: %s", st, b)
	}
	var r struct {
		Signals []scenSignal `json:"signals"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r.Signals
}

func fetchIncidents(t *testing.T, n *node) []scenIncident {
	t.Helper()
	st, b, _ := n.do("GET", "/api/v1/incidents", "", nil)
	if st != 200 {
		t.Fatalf("incidents: HTTP %d: %s", st, b)
	}
	var r struct {
		Incidents []scenIncident `json:"incidents"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r.Incidents
}

// stageValues are the entity values of a stage used to match alerts.
func stageValues(s *scenStage) map[string]bool {
	out := map[string]bool{}
	for _, k := range []string{"hosts", "users", "ips", "domains", "hashes", "addresses"} {
		for _, v := range s.Entities[k] {
			out[strings.ToLower(v)] = true
		}
	}
	return out
}

type entList = []struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

func matchesStage(s *scenStage, vals map[string]bool, tm time.Time, ents entList) bool {
	if tm.Before(s.Window.Start.Add(-time.Second)) || tm.After(s.Window.End.Add(15*time.Minute)) {
		return false
	}
	for _, e := range ents {
		if vals[strings.ToLower(e.Value)] {
			return true
		}
	}
	return false
}

func checkScenario(t *testing.T, gt *scenGT, sigs []scenSignal, incs []scenIncident) {
	t.Helper()
	var tb strings.Builder
	fmt.Fprintf(&tb, "\n%-4s %-4s %-8s %-8s %5s  %s\n", "stg", "req", "want", "got", "n", "rules (first 4)")
	required := map[string]bool{}
	for _, id := range gt.Expect.RequiredStages {
		required[id] = true
	}
	sigTime := func(s scenSignal) time.Time { tm, _ := time.Parse(time.RFC3339Nano, s.Time); return tm }
	stageHit := map[string]bool{}
	onStage := map[string]bool{}
	for i := range gt.Stages {
		st := &gt.Stages[i]
		vals := stageValues(st)
		want := "low"
		for _, d := range st.Detect {
			if sevRank[d.MinSeverity] > sevRank[want] {
				want = d.MinSeverity
			}
		}
		best, cnt := "", 0
		rules := map[string]bool{}
		for _, s := range sigs {
			if matchesStage(st, vals, sigTime(s), s.Entities) {
				cnt++
				onStage[s.ID] = true
				rules[s.RuleID] = true
				if best == "" || sevRank[s.Severity] > sevRank[best] {
					best = s.Severity
				}
			}
		}
		if cnt > 0 {
			stageHit[st.ID] = true
		}
		var rl []string
		for r := range rules {
			rl = append(rl, r)
		}
		sort.Strings(rl)
		if len(rl) > 4 {
			rl = append(rl[:4], "...")
		}
		fmt.Fprintf(&tb, "%-4s %-4v %-8s %-8s %5d  %s\n", st.ID, required[st.ID], want, best, cnt, strings.Join(rl, " "))
	}
	// Lookalikes.
	lookHigh, lookMed := 0, 0
	onLook := map[string]bool{}
	for i := range gt.Looks {
		lk := &gt.Looks[i]
		vals := stageValues(lk)
		worst, cnt := "", 0
		lrules := map[string]int{}
		for _, s := range sigs {
			if !onStage[s.ID] && matchesStage(lk, vals, sigTime(s), s.Entities) {
				onLook[s.ID] = true
				cnt++
				lrules[s.RuleID+"/"+s.Severity]++
				if sevRank[s.Severity] >= 2 {
					lookHigh++
				} else if s.Severity == "medium" {
					lookMed++
				}
				if worst == "" || sevRank[s.Severity] > sevRank[worst] {
					worst = s.Severity
				}
			}
		}
		fmt.Fprintf(&tb, "%-4s look max=%-8s got=%-8s %5d %v\n", lk.ID, lk.MaxSev, worst, cnt, lrules)
	}
	bgHigh := 0
	bgRules := map[string]int{}
	for _, s := range sigs {
		if !onStage[s.ID] && !onLook[s.ID] && sevRank[s.Severity] >= 2 {
			bgHigh++
			bgRules[s.RuleID]++
		}
	}
	// Signals by rule, for tuning.
	type rc struct {
		rule, title, sev string
		n, bg, look      int
	}
	byRule := map[string]*rc{}
	for _, s := range sigs {
		r := byRule[s.RuleID]
		if r == nil {
			title := s.Title
			if len(title) > 60 {
				title = title[:60]
			}
			r = &rc{rule: s.RuleID, title: title, sev: s.Severity}
			byRule[s.RuleID] = r
		}
		r.n++
		if onLook[s.ID] {
			r.look++
		} else if !onStage[s.ID] {
			r.bg++
		}
	}
	var rcs []*rc
	for _, r := range byRule {
		rcs = append(rcs, r)
	}
	sort.Slice(rcs, func(i, j int) bool { return rcs[i].n > rcs[j].n })
	for _, r := range rcs {
		fmt.Fprintf(&tb, "rule %-40s %-8s n=%-5d bg=%-5d look=%-5d %s\n", r.rule, r.sev, r.n, r.bg, r.look, r.title)
	}
	t.Log(tb.String())
	t.Logf("false positives: lookalike high/critical %d (budget %d), lookalike medium %d (budget %d), background high/critical %d (budget %d) by rule %v",
		lookHigh, gt.FPBudget.LookHigh, lookMed, gt.FPBudget.LookMedium, bgHigh, gt.FPBudget.BgHigh, bgRules)

	// The incident.
	var crit []scenIncident
	for _, inc := range incs {
		t.Logf("incident %s %-8s signals=%-4d entities=%-4d tactics=%v sources=%v %q", inc.ID, inc.Severity, len(inc.Signals), len(inc.Entities), inc.Tactics, inc.Sources, inc.Title)
		if sevRank[inc.Severity] >= sevRank[gt.Expect.MinSeverity] {
			crit = append(crit, inc)
		}
	}
	var best *scenIncident
	for i := range crit {
		if best == nil || len(crit[i].Signals) > len(best.Signals) {
			best = &crit[i]
		}
	}
	if best == nil {
		t.Errorf("no incident at %s", gt.Expect.MinSeverity)
		return
	}
	if len(crit) > gt.Expect.MaxIncidents {
		t.Errorf("%d incidents at %s or above, want at most %d", len(crit), gt.Expect.MinSeverity, gt.Expect.MaxIncidents)
	}
	has := map[string]bool{}
	for _, e := range best.Entities {
		has[e.Type+"="+strings.ToLower(e.Value)] = true
	}
	for _, s := range best.Signals {
		for _, e := range s.Entities {
			has[e.Type+"="+strings.ToLower(e.Value)] = true
		}
	}
	for _, c := range gt.Expect.EntityChain {
		if !has[c.Type+"="+strings.ToLower(c.Value)] {
			t.Errorf("incident %s lacks entity %s=%s", best.ID, c.Type, c.Value)
		}
	}
	// Stages covered by the incident's signals, in order.
	incSig := map[string]bool{}
	for _, s := range best.Signals {
		incSig[s.ID] = true
	}
	covered := map[string]time.Time{}
	for i := range gt.Stages {
		st := &gt.Stages[i]
		vals := stageValues(st)
		for _, s := range best.Signals {
			if matchesStage(st, vals, s.Time, s.Entities) {
				if c, ok := covered[st.ID]; !ok || s.Time.Before(c) {
					covered[st.ID] = s.Time
				}
			}
		}
	}
	var missing []string
	for _, id := range gt.Expect.RequiredStages {
		if _, ok := covered[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("incident misses required stages %v", missing)
	}
	cov := float64(len(covered)) / float64(len(gt.Stages))
	if cov < gt.Expect.MinStageCoverage {
		t.Errorf("incident covers %d/%d stages (%.2f), want at least %.2f", len(covered), len(gt.Stages), cov, gt.Expect.MinStageCoverage)
	}
	var prev time.Time
	for _, id := range gt.Expect.StageOrder {
		c, ok := covered[id]
		if !ok {
			continue
		}
		if c.Before(prev.Add(-15 * time.Minute)) {
			t.Errorf("stage %s first alerted at %v, before an earlier stage (%v)", id, c, prev)
		}
		if c.After(prev) {
			prev = c
		}
	}
	srcs := map[string]bool{}
	for _, s := range best.Signals {
		srcs[s.EventSource] = true
	}
	for _, f := range gt.Expect.MustSpanSources {
		name := strings.TrimSuffix(strings.TrimSuffix(f, ".ndjson"), ".log")
		if !srcs[name] {
			t.Errorf("incident has no signal from %s", f)
		}
	}
	// Raised in time: a critical signal before the first theft + 15m.
	var theft time.Time
	for _, st := range gt.Stages {
		if st.ID == gt.Expect.StageOrder[len(gt.Expect.StageOrder)-1] {
			theft = st.Window.Start
		}
	}
	var firstCrit time.Time
	for _, s := range best.Signals {
		if s.Severity == "critical" && (firstCrit.IsZero() || s.Time.Before(firstCrit)) {
			firstCrit = s.Time
		}
	}
	t.Logf("incident %s: %d signals, stages covered %d/%d, first critical signal %v, detect_by %v", best.ID, len(best.Signals), len(covered), len(gt.Stages), firstCrit, theft.Add(15*time.Minute))
	if !theft.IsZero() && (firstCrit.IsZero() || firstCrit.After(theft.Add(15*time.Minute))) {
		t.Errorf("no critical signal in the incident by %v", theft.Add(15*time.Minute))
	}
	if lookHigh > gt.FPBudget.LookHigh || lookMed > gt.FPBudget.LookMedium || bgHigh > gt.FPBudget.BgHigh {
		t.Errorf("false-positive budget exceeded (see above)")
	}
	if extra := len(incs) - 1; extra > gt.FPBudget.Extra {
		t.Errorf("%d extra incidents, budget %d", extra, gt.FPBudget.Extra)
	}
}
