package detect

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

var st0 = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC).UnixNano()

// ev builds an event at st0+at from "k=v" pairs ("host=x" sets the host).
func ev(at time.Duration, kv ...string) event.Event {
	e := event.Event{Time: st0 + int64(at), Source: "test", Raw: fmt.Sprint(at, kv)}
	for _, p := range kv {
		k, v, _ := strings.Cut(p, "=")
		if k == "host" {
			e.Host = v
			continue
		}
		e.Fields = append(e.Fields, event.Field{Name: k, Value: v})
	}
	return e
}

func mustRules(t *testing.T, yml string) []*StatefulRule {
	t.Helper()
	rs, err := ParseStatefulRules([]byte(yml), "test.yml")
	if err != nil {
		t.Fatalf("ParseStatefulRules: %v", err)
	}
	if len(rs) == 0 {
		t.Fatal("no rule parsed")
	}
	return rs
}

func newEngine(t *testing.T, yml string, opts StatefulOptions) *Stateful {
	t.Helper()
	s, err := OpenStateful(mustRules(t, yml), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// feed observes events in order and returns the rule ids that fired, one
// entry per event ("" when none).
func feed(s *Stateful, evs ...event.Event) []string {
	var out []string
	for i := range evs {
		var ids []string
		for _, sg := range s.Observe(&evs[i], nil) {
			ids = append(ids, sg.RuleID)
		}
		out = append(out, strings.Join(ids, ","))
	}
	return out
}

func fired(got []string) int {
	n := 0
	for _, g := range got {
		if g != "" {
			n += len(strings.Split(g, ","))
		}
	}
	return n
}

const thresholdRule = `
mamori: v1
id: t-fail
title: many failures
type: threshold
level: medium
filter: event.outcome=failure
group_by: [user.name]
window: 10m
threshold: 2
tags: [attack.credential_access]
`

func TestThreshold(t *testing.T) {
	f := func(name string, want int, evs ...event.Event) {
		t.Run(name, func(t *testing.T) {
			s := newEngine(t, thresholdRule, StatefulOptions{})
			if got := fired(feed(s, evs...)); got != want {
				t.Errorf("fired %d, want %d", got, want)
			}
		})
	}
	fail := func(at time.Duration, user string) event.Event {
		return ev(at, "event.outcome=failure", "user.name="+user)
	}
	f("three in window", 1, fail(0, "a"), fail(time.Minute, "a"), fail(2*time.Minute, "a"))
	f("two only", 0, fail(0, "a"), fail(time.Minute, "a"))
	f("window edge exact", 1, fail(0, "a"), fail(5*time.Minute, "a"), fail(10*time.Minute, "a"))
	f("window edge past", 0, fail(0, "a"), fail(5*time.Minute, "a"), fail(10*time.Minute+1, "a"))
	f("other keys", 0, fail(0, "a"), fail(time.Minute, "b"), fail(2*time.Minute, "c"))
	f("filter", 0, fail(0, "a"), ev(time.Minute, "event.outcome=success", "user.name=a"), fail(2*time.Minute, "a"))
	f("out of order", 1, fail(5*time.Minute, "a"), fail(9*time.Minute, "a"), fail(time.Minute, "a"))
	f("fires once then resets", 2, fail(0, "a"), fail(1, "a"), fail(2, "a"), fail(3, "a"), fail(4, "a"), fail(5, "a"))
	f("missing key", 0, ev(0, "event.outcome=failure"), ev(1, "event.outcome=failure"), ev(2, "event.outcome=failure"))
}

func TestThresholdDistinct(t *testing.T) {
	s := newEngine(t, `
mamori: v1
id: spray
type: threshold
filter: event.outcome=failure
group_by: [source.ip]
distinct: user.name
window: 5m
threshold: 2
`, StatefulOptions{})
	got := feed(s,
		ev(0, "event.outcome=failure", "source.ip=10.0.0.1", "user.name=a"),
		ev(1, "event.outcome=failure", "source.ip=10.0.0.1", "user.name=a"),
		ev(2, "event.outcome=failure", "source.ip=10.0.0.1", "user.name=b"),
		ev(3, "event.outcome=failure", "source.ip=10.0.0.1", "user.name=c"))
	if fired(got) != 1 || got[3] != "spray" {
		t.Errorf("got %q, want a firing on the third distinct user", got)
	}
}

func TestMatchAndHours(t *testing.T) {
	s := newEngine(t, `
mamori: v1
id: night-change
type: match
level: high
filter: event.action=config_change ticket=""
hours: 22-06
timezone: "+09:00"
entities: {admin_user: user}
`, StatefulOptions{})
	// st0 is 12:00 UTC = 21:00 +09:00.
	evs := []event.Event{
		ev(0, "event.action=config_change", "ticket=", "admin_user=bob"),
		ev(2*time.Hour, "event.action=config_change", "ticket=", "admin_user=bob"),
		ev(3*time.Hour, "event.action=config_change", "ticket=CHG-1", "admin_user=bob"),
	}
	var sigs []Signal
	for i := range evs {
		sigs = append(sigs, s.Observe(&evs[i], nil)...)
	}
	if len(sigs) != 1 {
		t.Fatalf("got %d signals, want 1 (23:00 local, no ticket)", len(sigs))
	}
	if sigs[0].Kind != TypeMatch || sigs[0].Severity != "high" {
		t.Errorf("signal %+v", sigs[0])
	}
	if !hasEntity(sigs[0].Entities, EntityUser, "bob") {
		t.Errorf("entities %v: want user bob from the entities map", sigs[0].Entities)
	}
}

func hasEntity(es []Entity, typ, v string) bool {
	for _, e := range es {
		if e.Type == typ && strings.EqualFold(e.Value, v) {
			return true
		}
	}
	return false
}

const chainRule = `
mamori: v1
id: logon-then-ssh
type: chain
level: high
group_by: [source.ip]
window: 15m
ordered: %v
steps:
  - filter: event.code=4624
  - filter: event.action=ssh_login
`

func TestChain(t *testing.T) {
	logon := func(at time.Duration, ip string) event.Event {
		return ev(at, "host=dc1", "event.code=4624", "source.ip="+ip, "user.name=adm")
	}
	ssh := func(at time.Duration, ip string) event.Event {
		return ev(at, "host=bastion", "event.action=ssh_login", "source.ip="+ip, "user.name=adm")
	}
	f := func(name string, ordered bool, want int, evs ...event.Event) {
		t.Run(name, func(t *testing.T) {
			s := newEngine(t, fmt.Sprintf(chainRule, ordered), StatefulOptions{})
			if got := fired(feed(s, evs...)); got != want {
				t.Errorf("fired %d, want %d", got, want)
			}
		})
	}
	f("in order", true, 1, logon(0, "10.1.1.1"), ssh(5*time.Minute, "10.1.1.1"))
	f("too far apart", true, 0, logon(0, "10.1.1.1"), ssh(16*time.Minute, "10.1.1.1"))
	f("exact edge", true, 1, logon(0, "10.1.1.1"), ssh(15*time.Minute, "10.1.1.1"))
	f("other ip", true, 0, logon(0, "10.1.1.1"), ssh(time.Minute, "10.1.1.2"))
	f("wrong order, ordered", true, 0, ssh(0, "10.1.1.1"), logon(time.Minute, "10.1.1.1"))
	f("wrong order, any order", false, 1, ssh(0, "10.1.1.1"), logon(time.Minute, "10.1.1.1"))
	// Arrival order differs from event time: still in order by event time.
	f("late first step", true, 1, ssh(5*time.Minute, "10.1.1.1"), logon(time.Minute, "10.1.1.1"))

	t.Run("entities of every step", func(t *testing.T) {
		s := newEngine(t, fmt.Sprintf(chainRule, true), StatefulOptions{})
		a, b := logon(0, "10.1.1.1"), ssh(time.Minute, "10.1.1.1")
		s.Observe(&a, nil)
		sigs := s.Observe(&b, nil)
		if len(sigs) != 1 || !hasEntity(sigs[0].Entities, EntityHost, "dc1") || !hasEntity(sigs[0].Entities, EntityHost, "bastion") {
			t.Fatalf("signals %+v: want one with hosts dc1 and bastion", sigs)
		}
	})
}

func TestFirstSeen(t *testing.T) {
	s := newEngine(t, `
mamori: v1
id: new-src
type: first_seen
level: medium
filter: event.action=login
group_by: [user.name]
value: [source.ip]
baseline: 1d
`, StatefulOptions{})
	login := func(at time.Duration, user, ip string) event.Event {
		return ev(at, "event.action=login", "user.name="+user, "source.ip="+ip)
	}
	got := feed(s,
		login(0, "a", "10.0.0.1"),
		login(time.Hour, "a", "10.0.0.2"),    // learning
		login(25*time.Hour, "a", "10.0.0.1"), // known
		login(26*time.Hour, "a", "10.0.0.3"), // new: fires
		login(27*time.Hour, "a", "10.0.0.3"), // now known
		login(28*time.Hour, "b", "10.0.0.1"), // new key, new value: fires
		login(29*time.Hour, "a", "10.0.0.2")) // learned during baseline
	want := []string{"", "", "", "new-src", "", "new-src", ""}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestOutlier(t *testing.T) {
	s := newEngine(t, `
mamori: v1
id: big-day
type: outlier
level: high
filter: event.action=sign
group_by: [asset]
field: amount
bucket: 1h
buckets: 24
k: 3
min_count: 2
min_buckets: 4
`, StatefulOptions{})
	sign := func(at time.Duration, amt string) event.Event {
		return ev(at, "event.action=sign", "asset=XEM", "amount="+amt)
	}
	var evs []event.Event
	for h := 0; h < 6; h++ {
		evs = append(evs, sign(time.Duration(h)*time.Hour, "100"), sign(time.Duration(h)*time.Hour+time.Minute, fmt.Sprint(90+h)))
	}
	if n := fired(feed(s, evs...)); n != 0 {
		t.Fatalf("baseline fired %d times", n)
	}
	got := feed(s, sign(6*time.Hour, "5000"), sign(6*time.Hour+time.Minute, "5000"), sign(6*time.Hour+2*time.Minute, "5000"))
	if want := []string{"", "big-day", ""}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q (min_count 2, once per bucket)", got, want)
	}
}

func TestAggregation(t *testing.T) {
	s := newEngine(t, `
mamori: v1
id: structuring
type: aggregation
level: high
filter: event.action=sign
group_by: [asset]
window: 24h
aggregates:
  - {fn: sum, field: amount, as: total}
  - {fn: max, field: amount, as: biggest}
  - {fn: count, as: n}
condition: total > 1000 and biggest <= 500 and n >= 3
`, StatefulOptions{})
	sign := func(at time.Duration, amt string) event.Event {
		return ev(at, "event.action=sign", "asset=XEM", "amount="+amt)
	}
	got := feed(s, sign(0, "400"), sign(time.Hour, "400"), sign(2*time.Hour, "400"), sign(25*time.Hour, "400"))
	if want := []string{"", "", "structuring", ""}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	s2 := newEngine(t, strings.Replace(`
mamori: v1
id: big
type: aggregation
filter: event.action=sign
window: 1h
aggregates: [{fn: p50, field: amount, as: med}, {fn: avg, field: amount, as: mean}, {fn: distinct, field: amount, as: d}]
condition: med >= 20 and mean > 20 and d == 3
`, "\t", "", -1), StatefulOptions{})
	if got := feed(s2, sign(0, "10"), sign(1, "20"), sign(2, "40")); got[2] != "big" {
		t.Errorf("percentile/avg/distinct: got %q", got)
	}
}

const absenceRule = `
mamori: v1
id: sign-without-request
type: absence
level: critical
trigger: event.action=sign
expect: event.action=request
join: [withdrawal_id=withdrawal_id]
window: 1h
entities: {dest: address}
`

func TestAbsence(t *testing.T) {
	req := func(at time.Duration, id string) event.Event {
		return ev(at, "event.action=request", "withdrawal_id="+id)
	}
	sign := func(at time.Duration, id string) event.Event {
		return ev(at, "event.action=sign", "withdrawal_id="+id, "dest=NADDR")
	}
	tick := func(at time.Duration) event.Event { return ev(at, "event.action=noise") }
	f := func(name string, want int, evs ...event.Event) {
		t.Run(name, func(t *testing.T) {
			s := newEngine(t, absenceRule, StatefulOptions{Lateness: 5 * time.Minute})
			if got := fired(feed(s, evs...)); got != want {
				t.Errorf("fired %d, want %d", got, want)
			}
		})
	}
	f("matched", 0, req(0, "w1"), sign(time.Minute, "w1"), tick(time.Hour))
	f("unmatched", 1, req(0, "w1"), sign(time.Minute, "w2"), tick(time.Hour))
	f("empty id fires at once", 1, sign(time.Minute, ""))
	f("request too old", 1, req(0, "w1"), sign(61*time.Minute, "w1"), tick(2*time.Hour))
	f("request late within lateness", 0, sign(time.Minute, "w1"), req(0, "w1"), tick(time.Hour))
	f("undecided before deadline", 0, req(0, "w1"), sign(time.Minute, "w2"), tick(3*time.Minute))

	t.Run("flush on a quiet stream", func(t *testing.T) {
		s := newEngine(t, absenceRule, StatefulOptions{Lateness: time.Minute})
		e := sign(0, "w9")
		if sigs := s.Observe(&e, nil); len(sigs) != 0 {
			t.Fatal("fired before the deadline")
		}
		sigs := s.Flush(time.Now().Add(2 * time.Minute))
		if len(sigs) != 1 || !hasEntity(sigs[0].Entities, EntityWallet, "NADDR") {
			t.Fatalf("Flush = %+v, want one signal with the address", sigs)
		}
	})
}

func TestSigmaCorrelation(t *testing.T) {
	yml := `
title: Many failed logons
name: many_failed
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [user.name]
  timespan: 5m
  condition: {gte: 3}
level: high
---
title: Base
name: spread
correlation:
  type: value_count
  rules: [failed_logon]
  group-by: [source.ip]
  timespan: 5m
  condition: {field: user.name, gt: 1}
---
title: Recon then logon
name: recon_logon
correlation:
  type: temporal_ordered
  rules: [recon, many_failed]
  group-by: [user]
  aliases:
    user: {recon: process.user, many_failed: user.name}
  timespan: 1h
  generate: true
`
	rs := mustRules(t, yml)
	if len(rs) != 3 {
		t.Fatalf("parsed %d rules, want 3", len(rs))
	}
	sil := Silenced(rs)
	if !sil["failed_logon"] || sil["recon"] {
		t.Errorf("Silenced = %v: want failed_logon (generate false) and not recon (generate true)", sil)
	}
	s, err := OpenStateful(rs, StatefulOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	obs := func(e event.Event, matched ...string) {
		for _, sg := range s.Observe(&e, matched) {
			ids = append(ids, sg.RuleID)
		}
	}
	obs(ev(0, "process.user=adm"), "recon")
	obs(ev(time.Minute, "user.name=adm", "source.ip=1.2.3.4"), "failed_logon")
	obs(ev(2*time.Minute, "user.name=adm", "source.ip=1.2.3.4"), "failed_logon")
	obs(ev(3*time.Minute, "user.name=bob", "source.ip=1.2.3.4"), "failed_logon")
	obs(ev(4*time.Minute, "user.name=adm", "source.ip=1.2.3.4"), "failed_logon")
	got := strings.Join(ids, ",")
	if got != "spread,many_failed,recon_logon" {
		t.Errorf("fired %q, want spread,many_failed,recon_logon (chained on the correlation's name)", got)
	}
	// The percentile and sum forms parse.
	for _, c := range []string{`{type: value_sum, rules: [x], timespan: 1h, condition: {field: amount, gt: 10}}`,
		`{type: value_avg, rules: [x], timespan: 1h, condition: {field: amount, gt: 10}}`,
		`{type: value_percentile, rules: [x], timespan: 1h, condition: {field: amount, percentile: 90, gt: 10}}`} {
		if _, err := ParseStatefulRules([]byte("title: x\nname: x1\ncorrelation: "+c+"\n"), "c.yml"); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
}

func TestStatefulRestartMidWindow(t *testing.T) {
	dir := t.TempDir()
	s := newEngine(t, thresholdRule, StatefulOptions{Dir: dir})
	fail := func(at time.Duration) event.Event { return ev(at, "event.outcome=failure", "user.name=a") }
	feed(s, fail(0), fail(time.Minute))
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	s2 := newEngine(t, thresholdRule, StatefulOptions{Dir: dir})
	if got := feed(s2, fail(2*time.Minute)); got[0] != "t-fail" {
		t.Errorf("after restart: got %q, want the window to carry over", got)
	}
	// A damaged snapshot starts empty instead of failing.
	s3, err := OpenStateful(mustRules(t, thresholdRule), StatefulOptions{Dir: t.TempDir()})
	if err != nil || s3 == nil {
		t.Fatal(err)
	}
}

func TestStatefulLimits(t *testing.T) {
	s := newEngine(t, thresholdRule, StatefulOptions{MaxKeys: 10, MaxPerKey: 5})
	for i := 0; i < 100; i++ {
		e := ev(time.Duration(i)*time.Second, "event.outcome=failure", fmt.Sprintf("user.name=u%d", i))
		s.Observe(&e, nil)
	}
	c := s.Counts()
	if c.Keys > 10 || c.Evicted != 90 {
		t.Errorf("counts %+v: want at most 10 keys and 90 evictions", c)
	}
	// Late events are evaluated and counted.
	e := ev(-time.Hour, "event.outcome=failure", "user.name=x")
	s.Observe(&e, nil)
	if s.Counts().Late != 1 {
		t.Errorf("late = %d, want 1", s.Counts().Late)
	}
}

func TestParseStatefulBad(t *testing.T) {
	f := func(yml, want string) {
		t.Helper()
		_, err := ParseStatefulRules([]byte(yml), "bad.yml")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseStatefulRules(%q) = %v, want error containing %q", yml, err, want)
		}
	}
	f("mamori: v1\nid: x\ntype: nope\n", `unknown type "nope"`)
	f("mamori: v1\ntype: match\n", "id is required")
	f("mamori: v1\nid: x\ntype: match\nfilter: 'a=('\n", "filter")
	f("mamori: v1\nid: x\ntype: aggregation\naggregates: [{fn: sum, field: a, as: s}]\ncondition: s >> 3\n", "unknown operator")
	f("mamori: v1\nid: x\ntype: chain\n", "chain needs steps")
	f("mamori: v1\nid: x\ntype: threshold\nwindow: 5x\n", "duration")
	f("mamori: v1\nid: x\ntype: match\nhours: 25-3\n", "hours")
	f("title: c\ncorrelation: {type: bogus, rules: [a]}\n", "unknown correlation type")
	f("mamori: [\n", "document 1")
	// Plain Sigma documents are skipped, not errors.
	rs, err := ParseStatefulRules([]byte("title: s\ndetection: {sel: {a: b}, condition: sel}\n"), "s.yml")
	if err != nil || len(rs) != 0 {
		t.Errorf("plain sigma: %v %v", rs, err)
	}
}

func FuzzParseStatefulRules(f *testing.F) {
	f.Add([]byte(thresholdRule))
	f.Add([]byte(absenceRule))
	f.Add([]byte("title: x\ncorrelation: {type: event_count, rules: [a], timespan: 5m, condition: {gt: 2}}\n"))
	f.Add([]byte("mamori: v1\nid: h\ntype: first_seen\ngroup_by: [user.name]\nvalue: [_hour]\ntolerance: 1\nmin_history: 2\ntimezone: \"+09:00\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseStatefulRules(data, "fuzz.yml")
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
		if len(rs) == 0 {
			return
		}
		s, err := OpenStateful(rs, StatefulOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e := ev(0, "event.outcome=failure", "user.name=a", "event.action=sign", "amount=3")
		s.Observe(&e, []string{"a"})
	})
}

// TestDetectorMixedFolder: one folder holds a Sigma rule, a Sigma
// correlation on it and a Mamori rule; the Detector runs all three and
// the correlation's base rule stays quiet (generate: false).
func TestDetectorMixedFolder(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("base.yml", `title: Failed logon
id: 5b0c8a4e-0000-4000-8000-000000000001
name: failed_logon
level: low
logsource: {product: test}
detection:
  sel: {outcome: failure}
  condition: sel
`)
	write("corr.yml", `title: Brute force
id: 5b0c8a4e-0000-4000-8000-000000000002
level: high
tags: [attack.credential_access]
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [user.name]
  timespan: 5m
  condition: {gte: 3}
`)
	write("mamori.yml", `mamori: v1
id: m-admin-config
title: Config change without ticket
type: match
level: high
filter: event.action=config_change ticket=""
`)
	d, err := Open(Options{RuleDirs: []string{dir}, SuppressFor: -1, Stateful: StatefulOptions{Dir: filepath.Join(dir, ".state")}})
	if err != nil {
		t.Fatal(err)
	}
	if iss := d.Issues(); len(iss) != 0 {
		t.Errorf("issues: %v", iss)
	}
	evs := []event.Event{
		ev(0, "outcome=failure", "user.name=a"),
		ev(time.Minute, "outcome=failure", "user.name=a"),
		ev(2*time.Minute, "outcome=failure", "user.name=a"),
		ev(3*time.Minute, "event.action=config_change", "ticket="),
	}
	var got []string
	for _, s := range d.Detect(evs) {
		got = append(got, s.RuleID+"/"+s.Kind)
	}
	want := "5b0c8a4e-0000-4000-8000-000000000002/event_count,m-admin-config/match"
	if strings.Join(got, ",") != want {
		t.Errorf("Detect = %v, want %s (the base rule silenced)", got, want)
	}
	if n := len(d.Stateful().Rules()); n != 2 {
		t.Errorf("stateful rules = %d, want 2", n)
	}
}
