package sigma

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// fullSetGolden holds the matches of every SigmaHQ rule over the dev
// (attack) events as `mamori hunt` reports them: "file position rule_id",
// sorted. Regenerate with SIGMA_UPDATE_GOLDEN=1, only after checking a
// change of matches is intended.
const fullSetGolden = "testdata/sigmahq_dev_matches.golden"

// TestFullSetMatches hunts the dev events (JSON lines and EVTX) with every
// SigmaHQ rule (all products, ~3,750 rules) and checks the matches against
// the stored expectation and against the engine without any prefilter,
// value cache or keyword matcher (the slow reference path); with
// SIGMA_SCENARIO also the scenario's Winlogbeat events against the
// reference. Speed work on the engine must leave all three unchanged.
func TestFullSetMatches(t *testing.T) {
	dirs := sigmaHQDirs(t)
	rs, _, err := LoadDir(dirs...)
	if err != nil {
		t.Fatal(err)
	}
	fast, _, err := Compile(rs.Rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	slow, _, err := Compile(rs.Rules, Options{NoPrefilter: true})
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{filepath.Join(sharedSigma, "dev/logs.jsonl"), filepath.Join(sharedSigma, "dev/evtx")}
	got, want := huntMatches(t, fast, inputs), huntMatches(t, slow, inputs)
	if len(want) == 0 {
		t.Fatal("no rule matched any dev event: the comparison proves nothing")
	}
	diffLines(t, "prefiltered vs reference", got, want)
	if os.Getenv("SIGMA_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(fullSetGolden, []byte(strings.Join(got, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gold, err := os.ReadFile(fullSetGolden)
	if err != nil {
		t.Fatal(err)
	}
	diffLines(t, "matches vs "+fullSetGolden, got, strings.Split(strings.TrimSuffix(string(gold), "\n"), "\n"))
	t.Logf("%d matches over the dev events", len(got))

	dir := os.Getenv("SIGMA_SCENARIO")
	if dir == "" {
		return
	}
	var fl jsonFlattener
	fl.bind(fast)
	n := 0
	for i, l := range scenarioWinlogbeat(t, dir) {
		fs, err := fl.flatten(l, nil)
		if err != nil {
			t.Fatalf("scenario line %d: %v", i+1, err)
		}
		ev := event.Event{Fields: fs}
		a, b := matchIDs(fast, &ev), matchIDs(slow, &ev)
		if !slices.Equal(a, b) {
			t.Errorf("scenario line %d: matches %v, want %v", i+1, a, b)
		}
		// As the hunter matches: slots resolved by the flattener.
		var c []string
		fast.matchSlots(&ev, &fl.slots, func(m Match) { c = append(c, m.Rule.ID) })
		if slices.Sort(c); !slices.Equal(c, b) {
			t.Errorf("scenario line %d: matches with the flattener's slots %v, want %v", i+1, c, b)
		}
		n += len(b)
	}
	t.Logf("%d matches over the scenario's Winlogbeat events", n)
}

// huntMatches runs Hunt with one worker and returns its matches as sorted
// "file position rule_id" lines.
func huntMatches(t *testing.T, e *Engine, inputs []string) []string {
	t.Helper()
	var out bytes.Buffer
	if _, err := Hunt(context.Background(), e, inputs, HuntOptions{Workers: 1}, &out); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m struct {
			RuleID   string `json:"rule_id"`
			File     string `json:"file"`
			Line     int64  `json:"line"`
			RecordID int64  `json:"record_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("hunt output: %v", err)
		}
		lines = append(lines, fmt.Sprintf("%s %d %s", filepath.Base(m.File), m.Line+m.RecordID, m.RuleID))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	return lines
}

// diffLines reports the lines only one of two sorted lists has.
func diffLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	var only []string
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want) || i < len(got) && got[i] < want[j]:
			only = append(only, "+ "+got[i])
			i++
		case i == len(got) || want[j] < got[i]:
			only = append(only, "- "+want[j])
			j++
		default:
			i++
			j++
		}
	}
	if len(only) > 20 {
		only = append(only[:20], "...")
	}
	t.Errorf("%s: %d vs %d matches, differing:\n%s", what, len(got), len(want), strings.Join(only, "\n"))
}
