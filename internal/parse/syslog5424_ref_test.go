package parse

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// syslog5424Ref is syslog5424 as it was before session 7 (frozen, test
// only): every header token cut by spaceToken first, the TIMESTAMP token
// then read by parseISO. TestSyslog5424HeaderDiff and
// FuzzSyslog5424HeaderDiff keep syslog5424 (which reads the TIMESTAMP in
// place) equal to it.
func syslog5424Ref(s string, i int, ev *event.Event, opts SyslogOptions, ecs *header5424) (string, error) {
	var parts [6]string
	for k := range parts {
		tok, j := spaceToken(s, i)
		if tok == "" {
			return "", errAt("syslog", i, "truncated RFC 5424 header")
		}
		parts[k] = tok
		i = j
		if i < len(s) {
			i++ // the single SP
		} else if k < len(parts)-1 {
			return "", errAt("syslog", i, "truncated RFC 5424 header")
		}
	}
	add(ev, fSyslogVersion, parts[0])
	if ts := parts[1]; ts != "-" {
		ns, n, ok := parseISO(ts, 0, opts.timeOptions())
		if !ok || n != len(ts) {
			return "", errAt("syslog", i, "bad RFC 5424 timestamp")
		}
		ev.Time = ns
	}
	// Written out: a loop over the four names costs more than the adds.
	if parts[2] != "-" {
		add(ev, fSyslogHostname, parts[2])
	}
	if parts[3] != "-" {
		add(ev, fSyslogAppname, parts[3])
	}
	if parts[4] != "-" {
		add(ev, fSyslogProcid, parts[4])
	}
	if parts[5] != "-" {
		add(ev, fSyslogMsgid, parts[5])
	}
	if ecs != nil {
		ecs.ok, ecs.host, ecs.app, ecs.id = true, parts[2], parts[3], parts[4]
	}
	if i >= len(s) {
		return "", nil // header without SD: tolerated
	}
	if s[i] == '-' {
		i++
	} else if s[i] == '[' {
		j, err := structuredData(s, i, ev)
		if err != nil {
			return "", err
		}
		i = j
	} else {
		return "", errAt("syslog", i, "bad structured data")
	}
	msg := trimMsg(s, i)
	// A UTF-8 BOM marks the message as Unicode; it is not content.
	if len(msg) >= 3 && msg[0] == 0xEF && msg[1] == 0xBB && msg[2] == 0xBF {
		msg = msg[3:]
	}
	return msg, nil
}

// checkSyslog5424Header compares syslog5424 with syslog5424Ref on s (a
// line after its "<PRI>"), in UTC and in a zone with rules.
func checkSyslog5424Header(t *testing.T, s string) {
	t.Helper()
	tokyo := time.FixedZone("JST", 9*3600)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = tokyo
	}
	for _, loc := range []*time.Location{nil, ny} {
		opts := SyslogOptions{Location: loc}
		var got, want event.Event
		var gecs, wecs header5424
		gmsg, gerr := syslog5424(s, 0, &got, opts, &gecs)
		wmsg, werr := syslog5424Ref(s, 0, &want, opts, &wecs)
		if gmsg != wmsg || fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) || gecs != wecs {
			t.Fatalf("syslog5424(%q) in %v = %q %v %+v %+v, want %q %v %+v %+v", s, loc, gmsg, gerr, got, gecs, wmsg, werr, want, wecs)
		}
	}
}

var syslog5424HeaderLines = []string{
	"",
	"1",
	"1 ",
	"1 -",
	"1 - - - - - msg",
	"1 2018-01-22T02:15:30.123165+09:00 bastion02 systemd 1 - - logrotate.service: Succeeded.",
	"1 2018-01-22T02:15:30.123165+09:00",
	"1 2018-01-22T02:15:30.123165+09:00 ",
	"1 2018-01-22T02:15:30.123165+09:00 h",
	"1 2018-01-22T02:15:30.123165+09:00 h a p m",
	"1 2018-01-22T02:15:30.123165+09:00 h a p m -",
	"1 2018-01-22T02:15:30.123165+09:00  h a p m - x",
	"1 2018-01-22 02:15:30Z h a p m - x",
	"1 2018-01-22T02:15:30Zx h a p m - x",
	"1 2018-01-22T02:15:30+09 h a p m - x",
	"1 2018-01-22T02:15:30+0900 h a p m - x",
	"1 2018-01-22T02:15:30-05:30 h a p m - x",
	"1 2018-01-22T02:15:30.1234567891234Z h a p m - x",
	"1 2018-01-22T02:15:30,5z h a p m - x",
	"1 2018-01-22T02:15:30.Z h a p m - x",
	"1 2018-01-22T02:15:30 h a p m - x",
	"1 2018-02-30T02:15:30Z h a p m - x",
	"1 2018-01-22T24:15:30Z h a p m - x",
	"1 2018-03-11T02:30:00 h a p m - x",
	"1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] msg",
	"1 2003-10-11T22:14:15.003Z h a p m [bad",
	"1 2003-10-11T22:14:15.003Z h a p m \xef\xbb\xbfbom",
}

func TestSyslog5424HeaderDiff(t *testing.T) {
	for _, s := range syslog5424HeaderLines {
		checkSyslog5424Header(t, s)
	}
}

func FuzzSyslog5424HeaderDiff(f *testing.F) {
	for _, s := range syslog5424HeaderLines {
		f.Add(s)
	}
	f.Fuzz(checkSyslog5424Header)
}
