package parse

import (
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// Auto picks a parser per line from the line's first bytes, cheapest
// checks first: '{' JSON (Windows, CloudTrail and others by their
// members), '<' syslog (with CEF, LEEF, sshd, auditd... inside), "CEF:",
// "LEEF:", audit records, squid, BIND, access logs, yearless or RFC 3339
// syslog without PRI, key=value. A line of any other shape is plain text:
// Auto sets only the time (DetectTime) and returns nil. A line that looks
// like JSON or syslog but does not parse is an error.
var Auto Parser = NewAuto(Options{})

// NewAuto returns an automatic parser configured by opts.
func NewAuto(opts Options) Parser { return autoParser{opts: opts} }

type autoParser struct{ opts Options }

func (autoParser) Name() string { return "auto" }

func (a autoParser) Parse(line []byte, ev *event.Event) error {
	n0 := len(ev.Fields)
	s := trimEOL(rawString(line, ev))
	var err error
	if j := skipSpaces(s, 0); j < len(s) && s[j] == '{' {
		err = parseJSON(line, ev)
	} else {
		err = a.parseText(s, ev)
	}
	fillHost(ev, n0)
	return err
}

func (a autoParser) parseText(s string, ev *event.Event) error {
	if s == "" {
		return nil
	}
	n0 := len(ev.Fields)
	c := s[0]
	switch {
	case c == '<':
		return parseSyslog(s, ev, a.opts.syslog())
	case hasPrefix(s, "CEF:"):
		return parseCEFBody(s, ev)
	case hasPrefix(s, "LEEF:"):
		return parseLEEFBody(s, ev)
	case hasPrefix(s, "type=") || hasPrefix(s, "node="):
		if parseAudit(s, ev) == nil {
			return nil
		}
	case isDigit(c):
		if p := a.digitParser(s); p != nil && p(s, ev) == nil {
			return nil
		}
	case c >= 'A' && c <= 'S':
		if _, _, ok := syslogStamp(s, 0, a.opts.syslog()); ok && parseSyslog(s, ev, a.opts.syslog()) == nil {
			return nil
		}
	}
	ev.Fields = ev.Fields[:n0]
	if looksLikeAccess(s) && parseAccess(s, ev) == nil {
		return nil
	}
	ev.Fields = ev.Fields[:n0]
	if ns, ok := DetectTimeIn(s, a.opts.times()); ok {
		ev.Time = ns
	}
	if strings.Count(s, "=") >= 2 {
		scanKV(s, func(k, v string) { add(ev, k, v) }, nil)
		normalize(ev, n0, kvMap)
	}
	return nil
}

// digitParser picks a parser for a line that starts with a digit.
func (a autoParser) digitParser(s string) func(string, *event.Event) error {
	switch {
	case len(s) > 12 && s[2] == '-' && s[6] == '-' && s[3] >= 'A' && s[3] <= 'Z':
		to := a.opts.times()
		return func(s string, ev *event.Event) error { return parseBIND(s, ev, to) }
	case looksLikeSquid(s):
		return parseSquid
	case len(s) > 20 && s[4] == '-' && s[7] == '-':
		so := a.opts.syslog()
		return func(s string, ev *event.Event) error { return parseSyslog(s, ev, so) }
	case looksLikeAccess(s):
		return parseAccess
	}
	return nil
}

// looksLikeSquid: "1516547388.593  88790 10.20.3.27 TCP_TUNNEL/200 ...".
func looksLikeSquid(s string) bool {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < 9 || i > 10 || i+4 >= len(s) || s[i] != '.' {
		return false
	}
	return strings.Contains(s[:min(len(s), 120)], "/")
}

// looksLikeAccess: "host ident user [dd/Mon/yyyy:..." within the first bytes.
func looksLikeAccess(s string) bool {
	lb := strings.IndexByte(s[:min(len(s), 300)], '[')
	return lb > 4 && lb+27 < len(s) && s[lb+3] == '/' && s[lb+7] == '/' && s[lb+12] == ':' && strings.Contains(s[lb:], `] "`)
}
