package sigma

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/parse"
)

// scenarioParsers maps each file the scenario generator writes to its
// parser (as the server ingests it).
var scenarioParsers = map[string]string{
	"winlogbeat_sysmon.ndjson": "json", "winlogbeat_security.ndjson": "json",
	"syslog_rfc3164.log": "syslog", "syslog_rfc5424.log": "syslog", "firewall_cef.log": "cef",
	"proxy_squid_access.log": "squid", "dns_bind_query.log": "bind", "cloudtrail.ndjson": "cloudtrail",
	"exchange_app.ndjson": "json",
}

// loadScenario parses the files of a generated scenario (SIGMA_SCENARIO:
// the scenariogen -out directory), by file name.
func loadScenario(tb testing.TB) map[string][]event.Event {
	tb.Helper()
	dir := os.Getenv("SIGMA_SCENARIO")
	if dir == "" {
		tb.Skip("set SIGMA_SCENARIO to a scenariogen -out directory (see ../shared/testdata/scenario/README.md)")
	}
	out := map[string][]event.Event{}
	for name, format := range scenarioParsers {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		p, _ := parse.New(format, parse.Options{})
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			ev := event.Event{Source: name}
			_ = parse.ParseLine(p, append([]byte(nil), sc.Bytes()...), &ev) // a bad line stays raw
			out[name] = append(out[name], ev)
		}
		f.Close()
	}
	return out
}

// TestScenarioRouting runs every SigmaHQ rule over a generated scenario
// and lists which rules fire on which file: rules of a product or service
// the scenario does not have must not fire at all.
func TestScenarioRouting(t *testing.T) {
	files := loadScenario(t)
	root := filepath.Join(sharedSigma, "sigmahq")
	rs, _, err := LoadDir(filepath.Join(root, "rules"), filepath.Join(root, "rules-emerging-threats"),
		filepath.Join(root, "rules-threat-hunting"))
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := Compile(rs.Rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		file string
		rule *Rule
	}
	hits := map[key]int{}
	for name, evs := range files {
		for i := range evs {
			e.Match(&evs[i], func(m Match) { hits[key{name, m.Rule}]++ })
		}
	}
	var keys []key
	for k := range hits {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return hits[keys[i]] > hits[keys[j]] })
	// The scenario has Windows, Linux, proxy, DNS, firewall and AWS
	// sources: a rule of any other product must not fire, nor a Windows
	// rule on a non-Windows file (and the reverse).
	allowed := map[string]bool{"windows": true, "linux": true, "aws": true, "": true}
	for _, k := range keys {
		r := k.rule
		t.Logf("%6d %-28s %s %s", hits[k], k.file, r.LogSource, r.Title)
		win := filepath.Ext(k.file) == ".ndjson" && len(k.file) > 10 && k.file[:10] == "winlogbeat"
		if !allowed[r.LogSource.Product] || (r.LogSource.Product == "windows") != win {
			t.Errorf("%s %s fired %d times on %s", r.LogSource, r.Title, hits[k], k.file)
		}
	}
}
