package detect

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mamori/mamori/internal/event"
)

func TestGroupsOf(t *testing.T) {
	for _, c := range []struct {
		filter string
		fields string // the groups' fields, most selective first
		exact  bool
	}{
		{"", "", false},
		{"event.code=4624", "event.code", true},
		{"source.ip=* event.code=4624 winlog.logon.type IN (3, 10)", "event.code winlog.logon.type source.ip", true},
		{"dns.question.name=* NOT dns.question.name=*.local NOT p=*chrome.exe", "dns.question.name p", true},
		{"event.action=sudo (c=*sudoers* OR c=*shadow*)", "event.action c", true},
		{"process.command_line matches /sudoers/ x=*", "process.command_line x", true},
		{"(a=1 AND b=2) c=3", "a b c", true},
		{"a=1 (b=2 OR c=3)", "a", false}, // an OR of two fields is no group
		{"a=1 OR b=2", "", false},
		{"NOT a=1", "a", true}, // passes on a missing a: the memo knows
		{"a!=1 amount>5", "a amount", true},
		{"_source=sshd a=1", "a", false}, // metadata: not a field value
		{"failed password a=1", "a", false},
		{"a=1 | count", "", false}, // stages: not a plain filter
		{`ticket="" event.action=x`, "ticket event.action", true},
	} {
		groups, exact := groupsOf(c.filter)
		var fields []string
		for _, g := range groups {
			fields = append(fields, g.field)
		}
		if got := strings.Join(fields, " "); got != c.fields || exact != c.exact {
			t.Errorf("groupsOf(%q) = %q, exact %v; want %q, %v", c.filter, got, exact, c.fields, c.exact)
		}
	}
}

// indexRules are stateful rules that exercise every way ruleIndex plans a
// rule: gates on equality, IN, globs and regexps, filters without a gate,
// absence, chains with steps on rules only (Sigma and stateful), and no
// filter at all.
const indexRules = `
mamori: v1
id: ix-in
type: threshold
filter: act IN (allow, accept) dpt=22
group_by: [src]
window: 10m
threshold: 3
---
mamori: v1
id: ix-regex
type: match
filter: process.command_line matches /shadow|sudoers/
---
mamori: v1
id: ix-nogate
type: threshold
filter: NOT event.outcome=success
group_by: [user.name]
window: 5m
threshold: 4
---
mamori: v1
id: ix-all
type: threshold
window: 1m
threshold: 3
---
mamori: v1
id: ix-absence
type: absence
trigger: event.action=withdrawal_request
expect: event.action=withdrawal_approved
join: [withdrawal_id]
window: 5m
after: true
---
mamori: v1
id: ix-chain-refs
type: chain
group_by: [user.name]
window: 10m
steps:
  - rules: [sigma-a]
  - rules: [ix-in]
  - filter: event.code=4624
---
mamori: v1
id: ix-empty-value
type: match
filter: event.action=admin_config_change ticket=""
`

