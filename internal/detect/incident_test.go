package detect

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func sig(id, rule, sev string, at time.Duration, tactics []string, ents ...Entity) Signal {
	return Signal{ID: id, RuleID: rule, Title: rule, Severity: sev, Time: t0.Add(at).UnixNano(), Tactics: tactics, Entities: ents, Kind: "sigma", EventSource: "src-" + rule}
}

func host(v string) Entity { return Entity{Type: EntityHost, Value: v} }
func user(v string) Entity { return Entity{Type: EntityUser, Value: v} }
func ip(v string) Entity   { return Entity{Type: EntityIP, Value: v} }

func TestCorrelatorOpensJoinsEscalates(t *testing.T) {
	var events []string
	c, err := OpenCorrelator(IncidentOptions{OnChange: func(inc Incident, what string) { events = append(events, what+":"+inc.Severity) }})
	if err != nil {
		t.Fatal(err)
	}
	if inc := c.Add(sig("s1", "office-shell", "high", 0, []string{"execution"}, host("ws-7"), user("alice"))); inc != nil {
		t.Fatalf("one high signal opened %+v", inc)
	}
	// The same rule again does not add to the score (distinct rules count).
	if inc := c.Add(sig("s2", "office-shell", "high", time.Minute, []string{"execution"}, host("ws-7"))); inc != nil {
		t.Fatal("a repeat of one rule opened an incident")
	}
	inc := c.Add(sig("s3", "run-key", "high", 2*time.Minute, []string{"persistence"}, host("ws-7")))
	if inc == nil || len(inc.Signals) != 3 || inc.Severity != "high" {
		t.Fatalf("second rule: %+v", inc)
	}
	// A signal on another host joins through the shared user.
	inc2 := c.Add(sig("s4", "ssh-new-source", "medium", time.Hour, []string{"lateral-movement"}, host("bastion01"), user("alice"), ip("10.0.0.7")))
	if inc2 == nil || inc2.ID != inc.ID || len(inc2.Entities) < 4 {
		t.Fatalf("join by user: %+v", inc2)
	}
	// Progress through the kill chain escalates to critical.
	inc3 := c.Add(sig("s5", "wallet-drain", "high", 2*time.Hour, []string{"impact"}, host("bastion01")))
	if inc3.Severity != "critical" || len(inc3.Tactics) != 4 {
		t.Fatalf("escalation: %s %v", inc3.Severity, inc3.Tactics)
	}
	if len(c.List(IncidentFilter{})) != 1 {
		t.Fatal("more than one incident")
	}
	if events[0] != "created:high" || events[len(events)-1] != "escalated:critical" {
		t.Errorf("change events %v", events)
	}
}

func TestCorrelatorCriticalAndMerge(t *testing.T) {
	c, _ := OpenCorrelator(IncidentOptions{})
	a := c.Add(sig("c1", "limit-changed", "critical", 0, nil, host("signer"), user("bob")))
	b := c.Add(sig("c2", "beacon", "critical", time.Minute, nil, host("ws-1"), user("carol")))
	if a == nil || b == nil || a.ID == b.ID {
		t.Fatal("critical signals did not open two incidents")
	}
	// A signal linking both merges them into the older one.
	m := c.Add(sig("c3", "ssh", "medium", 2*time.Minute, nil, host("ws-1"), user("bob")))
	if m.ID != a.ID || len(m.Signals) != 3 {
		t.Fatalf("merge: %+v", m)
	}
	if got := c.List(IncidentFilter{}); len(got) != 1 {
		t.Fatalf("%d incidents after merge", len(got))
	}
	if old, _ := c.Get(b.ID); old.MergedInto != a.ID {
		t.Fatalf("merged incident %+v", old)
	}
}

func TestCorrelatorHubsAndWindow(t *testing.T) {
	c, _ := OpenCorrelator(IncidentOptions{HubHosts: 2, Window: time.Hour})
	// The proxy IP appears in signals of many hosts: it stops linking.
	for i, h := range []string{"a", "b", "c", "d"} {
		c.Add(sig("p"+h, "rule-"+h, "high", time.Duration(i)*time.Minute, nil, host(h), ip("10.9.9.9")))
	}
	if n := len(c.List(IncidentFilter{})); n != 0 {
		t.Fatalf("a shared proxy IP grouped unrelated hosts into %d incidents", n)
	}
	// Signals outside the window do not add up.
	c.Add(sig("w1", "r1", "high", 0, nil, host("z")))
	if inc := c.Add(sig("w2", "r2", "high", 3*time.Hour, nil, host("z"))); inc != nil {
		t.Fatal("signals hours apart beyond the window opened an incident")
	}
}

func TestCorrelatorPersistAndTriage(t *testing.T) {
	dir := t.TempDir()
	c, _ := OpenCorrelator(IncidentOptions{Dir: dir})
	inc := c.Add(sig("x1", "r", "critical", 0, nil, host("h")))
	st := StatusClosed
	res := "false_positive"
	if _, err := c.Update(inc.ID, IncidentUpdate{Status: &st, Resolution: &res, Comment: "test box", Author: "alice"}); err != nil {
		t.Fatal(err)
	}
	bad := "done"
	if _, err := c.Update(inc.ID, IncidentUpdate{Status: &bad}); err == nil {
		t.Fatal("bad status accepted")
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	c2, err := OpenCorrelator(IncidentOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := c2.Get(inc.ID)
	if !ok || got.Status != StatusClosed || len(got.Comments) != 1 || c2.FalsePositiveRules()["r"] != 1 {
		t.Fatalf("after reopen: %+v", got)
	}
	// A closed incident does not absorb new signals: a new one opens.
	if n := c2.Add(sig("x2", "r", "critical", time.Minute, nil, host("h"))); n == nil || n.ID == inc.ID {
		t.Fatal("closed incident reused")
	}
}

// One medium signal and two low ones, days apart, span three tactics:
// background noise, not an incident. A second rule above low makes it one.
func TestCorrelatorTacticSpreadNeedsCorroboration(t *testing.T) {
	c, _ := OpenCorrelator(IncidentOptions{})
	day := 24 * time.Hour
	c.Add(sig("n1", "failed-then-success", "low", 0, []string{"credential_access"}, host("dc01"), user("dana")))
	c.Add(sig("n2", "ssh-user-new-host", "low", 2*day, []string{"lateral_movement"}, host("api-06"), user("dana")))
	if inc := c.Add(sig("n3", "first-seen-domain", "medium", 2*day+4*time.Hour, []string{"command_and_control"}, host("ws-10"), user("dana"))); inc != nil {
		t.Fatalf("one medium signal with low context opened %s (%s)", inc.Title, inc.Severity)
	}
	if inc := c.Add(sig("n4", "first-seen-domain", "medium", 2*day+5*time.Hour, []string{"command_and_control"}, host("ws-10"), user("dana"))); inc != nil {
		t.Fatalf("a repeat of the same medium rule opened %s", inc.Title)
	}
	inc := c.Add(sig("n5", "encoded-powershell", "medium", 2*day+6*time.Hour, []string{"execution"}, host("ws-10"), user("dana")))
	if inc == nil || len(inc.Tactics) != 4 {
		t.Fatalf("two medium rules over four tactics: %+v", inc)
	}
}
