package sigma

import (
	"strings"
	"sync"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// testPipeline is the default pipeline with the hand-written rules'
// product "test" declared as a source that applies to every event (an
// unknown product would only apply to events that name it).
var testPipeline = sync.OnceValue(func() *Pipeline {
	p := *DefaultPipeline()
	p.Sources = append([]Source{{Product: "test"}}, p.Sources...)
	return &p
})

// compileOne compiles one rule from its detection section (indented YAML).
func compileOne(t *testing.T, detection string, opts Options) *Engine {
	t.Helper()
	text := "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  product: test\ndetection:\n" + detection
	rules, err := ParseRule([]byte(text))
	if err != nil {
		t.Fatalf("ParseRule(%q): %v", text, err)
	}
	if opts.Pipeline == nil {
		opts.Pipeline = testPipeline()
	}
	e, issues, err := Compile(rules, opts)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if len(issues) > 0 {
		t.Fatalf("Compile(%q): issues %v", detection, issues)
	}
	return e
}

func fields(kv ...string) *event.Event {
	ev := &event.Event{}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Fields = append(ev.Fields, event.Field{Name: kv[i], Value: kv[i+1]})
	}
	return ev
}

func matches(e *Engine, ev *event.Event) bool {
	n := 0
	e.Match(ev, func(Match) { n++ })
	return n > 0
}

