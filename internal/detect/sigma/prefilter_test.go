package sigma

import (
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestPrefilterSameResults checks that the prefilter, the routing index and
// the per-leaf fast paths change nothing: every SigmaHQ Windows rule gives
// the same matches with and without them on the dev events, as given and
// with their values upper-cased (matching is case-insensitive) or with
// duplicated fields (the first one counts).
func TestPrefilterSameResults(t *testing.T) {
	fast := loadWindowsEngine(t)
	slow := loadWindowsEngineWith(t, Options{NoPrefilter: true})
	lines := loadDevLines(t)
	ids := func(e *Engine, ev *event.Event) []string {
		var out []string
		e.Match(ev, func(m Match) { out = append(out, m.Rule.ID) })
		slices.Sort(out)
		return out
	}
	variants := []struct {
		name string
		edit func([]event.Field) []event.Field
	}{
		{"as-is", func(fs []event.Field) []event.Field { return fs }},
		{"upper", func(fs []event.Field) []event.Field {
			for i := range fs {
				fs[i].Value = strings.ToUpper(fs[i].Value)
			}
			return fs
		}},
		{"dup-first", func(fs []event.Field) []event.Field {
			// A decoy copy of every field in front: it is the one that counts.
			out := make([]event.Field, 0, 2*len(fs))
			for _, f := range fs {
				if !strings.Contains(strings.ToLower(f.Name), "channel") && !strings.Contains(strings.ToLower(f.Name), "eventid") {
					out = append(out, event.Field{Name: f.Name, Value: "x"})
				}
			}
			return append(out, fs...)
		}},
	}
	var fl jsonFlattener
	hits := 0
	for _, v := range variants {
		for n, l := range lines {
			fs, err := fl.flatten(l, nil)
			if err != nil {
				t.Fatalf("line %d: %v", n+1, err)
			}
			ev := event.Event{Fields: v.edit(fs)}
			got, want := ids(fast, &ev), ids(slow, &ev)
			if !slices.Equal(got, want) {
				t.Errorf("%s line %d: prefiltered matches %v, want %v", v.name, n+1, got, want)
			}
			hits += len(want)
		}
	}
	if hits == 0 {
		t.Error("no rule matched any dev event: the comparison proves nothing")
	}
}