// indexEvents is a deterministic stream whose fields take the values the
// content pack and indexRules test (and others), some missing, some
// repeated, with times mostly increasing.
func indexEvents(n int) []event.Event {
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	at := time.Duration(0)
	var evs []event.Event
	for range n {
		at += time.Duration(r.IntN(60)) * time.Second
		day := int(at / (24 * time.Hour)) // values new on each day (first-seen)
		if r.IntN(50) == 0 {
			at -= 3 * time.Minute // late event
		}
		kv := []string{"host=" + pick("dc1", "ws1", "ws2", "bastion", "signer", "fw")}
		maybe := func(k string, vs ...string) {
			if r.IntN(3) > 0 {
				kv = append(kv, k+"="+pick(vs...))
			}
		}
		maybe("event.action", "hot_wallet_sign", "withdrawal_approved", "withdrawal_request", "hot_wallet_outflow", "admin_config_change",
			"2fa_verify", "ssh_login", "sudo", "login", "other")
		maybe("event.code", "4624", "4625", "4672", "3", "22", "1")
		maybe("event.outcome", "success", "failure")
		maybe("result", "success", "failure")
		maybe("user.name", "alice", "bob", "carol", "root")
		maybe("source.ip", "10.0.0.5", "10.0.0.6", "203.0.113.7", fmt.Sprintf("198.51.100.%d", day*4+r.IntN(4)))
		maybe("host.name", "dc1", "ws1", fmt.Sprintf("srv%d", day))
		maybe("asset", "XEM", "BTC")
		maybe("user_id", "u1", "u2")
		maybe("winlog.logon.type", "2", "3", "10")
		maybe("ssh.method", "publickey", "password", fmt.Sprint("method", day))
		maybe("withdrawal_id", "w1", "w2", "w3", "w4")
		maybe("dest_address", "NA1", "NA2", "NA3")
		maybe("amount", "1", "12.5", "900", "250000")
		maybe("initiator", "svc", "ops")
		maybe("approved_by", "alice", "bob")
		maybe("auto", "true", "false")
		maybe("ticket", "", "CHG-1")
		maybe("matched_withdrawal_id", "", "w1")
		maybe("act", "allow", "deny", "accept")
		maybe("src", "10.1.1.1", "10.1.1.2", "192.0.2.5")
		maybe("dst", "10.9.9.9", "8.8.8.8", "192.168.1.1", fmt.Sprintf("192.0.2.%d", day))
		maybe("dpt", "22", "443", "3389", "5985")
		maybe("destination.ip", "10.2.2.2", "93.184.216.34", "172.16.0.1", "::1")
		maybe("dns.question.name", "a.example.com", "x.local", "evil.duckdns.org", "b.internal", "c.arpa", fmt.Sprintf("d%d.example.org", day*3+r.IntN(3)))
		maybe("process.executable", `C:\chrome.exe`, `C:\evil.exe`, `C:\svchost.exe`)
		maybe("process.command_line", "cat /etc/shadow", "vi /etc/sudoers", "ls ~/.ssh/", "ls")
		if r.IntN(10) == 0 {
			kv = append(kv, "event.action=login") // a repeated name: the first value counts
		}
		evs = append(evs, ev(at, kv...))
	}
	return evs
}

// TestRuleIndexSameSignals: the content pack and indexRules raise the same
// signals, in the same order, with the index as without it.
func TestRuleIndexSameSignals(t *testing.T) {
	pack, _, errs := LoadStatefulDir("../../content/rules")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(pack) == 0 {
		t.Fatal("content pack has no stateful rules")
	}
	open := func(noIndex bool) *Stateful {
		s, err := OpenStateful(append(append([]*StatefulRule(nil), pack...), mustRules(t, indexRules)...), StatefulOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.noIndex = noIndex
		return s
	}
	evs := indexEvents(12_000)
	run := func(s *Stateful) []Signal {
		var out []Signal
		for i := range evs {
			var matched []string
			if i%7 == 0 {
				matched = []string{"sigma-a"} // a Sigma rule matched this event
			}
			out = append(out, s.Observe(&evs[i], matched)...)
		}
		return append(out, s.Flush(time.Unix(0, evs[len(evs)-1].Time).Add(time.Hour))...)
	}
	want, got := run(open(true)), run(open(false))
	fired := map[string]int{}
	for _, s := range want {
		fired[s.RuleID]++
	}
	for _, id := range []string{"ix-in", "ix-regex", "ix-nogate", "ix-all", "ix-absence", "ix-chain-refs", "ix-empty-value"} {
		if fired[id] == 0 {
			t.Errorf("rule %s never fired: the stream does not exercise it (fired: %v)", id, fired)
		}
	}
	if len(fired) < 20 { // 24 when written
		t.Errorf("only %d rules fired (%v): the stream exercises too little of the content pack", len(fired), fired)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signals (-without index +with index):\n%s", diff)
	}
}

// TestRuleIndexMemoBound: a field with more values than the memo holds
// still gives the right answers after the memo starts over.
func TestRuleIndexMemoBound(t *testing.T) {
	s := newEngine(t, `
mamori: v1
id: dyn
type: match
filter: dns.question.name=*.duckdns.org
`, StatefulOptions{})
	for i := range maxGateMemo + 10 {
		name := fmt.Sprintf("h%d.example.com", i)
		want := ""
		if i%1000 == 999 {
			name, want = fmt.Sprintf("h%d.duckdns.org", i), "dyn"
		}
		if got := feed(s, ev(time.Duration(i)*time.Second, "dns.question.name="+name)); got[0] != want {
			t.Fatalf("event %d (%s): fired %q, want %q", i, name, got[0], want)
		}
	}
	if n := len(s.ix.fields[0].memo); n > maxGateMemo {
		t.Errorf("memo holds %d values, bound %d", n, maxGateMemo)
	}
}

// TestDetectIndexSameSignalsScenario: on the scenario's events (or the
// Sigma dev events) decoded as the server does, the content pack raises
// the same signals with the stateful rule index as without it.
func TestDetectIndexSameSignalsScenario(t *testing.T) {
	bodies := liveBodies(t)
	open := func(noIndex bool) *Detector {
		d, err := Open(Options{RuleDirs: []string{"../../content/rules"}, SuppressFor: -1})
		if err != nil {
			t.Fatal(err)
		}
		d.st.noIndex = noIndex
		return d
	}
	with, without := open(false), open(true)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	n, sigs := 0, 0
	for _, body := range bodies {
		evs := body.events(t, func() int64 { return at })
		want, got := without.Detect(evs), with.Detect(evs)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("signals on events %d-%d (-without index +with index):\n%s", n, n+len(evs), diff)
		}
		n, sigs = n+len(evs), sigs+len(got)
	}
	t.Logf("%d events, %d signals, the same with and without the index", n, sigs)
}