// TestModifiers runs hand-written rules for every modifier, both with and
// without the prefilter (the results must agree).
func TestModifiers(t *testing.T) {
	f := func(detection string, ev *event.Event, want bool) {
		t.Helper()
		for _, nopf := range []bool{false, true} {
			e := compileOne(t, detection, Options{NoPrefilter: nopf, Placeholders: map[string][]string{
				"admins": {"alice", "bob*"}}})
			if got := matches(e, ev); got != want {
				t.Errorf("rule %q on %v (noprefilter=%v) = %v, want %v", detection, ev.Fields, nopf, got, want)
			}
		}
	}
	sel := func(item string) string { return "  sel:\n    " + item + "\n  condition: sel\n" }
	img := func(v string) *event.Event { return fields("Image", v) }
	// Plain values: case-insensitive equality with wildcards.
	f(sel(`Image: 'C:\Windows\cmd.exe'`), img(`c:\windows\CMD.EXE`), true)
	f(sel(`Image: 'C:\Windows\cmd.exe'`), img(`C:\Windows\cmd.exe2`), false)
	f(sel(`Image: '*\cmd.exe'`), img(`D:\x\cmd.exe`), true)
	f(sel(`Image: 'C:\\*\cmd.?xe'`), img(`C:\a\b\cmd.exe`), true)
	f(sel(`Image: 'C:\\*\cmd.?xe'`), img(`C:\a\b\cmd.xe`), false)
	f(sel(`Image: 'C:\*\cmd.exe'`), img(`C:\a\cmd.exe`), false) // \* is a literal star
	f(sel(`Image: 'a\*b'`), img(`a*b`), true)                   // escaped star is literal
	f(sel(`Image: 'a\*b'`), img(`axxb`), false)
	f(sel(`Image: 'a\?b'`), img(`a?b`), true)
	f(sel(`Image: 'a\\*'`), img(`a\zzz`), true) // escaped backslash then wildcard
	f(sel(`Image: 'a\b'`), img(`a\b`), true)    // plain backslash
	f(sel(`Image: '?'`), img(`é`), true)        // ? is one character
	// contains, startswith, endswith, all.
	f(sel(`Image|contains: 'system32'`), img(`C:\Windows\System32\x.exe`), true)
	f(sel(`Image|startswith: 'C:\Win'`), img(`c:\windows\x`), true)
	f(sel(`Image|startswith: 'C:\Win'`), img(`D:\c:\win`), false)
	f(sel(`Image|endswith: ['.exe', '.dll']`), img(`x.DLL`), true)
	f(sel(`Image|contains|all: ['a', 'bc']`), img(`xxbcxa`), true)
	f(sel(`Image|contains|all: ['a', 'bc']`), img(`xxbxa`), false)
	// cased.
	f(sel(`Image|cased: 'CMD'`), img(`cmd`), false)
	f(sel(`Image|cased: 'CMD'`), img(`CMD`), true)
	f(sel(`Image|contains|cased: 'Md'`), img(`cMd`), true)
	// re with flags.
	f(sel(`Image|re: '^C:\\Win.*\.exe$'`), img(`C:\Windows\x.exe`), true)
	f(sel(`Image|re: '^c:\\win'`), img(`C:\Windows`), false)
	f(sel(`Image|re|i: '^c:\\win'`), img(`C:\Windows`), true)
	f(sel(`Image|re|m: '^b$'`), img("a\nb"), true)
	f(sel(`Image|re|s: 'a.b'`), img("a\nb"), true)
	f(sel(`Image|re: 'a.b'`), img("a\nb"), false)
	// windash.
	for _, cl := range []string{"net -user", "net /user", "net \u2013user", "net \u2014user", "net \u2015user"} {
		f(sel(`CommandLine|windash|contains: ' -user'`), fields("CommandLine", cl), true)
	}
	f(sel(`CommandLine|windash|contains: ' -user'`), fields("CommandLine", "net +user"), false)
	// cidr.
	f(sel(`DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10']`), fields("DestinationIp", "10.2.3.4"), true)
	f(sel(`DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10']`), fields("DestinationIp", "fe80::1"), true)
	f(sel(`DestinationIp|cidr: '10.0.0.0/8'`), fields("DestinationIp", "11.0.0.1"), false)
	f(sel(`DestinationIp|cidr: '10.0.0.0/8'`), fields("DestinationIp", "not-an-ip"), false)
	// base64 and base64offset (with contains), wide, utf16 variants.
	f(sel(`CommandLine|base64: 'hello'`), fields("CommandLine", "aGVsbG8="), true)
	for _, enc := range []string{"aGVsbG8", "hlbGxv", "oZWxsb"} {
		f(sel(`CommandLine|base64offset|contains: 'hello'`), fields("CommandLine", "xx"+enc+"yy"), true)
	}
	f(sel(`CommandLine|base64offset|contains: 'hello'`), fields("CommandLine", "aGVsbA"), false)
	f(sel(`CommandLine|wide|base64offset|contains: 'ping'`), fields("CommandLine", "-enc cABpAG4AZwA="), true)
	f(sel(`CommandLine|utf16le|base64: 'a'`), fields("CommandLine", "YQA="), true)
	f(sel(`CommandLine|utf16be|base64: 'a'`), fields("CommandLine", "AGE="), true)
	f(sel(`CommandLine|utf16|base64: 'a'`), fields("CommandLine", "//5hAA=="), true)
	// expand.
	f(sel(`User|expand: '%admins%'`), fields("User", "alice"), true)
	f(sel(`User|expand: '%admins%'`), fields("User", "bobby"), true)
	f(sel(`User|expand: '%admins%'`), fields("User", "carol"), false)
	f(sel(`User|expand: 'x%admins%'`), fields("User", "xalice"), true)
	// fieldref, with and without string modifiers.
	f(sel(`ParentUser|fieldref: User`), fields("User", "Bob", "ParentUser", "bob"), true)
	f(sel(`ParentUser|fieldref: User`), fields("User", "Bob", "ParentUser", "eve"), false)
	f(sel(`ParentUser|fieldref: User`), fields("ParentUser", "eve"), false)
	f(sel(`CommandLine|fieldref|contains: User`), fields("User", "bob", "CommandLine", "run as BOB now"), true)
	f(sel(`CommandLine|fieldref|startswith: User`), fields("User", "bob", "CommandLine", "run as bob"), false)
	f(sel(`CommandLine|fieldref|endswith: User`), fields("User", "bob", "CommandLine", "run as bob"), true)
	// exists.
	f(sel(`Image|exists: true`), img("x"), true)
	f(sel(`Image|exists: true`), fields("Other", "x"), false)
	f(sel(`Image|exists: false`), fields("Other", "x"), true)
	// neq.
	f(sel(`Image|neq: 'a'`), img("b"), true)
	f(sel(`Image|neq: 'a'`), img("A"), false)
	f(sel(`Image|neq: ['a', 'b']`), img("b"), false)
	// gt, gte, lt, lte.
	f(sel(`Port|gt: 1024`), fields("Port", "1025"), true)
	f(sel(`Port|gt: 1024`), fields("Port", "1024"), false)
	f(sel(`Port|gte: 1024`), fields("Port", "1024"), true)
	f(sel(`Port|lt: 10`), fields("Port", "9.5"), true)
	f(sel(`Port|lte: 10`), fields("Port", "0xa"), true)
	f(sel(`Port|lte: 10`), fields("Port", "ten"), false)
	// Time parts.
	f(sel(`UtcTime|hour: 3`), fields("UtcTime", "2024-05-01T03:04:05Z"), true)
	f(sel(`UtcTime|month: 5`), fields("UtcTime", "2024-05-01 03:04:05.123"), true)
	f(sel(`UtcTime|year: 2023`), fields("UtcTime", "2024-05-01T03:04:05Z"), false)
	// null and empty values.
	f(sel(`Image: null`), fields("Other", "x"), true)
	f(sel(`Image: null`), img(""), true)
	f(sel(`Image: null`), img("x"), false)
	f(sel(`Image: ''`), img(""), true)
	f(sel(`Image: ''`), img("x"), false)
	// Numbers and booleans compare as text.
	f(sel(`EventID: 4688`), fields("EventID", "4688"), true)
	f(sel(`EventID: [1, 4688]`), fields("EventID", "1"), true)
	f(sel(`Enabled: true`), fields("Enabled", "True"), true)
	// Field names with spaces match without them, in any case.
	f(sel(`Service File Name|contains: 'cmd'`), fields("ServiceFileName", "x cmd y"), true)
	f(sel(`image: 'x'`), img("x"), true)
	// Empty list matches nothing.
	f(sel(`Image: []`), img("x"), false)
}

