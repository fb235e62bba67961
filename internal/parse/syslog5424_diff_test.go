package parse

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// checkISO compares parseISO with refParseISO (timestamp_test.go; no
// isoDayCache) on s at i, twice (a cache
// miss, then a hit) in UTC and in Asia/Tokyo (zoneless times take
// time.Date), after a read of other that leaves another date cached. It
// reports whether s was accepted.
func checkISO(t *testing.T, s string, i int, other string) bool {
	t.Helper()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		tokyo = time.FixedZone("JST", 9*3600) // no tzdata: still not UTC
	}
	accepted := false
	for _, opts := range []TimeOptions{{}, {Location: tokyo}} {
		parseISO(other, 0, opts)
		want, wn, wok := refParseISO(s, i, opts)
		for range 2 {
			got, n, ok := parseISO(s, i, opts)
			if got != want || n != wn || ok != wok {
				t.Fatalf("parseISO(%q, %d, %v) = %d %d %v, want %d %d %v", s, i, opts.Location, got, n, ok, want, wn, wok)
			}
		}
		accepted = accepted || wok
	}
	return accepted
}

func TestParseISODiff(t *testing.T) {
	accepted := 0
	rng := rand.New(rand.NewPCG(5, 24))
	dates := []string{"2018-01-22", "2024-02-29", "2023-02-29", "2025-12-31", "2000-03-01", "1900-02-28",
		"0000-01-01", "9999-12-31", "2024-00-10", "2024-13-01", "2024-01-00", "2024-01-32", "2024-1-010",
		"20x4-01-01", "2024/01/01", "2024-01-01", "2024-04-31"}
	seps := []string{"T", " ", "t", "_"}
	tails := []string{"", "Z", "z", ".123165+09:00", ",5Z", ".1234567891234-0700", "+0530", "-23:59",
		"+24:00", "+09:6", "+9", ".", ".x", " host", "Zx", "-00:00 h"}
	// Fractions of 1 to 12 digits before each zone form and the end.
	for n := 1; n <= 12; n++ {
		for _, z := range []string{"", "Z", "+09:00", "-0800", " host", "x", ".5"} {
			tails = append(tails, "."+"987654321098"[:n]+z, ","+"000000000001"[:n]+z)
		}
	}
	other := "1999-09-09T09:09:09Z"
	for _, d := range dates {
		for _, sep := range seps {
			for _, tail := range tails {
				hh, mm, ss := rng.IntN(26), rng.IntN(62), rng.IntN(63)
				s := fmt.Sprintf("%s%s%02d:%02d:%02d%s", d, sep, hh, mm, ss, tail)
				if checkISO(t, s, 0, other) {
					accepted++
				}
				if checkISO(t, "<1> "+s, 4, s) {
					accepted++
				}
			}
		}
	}
	// Every one-byte change of common stamps, each after its base (so the
	// base's date is cached) and after another date.
	bytes := []byte{0, ' ', '-', '0', '1', '2', '3', '5', '6', '9', ':', '.', 'T', 'Z', '+', 'x', 0xff}
	for _, base := range []string{"2018-01-22T02:15:30.123165+09:00", "2024-02-29 23:59:60Z", "2025-12-31T00:00:00-0800 x"} {
		for i := range len(base) {
			for _, c := range bytes {
				b := []byte(base)
				b[i] = c
				if checkISO(t, string(b), 0, base) {
					accepted++
				}
				checkISO(t, string(b), 0, other)
			}
		}
		for n := range len(base) {
			checkISO(t, base[:n], 0, base)
		}
	}
	if accepted < 1000 {
		t.Fatalf("parseISO accepted only %d stamps", accepted)
	}
}

// FuzzParseISODiff compares parseISO with refParseISO.
func FuzzParseISODiff(f *testing.F) {
	for _, s := range []string{"2018-01-22T02:15:30.123165+09:00", "2024-02-29 23:59:60Z", "2025-12-31T00:00:00-0800 x", "2024-13-01T00:00:00"} {
		f.Add(s, "2018-01-22T02:16:30Z")
	}
	f.Fuzz(func(t *testing.T, s, other string) {
		checkISO(t, s, 0, other)
	})
}

