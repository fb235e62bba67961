package query

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// FuzzParse checks that Parse never panics, that errors carry offsets
// inside the input and a message, and that what parses round-trips.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "*", "error", `"Failed password for invalid user" | count`, "user=zack.hill | count",
		"app=sshd outcome=failure | count by src_ip | sort by _count desc | limit 10",
		"_raw matches /Failed (root|admin) from 1[0-9]{2}\\./ | count", "| timeslice 1m | count by _timeslice",
		"| count by user | top 10 user by _count", "| count_distinct(src_ip)", "host=web-001.fra1.corp | limit 100",
		"a OR (b NOT c) | where x > 1 and y in (1, \"2\") | z = concat(a, if(b, 1, 2))",
		`| parse "a=* b=*" as a, b nodrop | json auto | kv | split _raw delim=':' extract 1 as u`,
		"| parse regex \"(?<ip>\\d+)\" | dedup 2 by ip | fields - _raw", "src_ip=10.0.0.0/8 x in (a,b) | head",
		"x | cuont", "(a", `"abc`, "a | where", "| y = -(1)", "NOT !a", "a | sort by x, +y, -z",
		`| join (a | parse "u=*" as u) as l, (parse "u=*" as u | count by u) as r on l.u = r.u timewindow 5m`,
		`x [subquery: y | parse "ip=*" as ip | compose ip keywords maxresults=5] | count`,
		`| transaction on s with states a, b in f results by flow`,
		`| transaction on s with "a*" as a, with "*b" as b results by transactions`,
		`| parse regex "(?<x>\d)" multi nodrop`, "[subquery: (a | compose x]", "| join ((a)) as x, [b] as y on",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			var list ErrorList
			var se *SyntaxError
			switch {
			case errors.As(err, &list):
				for _, e := range list {
					checkSyntaxError(t, s, e)
				}
			case errors.As(err, &se):
				checkSyntaxError(t, s, se)
			default:
				t.Fatalf("Parse(%q): error %T, want *SyntaxError or ErrorList", s, err)
			}
			return
		}
		text := q.String()
		q2, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but Parse of its String %q: %v", s, text, err)
		}
		if q2.String() != text {
			t.Fatalf("String not stable: %q -> %q -> %q", s, text, q2.String())
		}
	})
}

func checkSyntaxError(t *testing.T, s string, e *SyntaxError) {
	t.Helper()
	if e.Offset < 0 || e.Offset > len(s) {
		t.Fatalf("Parse(%q): offset %d outside the input", s, e.Offset)
	}
	if e.Msg == "" {
		t.Fatalf("Parse(%q): empty error message", s)
	}
}

// FuzzTextFinder checks the prepared finder against token.Match.
func FuzzTextFinder(f *testing.F) {
	f.Add("Failed password for invalid user", "invalid user")
	f.Add("from 203.0.113.77:22", "203.0.113.77")
	f.Add("failed", "fail")
	f.Add("xFAILx fail", "Fail")
	f.Add("", "a")
	f.Fuzz(func(t *testing.T, text, term string) {
		tf := newTextFinder(term)
		if got, want := tf.match(text), token.Match(text, term); got != want {
			t.Fatalf("textFinder(%q).match(%q) = %v, token.Match = %v", term, text, got, want)
		}
	})
}

// FuzzMatchEvent checks that any query compiles to a matcher that never
// panics on an event, and that a term query matches the event it came from.
func FuzzMatchEvent(f *testing.F) {
	f.Add("error", "an error here", "user", "bob")
	f.Add("user=bob", "x", "user", "bob")
	f.Add("src_ip=10.0.0.0/8", "x", "src_ip", "10.2.3.4")
	f.Fuzz(func(t *testing.T, query, raw, name, value string) {
		q, err := Parse(query)
		if err != nil {
			return
		}
		m, err := q.Matcher()
		if err != nil {
			return
		}
		e := event.Event{Raw: raw, Fields: []event.Field{{Name: name, Value: value}}}
		m.Match(&e)
	})
}

// FuzzParseIPv4 checks the fast IPv4 parser of CIDR matching agrees with
// net/netip on any input.
func FuzzParseIPv4(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "255.255.255.255", "01.2.3.4", "::ffff:1.2.3.4", "1.2.3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseIPv4(s)
		a, err := netip.ParseAddr(s)
		if want := err == nil && a.Is4(); ok != want {
			t.Fatalf("parseIPv4(%q) ok = %v, netip: %v", s, ok, err)
		}
		if ok {
			b := a.As4()
			if w := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]); got != w {
				t.Fatalf("parseIPv4(%q) = %x, want %x", s, got, w)
			}
		}
	})
}