func TestKeywordsAndConditions(t *testing.T) {
	f := func(detection string, ev *event.Event, want bool) {
		t.Helper()
		for _, nopf := range []bool{false, true} {
			e := compileOne(t, detection, Options{NoPrefilter: nopf})
			if got := matches(e, ev); got != want {
				t.Errorf("rule %q on %v (noprefilter=%v) = %v, want %v", detection, ev.Fields, nopf, got, want)
			}
		}
	}
	ev := fields("Image", `C:\x\mimikatz.exe`, "CommandLine", "sekurlsa::logonpasswords", "User", "bob")
	// Keywords: field-less, contains semantics, any field.
	f("  kw:\n    - 'SEKURLSA'\n    - 'other'\n  condition: kw\n", ev, true)
	f("  kw:\n    - 'nothing'\n  condition: kw\n", ev, false)
	f("  kw: 'mimikatz'\n  condition: kw\n", ev, true)
	f("  kw:\n    '|contains|all':\n      - 'mimi'\n      - 'logon'\n  condition: kw\n", ev, true)
	f("  kw:\n    '|re': '^sek.*ds$'\n  condition: kw\n", ev, true)
	// Lists of maps are ORed; maps are ANDed.
	f("  sel:\n    - Image|endswith: 'x.exe'\n    - User: bob\n  condition: sel\n", ev, true)
	f("  sel:\n    Image|endswith: 'x.exe'\n    User: bob\n  condition: sel\n", ev, false)
	// and, or, not, parentheses.
	base := "  a:\n    User: bob\n  b:\n    User: eve\n  c:\n    Image|endswith: 'mimikatz.exe'\n"
	f(base+"  condition: a and c\n", ev, true)
	f(base+"  condition: a and b\n", ev, false)
	f(base+"  condition: a and not b\n", ev, true)
	f(base+"  condition: not (a or b)\n", ev, false)
	f(base+"  condition: b or (a and c)\n", ev, true)
	f(base+"  condition: NOT b AND a\n", ev, true)
	f(base+"  condition: not not a\n", ev, true)
	// 1 of, all of, x of, them, and several conditions (ORed).
	sels := "  sel_a:\n    User: bob\n  sel_b:\n    User: eve\n  sel_c:\n    CommandLine|contains: logon\n  _hidden:\n    User: nobody\n"
	f(sels+"  condition: 1 of sel_*\n", ev, true)
	f(sels+"  condition: all of sel_*\n", ev, false)
	f(sels+"  condition: 2 of sel_*\n", ev, true)
	f(sels+"  condition: 3 of sel_*\n", ev, false)
	f(sels+"  condition: all of sel_a*\n", ev, true)
	f(sels+"  condition: 1 of them\n", ev, true)
	f(sels+"  condition: all of them\n", ev, false)          // sel_b does not match
	f(sels+"  condition: 1 of sel_a or _hidden\n", ev, true) // _hidden excluded from them, usable by name
	f(sels+"  condition:\n    - sel_b\n    - sel_c\n", ev, true)
	f(sels+"  condition: all of sel_c* and not 1 of sel_b\n", ev, true)
}

