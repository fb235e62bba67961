package parse

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// parseOK parses in with the named parser and checks the wanted fields
// ("_time=..." checks the time, "_host=..." the host).
func parseOK(t *testing.T, name, in string, want ...string) *event.Event {
	t.Helper()
	p, ok := New(name, Options{})
	if !ok {
		t.Fatalf("no parser %q", name)
	}
	var ev event.Event
	if err := p.Parse([]byte(in), &ev); err != nil {
		t.Fatalf("%s.Parse(%q): %v", name, in, err)
	}
	if ev.Raw != in {
		t.Errorf("%s.Parse(%q): Raw = %q", name, in, ev.Raw)
	}
	wantFields(t, in, &ev, want...)
	return &ev
}

// parseBad checks that the named parser rejects in with a message and
// leaves no fields behind.
func parseBad(t *testing.T, name, in string) {
	t.Helper()
	p, _ := New(name, Options{})
	var ev event.Event
	err := p.Parse([]byte(in), &ev)
	if err == nil {
		t.Errorf("%s.Parse(%q) succeeded, want error; fields:\n%s", name, in, fieldsString(ev.Fields))
		return
	}
	if err.Error() == "" || len(ev.Fields) != 0 || ev.Raw != in {
		t.Errorf("%s.Parse(%q) = %v, %d fields, Raw %q; want message, no fields, Raw kept", name, in, err, len(ev.Fields), ev.Raw)
	}
}

// noField checks that ev lacks the named fields.
func noField(t *testing.T, ev *event.Event, names ...string) {
	t.Helper()
	for _, n := range names {
		if v, ok := ev.Get(n); ok {
			t.Errorf("%q: unexpected %s=%q", ev.Raw, n, v)
		}
	}
}

// parseLine parses line with p and fails the test on error.
func parseLine(t *testing.T, p Parser, line []byte) *event.Event {
	t.Helper()
	var ev event.Event
	if err := p.Parse(line, &ev); err != nil {
		t.Fatalf("%s.Parse(%q): %v", p.Name(), line, err)
	}
	return &ev
}
