package parse

import (
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// BIND 9 logs with print-time (and optionally print-category and
// print-severity):
//
//	26-Jan-2018 00:02:11.123 queries: info: client @0x7f.. 10.20.1.26#50123 (name): query: name IN A +E(0) (10.0.0.53)
//
// Every line gives bind.category (when printed), log.level and message; a
// query line adds source.ip, source.port, dns.question.name,
// dns.question.class, dns.question.type, bind.flags, destination.ip and
// bind.view. The time is local (Options.Location).

// parseBIND is the "bind" parser.
func parseBIND(s string, ev *event.Event, opts TimeOptions) error {
	ns, i, ok := bindTime(s, opts)
	if !ok {
		return errAt("bind", 0, "want DD-Mon-YYYY hh:mm:ss.mmm")
	}
	ev.Time = ns
	i = skipSpaces(s, i)
	// Optional "category: " and "severity: " prefixes.
	for k := 0; k < 2; k++ {
		tok, j := nextToken(s, i)
		if len(tok) < 2 || tok[len(tok)-1] != ':' || !isBindWord(tok[:len(tok)-1]) {
			break
		}
		w := tok[:len(tok)-1]
		if isSeverity(w) {
			add(ev, "log.level", w)
		} else {
			add(ev, "bind.category", w)
		}
		i = skipSpaces(s, j)
	}
	msg := s[i:]
	add(ev, "message", msg)
	if strings.HasPrefix(msg, "client ") {
		bindClient(msg[len("client "):], ev)
	}
	return nil
}

func isBindWord(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !(c >= 'a' && c <= 'z') && c != '-' && c != '_' && !isDigit(c) {
			return false
		}
	}
	return true
}

func isSeverity(w string) bool {
	switch w {
	case "critical", "error", "warning", "notice", "info", "debug", "dynamic":
		return true
	}
	return strings.HasPrefix(w, "debug")
}

// bindTime reads "26-Jan-2018 00:02:11.123".
func bindTime(s string, opts TimeOptions) (int64, int, bool) {
	if len(s) < 20 || s[2] != '-' || s[6] != '-' || s[11] != ' ' || s[14] != ':' || s[17] != ':' {
		return 0, 0, false
	}
	day, ok1 := num(s, 0, 2)
	month, ok2 := parseMonth(s, 3)
	year, ok3 := num(s, 7, 4)
	hh, ok4 := num(s, 12, 2)
	mm, ok5 := num(s, 15, 2)
	ss, ok6 := num(s, 18, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return 0, 0, false
	}
	i := 20
	nsec := 0
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		nsec, i = fraction(s, i+1)
	}
	t := time.Date(year, month, day, hh, mm, ss, nsec, opts.loc())
	return t.UnixNano(), i, true
}

// bindClient reads "@0x7f.. 10.20.1.26#50123 (name): [view v: ]query: name
// IN A +E(0)K (10.0.0.53)".
func bindClient(s string, ev *event.Event) {
	if strings.HasPrefix(s, "@") {
		_, s = cutWord(s)
	}
	addr, rest := cutWord(s)
	ip, port, _ := strings.Cut(addr, "#")
	port = strings.TrimSuffix(port, ":")
	if isIP(ip) {
		add(ev, "source.ip", ip)
		if _, ok := atoi(port); ok {
			add(ev, "source.port", port)
		}
	}
	if strings.HasPrefix(rest, "(") {
		if j := strings.Index(rest, "): "); j > 0 {
			rest = rest[j+3:]
		}
	}
	if strings.HasPrefix(rest, "view ") {
		if j := strings.Index(rest, ": "); j > 0 {
			add(ev, "bind.view", rest[5:j])
			rest = rest[j+2:]
		}
	}
	if !strings.HasPrefix(rest, "query: ") {
		return
	}
	var f [5]string
	n := splitFields(rest[len("query: "):], f[:])
	if n < 3 {
		return
	}
	add(ev, "dns.question.name", f[0])
	add(ev, "dns.question.class", f[1])
	add(ev, "dns.question.type", f[2])
	add(ev, "event.action", "dns-query")
	if n > 3 {
		flags := f[3]
		if strings.HasPrefix(flags, "(") {
			flags, f[4] = "", flags
		}
		add(ev, "bind.flags", flags)
	}
	if n > 4 {
		srv := strings.TrimSuffix(strings.TrimPrefix(f[4], "("), ")")
		if isIP(srv) {
			add(ev, "destination.ip", srv)
		}
	}
}
