package parse

import (
	"sort"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

func TestParseLine(t *testing.T) {
	p, _ := Lookup("syslog")
	ev := event.Event{Fields: []event.Field{{Name: "keep", Value: "1"}}}
	err := ParseLine(p, []byte("<999>bad"), &ev)
	if err == nil {
		t.Fatal("ParseLine(<999>bad) succeeded")
	}
	if ev.Raw != "<999>bad" || len(ev.Fields) != 2 || ev.Fields[0].Name != "keep" || ev.Fields[1].Name != event.FieldParseError ||
		!strings.Contains(ev.Fields[1].Value, "bad priority") {
		t.Errorf("ParseLine left %+v", ev)
	}
	// The next line goes through normally.
	var ok event.Event
	if err := ParseLine(p, []byte("<13>Jan 22 00:00:00 h a: m"), &ok); err != nil {
		t.Fatal(err)
	}
	if _, bad := ok.Get(event.FieldParseError); bad {
		t.Error("good line has a parse error")
	}
}

func TestRegistry(t *testing.T) {
	names := Names()
	want := []string{"access", "auditd", "auto", "bind", "cef", "cloudtrail", "json", "kv", "leef", "logfmt", "squid", "syslog", "windows"}
	got := append([]string(nil), names...)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for _, n := range names {
		p, ok := Lookup(n)
		if !ok || p.Name() != n {
			t.Errorf("Lookup(%q) = %v, %v", n, p, ok)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) succeeded")
	}
	e := &Error{Format: "x", Offset: 3, Msg: "boom"}
	if e.Error() != "parse x: offset 3: boom" {
		t.Errorf("Error() = %q", e.Error())
	}
}

func TestTrailingEOL(t *testing.T) {
	for _, name := range []string{"syslog", "auto"} {
		ev := parseOK(t, name, "<13>Jan 22 00:00:00 h app: msg\r\n", "message=msg")
		if ev.Raw != "<13>Jan 22 00:00:00 h app: msg\r\n" {
			t.Errorf("%s: Raw = %q", name, ev.Raw)
		}
	}
	parseOK(t, "auto", "  {\"a\":\"b\"}\r\n", "a=b")
}

// TestBadBesideGood: bad lines in a stream get _parse_error and keep their
// bytes; the good lines around them parse fully.
func TestBadBesideGood(t *testing.T) {
	lines := []struct {
		in   string
		bad  bool
		want string
	}{
		{"<13>Jan 22 00:00:00 h sshd[1]: Failed password for bob from 10.0.0.9 port 22 ssh2", false, "source.ip"},
		{`{"truncated": "json`, true, ""},
		{"CEF:0|V|P|1|1|n|3|src=1.1.1.1", false, "source.ip"},
		{"<1000>\x00\xff", true, ""},
		{"1516547388.593  88790 10.20.3.27 TCP_TUNNEL/200 132275 CONNECT a.b:443 - HIER_DIRECT/23.52.51.75 -", false, "url.domain"},
		{"<13>1 2018-01-22T02:15:30Z host app - - [bad sd", true, ""},
		{winlogbeat4624, false, "user.name"},
	}
	for _, l := range lines {
		var ev event.Event
		err := ParseLine(Auto, []byte(l.in), &ev)
		perr, hasErr := ev.Get(event.FieldParseError)
		switch {
		case l.bad && (err == nil || !hasErr || perr == "" || ev.Raw != l.in):
			t.Errorf("bad line %q: err %v, _parse_error %q, Raw %q", l.in, err, perr, ev.Raw)
		case !l.bad && (err != nil || hasErr):
			t.Errorf("good line %q: %v", l.in, err)
		case !l.bad:
			if _, ok := ev.Get(l.want); !ok {
				t.Errorf("good line %q lacks %s", l.in, l.want)
			}
		}
	}
}

// TestHostileLines runs every parser over long pathological lines. Each
// must finish quickly (a quadratic path would take minutes at this size
// and trip the test timeout) and keep the parser invariants.
func TestHostileLines(t *testing.T) {
	const n = 200000
	units := []string{"a=", "<13>", " ", "[", `"`, "msg='", "CEF:0|", "|", `\`, "=", "x=1 ", "src=1.1.1.1 ",
		"Jan 22 00:00:00 h ", "pam_unix(", " port ", "a0=41 ", "%{", "(", "{\"a\":", "[{", "\t"}
	for _, u := range units {
		line := []byte(strings.Repeat(u, n/len(u)))
		for _, name := range Names() {
			p, _ := Lookup(name)
			checkParse(t, p, line)
		}
	}
}
