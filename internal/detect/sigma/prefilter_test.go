package sigma

import (
	"errors"
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
			got, want := matchIDs(fast, &ev), matchIDs(slow, &ev)
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

// TestMatchConcurrent runs one engine from several goroutines (run with
// -race): the scratch space is per call, the engine read-only.
func TestMatchConcurrent(t *testing.T) {
	e := compileOne(t, "  sel:\n    Image|endswith: '\\\\whoami.exe'\n    EventID: 1\n  kw:\n    - 'mimikatz'\n  condition: sel or kw\n", Options{})
	hit := fields("Image", `C:\W\WHOAMI.exe`, "EventID", "1")
	kw := fields("CommandLine", "run MimiKatz now")
	miss := fields("Image", `C:\W\cmd.exe`, "EventID", "1")
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			var err error
			for i := 0; i < 300 && err == nil; i++ {
				switch {
				case !matches(e, hit):
					err = errors.New("hit event did not match")
				case !matches(e, kw):
					err = errors.New("keyword event did not match")
				case matches(e, miss):
					err = errors.New("miss event matched")
				}
			}
			done <- err
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// matchIDs returns the IDs of the rules of e that match ev, sorted.
func matchIDs(e *Engine, ev *event.Event) []string {
	var out []string
	e.Match(ev, func(m Match) { out = append(out, m.Rule.ID) })
	slices.Sort(out)
	return out
}
