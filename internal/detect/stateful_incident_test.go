package detect

import (
	"fmt"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// TestCorrelatorWeakAndNoisy: low signals join open incidents without
// linking new entities or opening any, and a rule that fires on many
// hosts stops feeding incidents.
func TestCorrelatorWeakAndNoisy(t *testing.T) {
	c, err := OpenCorrelator(IncidentOptions{HubRuleHosts: 3})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sig := func(id, rule, sev, host, user string) Signal {
		return Signal{ID: id, RuleID: rule, Title: rule, Severity: sev, Time: at.UnixNano(), Tactics: []string{"execution"},
			Entities: []Entity{{Type: EntityHost, Value: host}, {Type: EntityUser, Value: user}}, EventHost: host}
	}
	for i := 0; i < 5; i++ {
		if inc := c.Add(sig(fmt.Sprint("low", i), "logoff", "low", "h1", "u1")); inc != nil {
			t.Fatalf("a low signal opened incident %s", inc.ID)
		}
	}
	inc := c.Add(sig("crit", "theft", "critical", "h1", "u1"))
	if inc == nil {
		t.Fatal("a critical signal opened no incident")
	}
	// A low signal about h1 with a new user joins, without linking the user.
	got := c.Add(sig("low-x", "logoff", "low", "h1", "stranger"))
	if got == nil || got.ID != inc.ID {
		t.Fatalf("low signal joined %v, want %s", got, inc.ID)
	}
	for _, e := range got.Entities {
		if e.Value == "stranger" {
			t.Errorf("low signal linked entity %v", e)
		}
	}
	// A noisy rule (more than 3 hosts) stops joining.
	for i := 0; i < 4; i++ {
		c.Add(sig(fmt.Sprint("n", i), "autorun", "medium", fmt.Sprint("host", i), "x"))
	}
	if got := c.Add(sig("n-h1", "autorun", "medium", "h1", "u1")); got != nil {
		t.Errorf("noisy rule joined incident %s", got.ID)
	}
}

func TestFirstSeenRestartKeepsBaseline(t *testing.T) {
	dir := t.TempDir()
	rule := `
mamori: v1
id: fs
type: first_seen
filter: event.action=login
group_by: [user.name]
value: [source.ip]
baseline: 1h
`
	login := func(at time.Duration, ip string) event.Event {
		return ev(at, "event.action=login", "user.name=a", "source.ip="+ip)
	}
	s := newEngine(t, rule, StatefulOptions{Dir: dir})
	feed(s, login(0, "10.0.0.1"))
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	s2 := newEngine(t, rule, StatefulOptions{Dir: dir})
	got := feed(s2, login(2*time.Hour, "10.0.0.1"), login(3*time.Hour, "10.0.0.2"))
	if got[0] != "" || got[1] != "fs" {
		t.Errorf("after restart: %q, want the learned value known and the baseline over", got)
	}
}
