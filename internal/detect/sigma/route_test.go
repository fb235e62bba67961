package sigma

import (
	"sort"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/parse"
)

// routeRules are rules whose detection would fire on every sample below
// (keywords or fields they all share): only log-source routing keeps them
// on their own events.
const routeRules = `title: zeek dns
id: zeek-dns
logsource: {product: zeek, service: dns}
detection:
  kw: ['evil.example']
  condition: kw
---
title: zeek http
id: zeek-http
logsource: {product: zeek, service: http}
detection:
  kw: ['evil.example']
  condition: kw
---
title: cisco aaa
id: cisco-aaa
logsource: {product: cisco, service: aaa}
detection:
  kw: ['running-config']
  condition: kw
---
title: fortigate
id: fortigate
logsource: {product: fortigate, service: event}
detection:
  kw: ['evil.example']
  condition: kw
---
title: linux keyword
id: linux-kw
logsource: {product: linux}
detection:
  kw: ['evil.example']
  condition: kw
---
title: linux sshd
id: linux-sshd
logsource: {product: linux, service: sshd}
detection:
  kw: ['evil.example']
  condition: kw
---
title: dns query
id: dns
logsource: {category: dns}
detection:
  sel: {query|endswith: 'evil.example'}
  condition: sel
---
title: web attack
id: web
logsource: {category: webserver}
detection:
  sel: {cs-uri-query|contains: 'evil.example'}
  condition: sel
---
title: proxy
id: proxy
logsource: {category: proxy}
detection:
  sel: {c-uri|contains: 'evil.example'}
  condition: sel
---
title: firewall
id: firewall
logsource: {category: firewall}
detection:
  sel: {dst_port: 4444}
  condition: sel
---
title: jvm
id: jvm
logsource: {category: application, product: jvm}
detection:
  kw: ['evil.example']
  condition: kw
---
title: aws
id: aws
logsource: {product: aws, service: cloudtrail}
detection:
  kw: ['evil.example']
  condition: kw
`

// TestRouteNonWindows checks that rules of non-Windows products and
// categories fire only on events of their own source shape: parsed syslog,
// BIND, squid, access-log, CEF and JSON documents that all contain the
// rules' literals.
func TestRouteNonWindows(t *testing.T) {
	rules, err := ParseRule([]byte(routeRules))
	if err != nil {
		t.Fatal(err)
	}
	e, issues, err := Compile(rules, Options{})
	if err != nil || len(issues) > 0 {
		t.Fatalf("Compile: %v %v", err, issues)
	}
	f := func(format, line, source, want string) {
		t.Helper()
		ev := &event.Event{Source: source}
		if format == "fields" {
			ev = fields(strings.Split(line, "\x00")...)
			ev.Source = source
		} else {
			p, ok := parse.New(format, parse.Options{})
			if !ok {
				t.Fatalf("no parser %s", format)
			}
			if err := p.Parse([]byte(line), ev); err != nil {
				t.Fatalf("parse %s %q: %v", format, line, err)
			}
		}
		var got []string
		e.Match(ev, func(m Match) { got = append(got, m.Rule.ID) })
		sort.Strings(got)
		if g := strings.Join(got, ","); g != want {
			t.Errorf("%s %q: rules %q, want %q", format, line, g, want)
		}
	}
	// Linux syslog: the linux rules, nothing else.
	f("syslog", `<38>Jan 26 00:02:11 web-01 sshd[811]: Failed password for root from 203.0.113.7 port 4444 ssh2 evil.example running-config`, "", "linux-kw,linux-sshd")
	f("syslog", `<38>Jan 26 00:02:11 web-01 cron[81]: (root) CMD (curl evil.example)`, "", "linux-kw")
	// BIND: only the dns category rule (its query is the question).
	f("bind", `26-Jan-2018 00:02:11.123 queries: info: client @0x7f3a 10.20.1.26#50123 (evil.example): query: evil.example IN A + (10.20.0.53)`, "", "dns")
	// Squid: only the proxy rule.
	f("squid", `1516924931.123    211 10.20.1.26 TCP_MISS/200 5120 GET http://evil.example/x?y=evil.example - HIER_DIRECT/203.0.113.7 text/html`, "", "proxy")
	// Apache: only the web server rule.
	f("access", `203.0.113.7 - - [26/Jan/2018:00:02:11 +0900] "GET /x?q=evil.example HTTP/1.1" 200 512 "-" "curl/8"`, "", "web")
	// CEF firewall inside syslog: only the firewall rule.
	f("syslog", `<14>Jan 26 00:02:11 FW CEF:0|Acme|NGFW|1.0|end|TRAFFIC|3|rt=1516924931000 src=10.20.1.26 dst=203.0.113.7 spt=50123 dpt=4444 proto=TCP act=allow request=http://evil.example/`, "", "firewall")
	// Cisco IOS syslog: the cisco rule, not the linux ones.
	f("syslog", `<189>Jan 26 00:02:11 core-sw1 123: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin logged command:show running-config`, "", "cisco-aaa")
	// Zeek JSON logs, by shape and by _path (a Zeek DNS log is also DNS).
	f("json", `{"ts":1516924931.1,"uid":"C1x","id.orig_h":"10.20.1.26","id.orig_p":5353,"id.resp_h":"10.20.0.53","id.resp_p":53,"proto":"udp","query":"evil.example","qtype_name":"A","rcode":0}`, "", "dns,zeek-dns")
	f("json", `{"_path":"http","ts":1516924931.1,"uid":"C2x","id.orig_h":"10.20.1.26","method":"GET","host":"evil.example","uri":"/"}`, "", "zeek-http")
	// FortiGate key=value logs.
	f("kv", `date=2018-01-26 time=00:02:11 devname=fw1 devid=FG100E1234 logid=0100032001 type=event subtype=system msg="evil.example"`, "", "fortigate")
	// CloudTrail.
	f("json", `{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{"bucketName":"evil.example"}}`, "", "aws")
	// An unknown product applies only to events that name it.
	f("fields", "message\x00java error evil.example", "jvm", "jvm")
	f("fields", "message\x00java error evil.example", "", "")
	// Windows events: none of these rules.
	f("fields", "Channel\x00Security\x00EventID\x004624\x00TargetUserName\x00evil.example\x00query\x00evil.example", "", "")
}
