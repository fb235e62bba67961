package sigma

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestRawCoverSameResults checks that leaving the keyword needles of values
// that lie in the raw text to the raw text's scan changes nothing: with Raw
// set to the JSON line the values were taken from (as a JSON document
// without a message member arrives live), every SigmaHQ Windows rule gives
// the same matches as without any prefilter, on the dev events and (with
// SIGMA_SCENARIO) the scenario's Winlogbeat events.
func TestRawCoverSameResults(t *testing.T) {
	fast := loadWindowsEngine(t)
	slow := loadWindowsEngineWith(t, Options{NoPrefilter: true})
	lines := loadDevLines(t)
	if dir := os.Getenv("SIGMA_SCENARIO"); dir != "" {
		lines = append(lines, scenarioWinlogbeat(t, dir)...)
	}
	var fl jsonFlattener
	hits := 0
	for n, l := range lines {
		fs, err := fl.flatten(l, nil)
		if err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		ev := event.Event{Raw: l, Fields: fs}
		got, want := matchIDs(fast, &ev), matchIDs(slow, &ev)
		if !slices.Equal(got, want) {
			t.Errorf("line %d: matches %v, want %v", n+1, got, want)
		}
		hits += len(want)
	}
	if hits == 0 {
		t.Error("no rule matched: the comparison proves nothing")
	}
}

// TestRawCoverKeywords checks keyword searches on events whose values are
// parts of Raw or not (escaped, non-ASCII, copies).
func TestRawCoverKeywords(t *testing.T) {
	e := compileOne(t, "  kw:\n    - 'mimikatz'\n    - 'ärger'\n  condition: kw\n", Options{})
	raw := `ab ÄRGER cd MimiKatz ef`
	tests := []struct {
		name   string
		raw    string
		values []string
		want   bool
	}{
		{"part of raw", raw, []string{raw[:5], raw[13:21]}, true},
		{"non-ASCII part", raw, []string{raw[3:10]}, true},
		{"copy, not in raw", "xyz", []string{strings.Clone(raw[13:21])}, true},
		{"split needle", "mimi katz", []string{"mimi", "katz"}, false},
		{"no raw", "", []string{"run MIMIKATZ"}, true},
	}
	for _, tt := range tests {
		ev := &event.Event{Raw: tt.raw}
		for i, v := range tt.values {
			ev.Fields = append(ev.Fields, event.Field{Name: string(rune('A' + i)), Value: v})
		}
		if got := matches(e, ev); got != tt.want {
			t.Errorf("%s: matched %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWithin(t *testing.T) {
	text := "ab\u00e9cd"
	tests := []struct {
		v    string
		want bool
	}{
		{text[0:2], true},
		{text[2:4], true},  // é whole
		{text[2:3], false}, // ends inside é
		{text[3:5], false}, // starts inside é
		{text, true},
		{"", true},
		{strings.Clone(text[0:2]), false}, // equal bytes elsewhere
		{"abécdx", false},
	}
	for i, tt := range tests {
		if got := within(text, tt.v); got != tt.want {
			t.Errorf("%d (%q): within = %v, want %v", i, tt.v, got, tt.want)
		}
	}
}
