package detect

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestOutsideLogSource: with TestRule, pasted samples that match a rule's detection but
// not its log source are counted, so the rule test can say why they got no
// signal.
func TestOutsideLogSource(t *testing.T) {
	d, err := Open(Options{RuleDirs: []string{t.TempDir()}, SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	rule := []byte(`title: Login failure
id: 7c1d0000-0000-4000-8000-0000000000b1
logsource:
  product: linux
detection:
  selection:
    action: login
    outcome: failure
  condition: selection
level: high
`)
	ev := func(fields ...string) event.Event {
		e := event.Event{Raw: "sample"}
		for i := 0; i+1 < len(fields); i += 2 {
			e.Fields = append(e.Fields, event.Field{Name: fields[i], Value: fields[i+1]})
		}
		return e
	}
	events := []event.Event{
		ev("action", "login", "outcome", "failure", "host.os.type", "linux"), // matches
		ev("action", "login", "outcome", "failure"),                          // detection only: not a linux event
		ev("action", "logout", "outcome", "failure"),                         // neither
	}
	res, err := d.TestRule(rule, events)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Signals) != 1 {
		t.Fatalf("TestRule: %d signals, want 1", len(res.Signals))
	}
	if res.OutsideLogSource != 1 {
		t.Fatalf("OutsideLogSource = %d, want 1", res.OutsideLogSource)
	}
	if _, err := d.TestRule([]byte("title: [broken"), events); err == nil {
		t.Error("a broken rule gave no error")
	}
}