func TestConditionParse(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		x, err := ParseCondition(in)
		if err != nil {
			t.Fatalf("ParseCondition(%q): %v", in, err)
		}
		if got := x.String(); got != want {
			t.Errorf("ParseCondition(%q) = %q, want %q", in, got, want)
		}
		// Round trip.
		y, err := ParseCondition(x.String())
		if err != nil || y.String() != x.String() {
			t.Errorf("round trip of %q: %v, %v", x.String(), y, err)
		}
	}
	f("a", "a")
	f("a and b or c", "(a and b) or c")
	f("a and (b or c)", "a and (b or c)")
	f("not a and b", "not a and b")
	f("1 of sel_* and not all of filter_*", "1 of sel_* and not all of filter_*")
	f("all of them", "all of them")
	f("3 of x*", "3 of x*")
	bad := func(in, wantMsg string) {
		t.Helper()
		_, err := ParseCondition(in)
		if err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("ParseCondition(%q) error = %v, want %q", in, err, wantMsg)
		}
	}
	bad("a and", "unexpected end")
	bad("(a", "missing )")
	bad("a b", "unexpected \"b\"")
	bad("sel | count() > 5", "aggregation")
	bad("x of them", "positive number")
	bad(")", "unexpected )")
}

func TestSkipsAndErrors(t *testing.T) {
	f := func(detection, reason string) {
		t.Helper()
		text := "title: t\nlogsource:\n  product: test\ndetection:\n" + detection
		rules, err := ParseRule([]byte(text))
		if err != nil {
			t.Fatalf("ParseRule: %v", err)
		}
		_, issues, err := Compile(rules, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(issues) != 1 || issues[0].Reason != reason {
			t.Fatalf("Compile(%q) issues = %v, want one %s", detection, issues, reason)
		}
		if issues[0].Line == 0 {
			t.Errorf("issue %v has no line", issues[0])
		}
	}
	f("  sel:\n    User|expand: '%missing%'\n  condition: sel\n", ReasonPlaceholder)
	f("  sel:\n    User|re: '(?=x)'\n  condition: sel\n", ReasonRegex)
	f("  sel:\n    User|frobnicate: x\n  condition: sel\n", ReasonModifier)
	f("  sel:\n    User: x\n  condition: sel | count() > 5\n", ReasonAggregation)
	f("  sel:\n    User: x\n  condition: other\n", ReasonInvalid)
	f("  sel:\n    Port|gt: abc\n  condition: sel\n", ReasonInvalid)
}

func TestParseRuleErrorsPositioned(t *testing.T) {
	_, err := ParseRule([]byte("title: x\ndetection: [1, 2]\n---\ntitle: y\ndetection:\n  sel: {a: b}\n  condition: sel\nlogsource: 5\n"))
	var el ErrorList
	if err == nil {
		t.Fatal("no error")
	}
	if !asErrorList(err, &el) || len(el) < 2 {
		t.Fatalf("error %v: want an ErrorList of 2+", err)
	}
	if el[0].Line != 2 || el[0].Col != 12 {
		t.Errorf("first error at %d:%d, want 2:12 (%v)", el[0].Line, el[0].Col, el[0])
	}
	_, err = ParseRule([]byte("title: x\n  bad: : indent\n"))
	if err == nil || !strings.Contains(err.Error(), "yaml") {
		t.Errorf("bad YAML error = %v", err)
	}
}

func asErrorList(err error, el *ErrorList) bool {
	l, ok := err.(ErrorList)
	*el = l
	return ok
}

func TestMultiDocumentAndFilters(t *testing.T) {
	text := `action: global
title: base
logsource:
  product: test
detection:
  condition: sel
---
id: r1
detection:
  sel:
    User: bob
---
id: r2
detection:
  sel:
    User: eve
---
title: filter bob on host x
logsource:
  product: test
filter:
  rules:
    - r1
  selection:
    Host: x
  condition: not selection
`
	rules, err := ParseRule([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 3 {
		t.Fatalf("got %d rules, want 3", len(rules))
	}
	e, issues, err := Compile(rules, Options{Pipeline: testPipeline()})
	if err != nil || len(issues) > 0 {
		t.Fatalf("Compile: %v %v", err, issues)
	}
	got := func(ev *event.Event) string {
		var ids []string
		e.Match(ev, func(m Match) { ids = append(ids, m.Rule.ID) })
		return strings.Join(ids, ",")
	}
	if g := got(fields("User", "bob", "Host", "x")); g != "r1" {
		t.Errorf("bob on x: %q, want r1", g)
	}
	// The v2 filter excludes events where its condition holds ("not
	// selection" here: every host but x is excluded).
	if g := got(fields("User", "bob", "Host", "y")); g != "" {
		t.Errorf("bob on y: %q, want none", g)
	}
	if g := got(fields("User", "eve", "Host", "y")); g != "r2" {
		t.Errorf("eve: %q, want r2", g)
	}
}

func TestRoutingAndMapping(t *testing.T) {
	text := `title: proc
id: p1
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    Image|endswith: '\whoami.exe'
    ParentImage|endswith: '\cmd.exe'
  condition: sel
`
	rules, err := ParseRule([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := func(ev *event.Event, want bool) {
		t.Helper()
		if got := matches(e, ev); got != want {
			t.Errorf("Match(%v) = %v, want %v", ev.Fields, got, want)
		}
	}
	// Sysmon in evtx_dump JSON.
	f(fields("Event.System.Channel", "Microsoft-Windows-Sysmon/Operational", "Event.System.EventID", "1",
		"Event.EventData.Image", `C:\W\whoami.exe`, "Event.EventData.ParentImage", `C:\W\cmd.exe`), true)
	// Wrong event ID: routed away.
	f(fields("Event.System.Channel", "Microsoft-Windows-Sysmon/Operational", "Event.System.EventID", "11",
		"Event.EventData.Image", `C:\W\whoami.exe`, "Event.EventData.ParentImage", `C:\W\cmd.exe`), false)
	// Security 4688 with its own field names.
	f(fields("Event.System.Channel", "Security", "Event.System.EventID", "4688",
		"Event.EventData.NewProcessName", `C:\W\whoami.exe`, "Event.EventData.ParentProcessName", `C:\W\cmd.exe`), true)
	// Winlogbeat.
	f(fields("winlog.channel", "Microsoft-Windows-Sysmon/Operational", "winlog.event_id", "1",
		"winlog.event_data.Image", `C:\W\whoami.exe`, "winlog.event_data.ParentImage", `C:\W\cmd.exe`), true)
	// ECS names.
	f(fields("winlog.channel", "Microsoft-Windows-Sysmon/Operational", "event.code", "1",
		"process.executable", `C:\W\whoami.exe`, "process.parent.executable", `C:\W\cmd.exe`), true)
	// No channel: not a Windows event log record.
	f(fields("Image", `C:\W\whoami.exe`, "ParentImage", `C:\W\cmd.exe`), false)
}
