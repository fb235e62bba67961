package parse

import (
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

func TestGrok(t *testing.T) {
	f := func(patterns []string, extra map[string]string, in string, want ...string) {
		t.Helper()
		p, err := NewGrok("test", patterns, GrokOptions{Patterns: extra})
		if err != nil {
			t.Fatalf("NewGrok(%q): %v", patterns, err)
		}
		var ev event.Event
		if err := p.Parse([]byte(in), &ev); err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		wantFields(t, in, &ev, want...)
	}
	f([]string{`%{IP:source.ip}:%{POSINT:source.port} %{WORD:event.action} %{GREEDYDATA:message}`}, nil,
		"10.0.0.1:5555 login hello world", "source.ip=10.0.0.1", "source.port=5555", "event.action=login", "message=hello world")
	f([]string{`^nomatch %{WORD:a}`, `^%{WORD:b} (?P<c>\d+) (x|y) %{NUMBER:d:int}`}, nil, "abc 12 y 3.5", "b=abc", "c=12", "d=3.5")
	f([]string{`%{MYID:id} %{IPV6:ip}`}, map[string]string{"MYID": `ID-%{INT}`}, "ID-42 fe80::1", "id=ID-42", "ip=fe80::1")
	f([]string{`%{COMBINEDAPACHELOG}`}, nil, `1.2.3.4 - bob [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://x/" "Mozilla"`,
		"source.address=1.2.3.4", "user.name=bob", "http.request.method=GET", "url.original=/a.gif", "http.response.status_code=200",
		"_time=2000-10-10T20:55:36Z")
	f([]string{`%{TIMESTAMP_ISO8601:timestamp} %{LOGLEVEL:log.level} %{SYSLOGPROG}: %{GREEDYDATA:message}`}, nil,
		"2024-05-01T10:00:00Z WARN app[12]: boom", "log.level=WARN", "process.name=app", "process.pid=12", "_time=2024-05-01T10:00:00Z")
}

func TestGrokErrors(t *testing.T) {
	_, err := NewGrok("bad", []string{`%{NOPE:x}`, `%{IP:a} (`, `%{LOOP}`}, GrokOptions{Patterns: map[string]string{"LOOP": `%{LOOP}`}})
	if err == nil {
		t.Fatal("NewGrok with bad patterns succeeded")
	}
	for _, want := range []string{"pattern 1", "unknown pattern %{NOPE}", "pattern 2", "pattern 3", "too deep"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NewGrok error %q lacks %q", err, want)
		}
	}
	p, err := NewGrok("g", []string{`^%{INT:n}$`}, GrokOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ev event.Event
	if err := p.Parse([]byte("abc"), &ev); err == nil || len(ev.Fields) != 0 || ev.Raw != "abc" {
		t.Errorf("Parse(abc) = %v, fields %v, raw %q; want error, no fields", err, ev.Fields, ev.Raw)
	}
}

func TestGrokGroupsInClasses(t *testing.T) {
	p, err := NewGrok("g", []string{`[(]%{INT:n}[)] (a)(?P<named>b) \(%{WORD:w}\)`}, GrokOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ev event.Event
	if err := p.Parse([]byte("(42) ab (x)"), &ev); err != nil {
		t.Fatal(err)
	}
	wantFields(t, "(42) ab (x)", &ev, "n=42", "named=b", "w=x")
}