// refParseSyslog is parseSyslog before header5424: the ECS names found by
// normalizeSyslog's scan of the fields.
func refParseSyslog(s string, ev *event.Event, opts SyslogOptions) error {
	n0 := len(ev.Fields)
	msg, err := syslogHeader(s, ev, opts, 0, nil)
	if err != nil {
		ev.Fields = ev.Fields[:n0]
		return err
	}
	add(ev, fMessage, msg)
	if h := normalizeSyslog(ev, n0); h != "" && ev.Host == "" {
		ev.Host = h
	}
	if !opts.SkipMessage && msg != "" {
		parseSyslogMessage(msg, ev, n0, "", false)
	}
	return nil
}

// checkSyslogDiff compares parseSyslog with refParseSyslog on s, into an
// empty event and into events that already hold some of the ECS names.
func checkSyslogDiff(t *testing.T, s string) {
	t.Helper()
	pres := [][]event.Field{nil,
		{{Name: "host.name", Value: "pre"}},
		{{Name: "a", Value: "b"}, {Name: "process.pid", Value: "1"}, {Name: "log.level", Value: "x"}},
		{{Name: "process.name", Value: "p"}, {Name: "syslog.hostname", Value: "h0"}}}
	for _, pre := range pres {
		for _, host := range []string{"", "evhost"} {
			got := event.Event{Host: host, Fields: slices.Clone(pre)}
			want := event.Event{Host: host, Fields: slices.Clone(pre)}
			gerr := parseSyslog(s, &got, SyslogOptions{})
			werr := refParseSyslog(s, &want, SyslogOptions{})
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("parseSyslog(%q) after %v = %v %+v, want %v %+v", s, pre, gerr, got, werr, want)
			}
		}
	}
}

func TestSyslog5424Diff(t *testing.T) {
	pris := []string{"<30>", "<0>", "<191>", "<86>", ""}
	hosts := []string{"bastion02", "-", "10.0.0.1"}
	apps := []string{"sshd", "-", "systemd", "CEF:x", "sudo", "kernel"}
	ids := []string{"2231", "-", "abc", "0", "-5", "99999999999999999999"}
	msgids := []string{"-", "ID47"}
	rests := []string{"- msg", "-", "", "[a b=\"c\"] m", "[a b=\"c\"][d e=\"f\\\"\"]", "[bad", "x m",
		"- Received disconnect from 10.20.16.44 port 51234:11: disconnected by user", "- \xef\xbb\xbfbom",
		"- alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/cat", "- [UFW BLOCK] IN=eth0 SRC=10.99.0.13 DST=10.40.0.11", "- type=EXECVE msg=audit(1516547213.981:2): argc=2"}
	for _, pri := range pris {
		for _, h := range hosts {
			for _, a := range apps {
				for _, id := range ids {
					for _, m := range msgids {
						for _, r := range rests {
							checkSyslogDiff(t, pri+"1 2018-01-22T02:15:30.123165+09:00 "+h+" "+a+" "+id+" "+m+" "+r)
						}
					}
				}
			}
		}
	}
	for _, s := range []string{
		"<30>1 - h a 1 - -", "<30>1 2018-01-22T02:15:30Z h a 1", "<30>1 2018-01-22T02:15:30Z h a", "<30>1 bad h a 1 - - m",
		"<30>12 2018-01-22T02:15:30Z h a 1 - - m", "<13>Jan 22 00:00:01 relay1 <30>1 2018-01-22T02:15:30Z h a 1 - - m",
		"<13>2018-01-22T00:02:11.5Z h app[9]: z", "<30>Jan 22 00:05:32 api-07 systemd[1]: Starting",
		"<13>Jan 22 00:00:01 relay1 <30>Jan 22 00:00:00 origin app: m", "<30>1  h a 1 - - m",
	} {
		checkSyslogDiff(t, s)
	}
}

// FuzzSyslog5424Diff compares parseSyslog with refParseSyslog.
func FuzzSyslog5424Diff(f *testing.F) {
	for _, s := range []string{
		"<86>1 2018-01-22T02:16:30.123165+09:00 bastion02 sshd 2231 - - Received disconnect",
		`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] msg`,
		"<13>Jan 22 00:00:01 relay1 <30>1 2018-01-22T02:15:30Z h a 1 - - m",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSyslogDiff(t, s)
	})
}