// TestUpdateStartSameAsPerRule: Observe keeps each rule's Start (the
// first event time it saw, 0 = none) as it did when it set it per rule on
// every event, also for events at time 0, late events and rules added
// later.
func TestUpdateStartSameAsPerRule(t *testing.T) {
	rules := mustRules(t, indexRules)
	s, err := OpenStateful(rules[:3], StatefulOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	observe := func(at int64) {
		e := event.Event{Time: at}
		s.Observe(&e, nil)
		for _, r := range s.Rules() {
			if w := want[r.ID]; w == 0 || at < w {
				want[r.ID] = at
			}
		}
	}
	check := func(step string) {
		t.Helper()
		for _, r := range s.Rules() {
			if got := s.state[r.ID].Start; got != want[r.ID] {
				t.Errorf("%s: rule %s Start %d, want %d", step, r.ID, got, want[r.ID])
			}
		}
	}
	for _, at := range []int64{50, 70, 0, 80, 30, 90, -5, 100} {
		observe(at)
		check(fmt.Sprint("after ", at))
	}
	s.SetRules(rules) // the others start now
	for _, at := range []int64{200, 10, 300} {
		observe(at)
		check(fmt.Sprint("after SetRules and ", at))
	}
}

// FuzzGroupsOf checks what the index relies on, for any filter text and
// event: a filter matches only when each of its groups does, an exact
// filter is the AND of its groups, and a group's result depends only on
// its field's first value (the memo's key).
func FuzzGroupsOf(f *testing.F) {
	f.Add("event.code=4624 winlog.logon.type IN (3, 10) source.ip=*", "event.code", "4624", "source.ip", "10.0.0.1")
	f.Add("dns.question.name=* NOT dns.question.name=*.local NOT p=*x.exe", "dns.question.name", "a.local", "p", "C:\\x.exe")
	f.Add(`event.action=sudo (c=*shadow* OR c matches /sudo[e]rs/) t=""`, "event.action", "sudo", "c", "/etc/shadow")
	f.Add("a>5 a<=10 NOT b!=x", "a", "7", "b", "x")
	f.Add("a=1 OR b=2", "a", "1", "a", "2")
	f.Fuzz(func(t *testing.T, filter, n1, v1, n2, v2 string) {
		m, err := compileFilter(filter)
		groups, exact := groupsOf(filter)
		if err != nil || m == nil {
			if len(groups) > 0 {
				t.Fatalf("groups for a filter that does not compile: %q", filter)
			}
			return
		}
		e := event.Event{Fields: []event.Field{{Name: n1, Value: v1}, {Name: n2, Value: v2}, {Name: n1, Value: "second " + v1}}}
		all := true
		for _, g := range groups {
			one := event.Event{}
			if v, ok := e.Get(g.field); ok {
				one.Fields = []event.Field{{Name: g.field, Value: v}}
			}
			got := g.m.Match(&e)
			if got != g.m.Match(&one) {
				t.Fatalf("group on %s of %q reads more than the field's first value", g.field, filter)
			}
			all = all && got
		}
		if whole := m.Match(&e); whole && !all {
			t.Fatalf("%q matches %v but a group does not", filter, e.Fields)
		} else if exact && whole != all {
			t.Fatalf("exact %q: filter %v, groups %v", filter, whole, all)
		}
	})
}
