package sigma

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// documentedReasons are the only reasons a SigmaHQ rule may be skipped
// (docs/sigma.md explains each).
var documentedReasons = map[string]bool{
	ReasonPlaceholder: true, ReasonRegex: true, ReasonCorrelation: true, ReasonAggregation: true,
}

// sigmaHQDirs returns every SigmaHQ rule folder (all products), or skips
// the test when the corpus is absent.
func sigmaHQDirs(tb testing.TB) []string {
	tb.Helper()
	root := filepath.Join(sharedSigma, "sigmahq")
	if _, err := os.Stat(root); err != nil {
		tb.Skipf("SigmaHQ rules absent (%v)", err)
	}
	var dirs []string
	for _, d := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder"} {
		dirs = append(dirs, filepath.Join(root, d))
	}
	return dirs
}

// TestSigmaHQLoads loads every SigmaHQ rule folder: each rule is compiled,
// or skipped for a documented reason.
func TestSigmaHQLoads(t *testing.T) {
	dirs := sigmaHQDirs(t)
	rs, issues, err := LoadDir(dirs...)
	if err != nil {
		t.Fatal(err)
	}
	e, cissues, err := Compile(rs.Rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	issues = append(issues, cissues...)
	byReason := map[string]int{}
	for _, li := range issues {
		byReason[li.Reason]++
		if !documentedReasons[li.Reason] {
			t.Errorf("undocumented skip: %v", li)
		}
		if li.Line == 0 || li.Detail == "" {
			t.Errorf("skip without position or detail: %v", li)
		}
	}
	compiled := len(e.Rules())
	t.Logf("files %d, rules %d, compiled %d, skipped %v, stats %+v", rs.Files, len(rs.Rules), compiled, byReason, e.Stats())
	if compiled+len(cissues) != len(rs.Rules) {
		t.Errorf("compiled %d + skipped %d != parsed %d: a rule was dropped silently", compiled, len(cissues), len(rs.Rules))
	}
	// The published set as of this corpus: 3,777 files, one rule each; the
	// 25 skipped rules need site-specific placeholder lists.
	if rs.Files != 3777 || compiled != 3752 || byReason[ReasonPlaceholder] != 25 || len(issues) != 25 {
		t.Errorf("counts changed: files %d compiled %d skipped %v", rs.Files, compiled, byReason)
	}
}

type groundTruth struct {
	Rules []struct {
		RuleID       string   `json:"rule_id"`
		MinMatches   int      `json:"min_matches"`
		EventIDs     []string `json:"event_ids"`
		EvtxEventIDs []string `json:"evtx_event_ids"`
	} `json:"rules"`
	Background [][]string `json:"-"`
	BgIDs      []string   `json:"background_event_ids"`
	Allowed    [][]string `json:"allowed_crossfires"`
}

// TestDevScore hunts the dev set (JSON lines and EVTX) and scores it like
// score.py: recall 1.0, precision >= 0.99, no background event hit.
func TestDevScore(t *testing.T) {
	dev := filepath.Join(sharedSigma, "dev")
	data, err := os.ReadFile(filepath.Join(dev, "ground_truth.json"))
	if err != nil {
		t.Skipf("dev set absent (%v)", err)
	}
	var gt groundTruth
	if err := json.Unmarshal(data, &gt); err != nil {
		t.Fatal(err)
	}
	rs, issues, err := LoadDir(filepath.Join(dev, "rules"))
	if err != nil || len(issues) > 0 {
		t.Fatalf("LoadDir: %v %v", err, issues)
	}
	e, issues, err := Compile(rs.Rules, Options{})
	if err != nil || len(issues) > 0 {
		t.Fatalf("Compile: %v %v", err, issues)
	}
	for _, input := range []string{"logs.jsonl", "evtx"} {
		t.Run(input, func(t *testing.T) {
			var out bytes.Buffer
			stats, err := Hunt(context.Background(), e, []string{filepath.Join(dev, input)}, HuntOptions{}, &out)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Malformed != 0 {
				t.Errorf("%d malformed inputs", stats.Malformed)
			}
			scoreDev(t, &gt, out.Bytes())
		})
	}
}

func scoreDev(t *testing.T, gt *groundTruth, out []byte) {
	t.Helper()
	alias := map[string]string{}
	own := map[string]map[string]bool{}
	for _, r := range gt.Rules {
		own[r.RuleID] = map[string]bool{}
		for i, id := range r.EventIDs {
			own[r.RuleID][id] = true
			if i < len(r.EvtxEventIDs) {
				alias[r.EvtxEventIDs[i]] = id
			}
		}
	}
	bg := map[string]bool{}
	for _, id := range gt.BgIDs {
		bg[id] = true
	}
	allowed := map[[2]string]bool{}
	for _, p := range gt.Allowed {
		allowed[[2]string{p[0], p[1]}] = true
	}
	fired := map[string]map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var m struct {
			RuleID   string         `json:"rule_id"`
			File     string         `json:"file"`
			RecordID *uint64        `json:"record_id"`
			Event    map[string]any `json:"event"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("bad output line %q: %v", line, err)
		}
		var id string
		if v, ok := m.Event["_eval_id"].(string); ok {
			id = v
		} else if m.RecordID != nil {
			stem := strings.TrimSuffix(filepath.Base(m.File), ".evtx")
			id = alias[stem+"#"+jsonNum(*m.RecordID)]
		}
		if fired[m.RuleID] == nil {
			fired[m.RuleID] = map[string]bool{}
		}
		fired[m.RuleID][id] = true
	}
	tp, fp, satisfied := 0, 0, 0
	var misses, fps []string
	for _, r := range gt.Rules {
		n := 0
		for id := range fired[r.RuleID] {
			switch {
			case own[r.RuleID][id]:
				n++
			case allowed[[2]string{r.RuleID, id}]:
			default:
				fp++
				fps = append(fps, r.RuleID+" on "+id)
				if bg[id] {
					t.Errorf("rule %s hit background event %s", r.RuleID, id)
				}
			}
		}
		tp += n
		if n >= r.MinMatches {
			satisfied++
		} else {
			misses = append(misses, r.RuleID)
		}
	}
	sort.Strings(misses)
	recall := float64(satisfied) / float64(len(gt.Rules))
	precision := float64(tp) / float64(max(tp+fp, 1))
	t.Logf("recall %.4f precision %.4f tp %d fp %d", recall, precision, tp, fp)
	if recall < 1 {
		t.Errorf("recall %.4f < 1: missed %v", recall, misses)
	}
	if precision < 0.99 {
		t.Errorf("precision %.4f < 0.99: %v", precision, fps)
	}
}

func jsonNum(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
