package parse

import (
	"math/bits"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// SyslogOptions gives the context a syslog line lacks. The zero value reads
// zoneless timestamps in UTC, infers missing years from the wall clock and
// parses the message content.
type SyslogOptions struct {
	// Location is the zone of timestamps without one (RFC 3164); nil means UTC.
	Location *time.Location
	// Now is the reference for year inference of RFC 3164 timestamps; nil
	// means the wall clock (read at most every 100 ms). A yearless time is put in the latest year that does
	// not make it more than a day in the future.
	Now func() time.Time
	// SkipMessage turns off parsing of the message content (sshd, sudo,
	// pam, auditd, CEF, LEEF, netfilter, key=value).
	SkipMessage bool
}

func (o SyslogOptions) timeOptions() TimeOptions {
	return TimeOptions{Location: o.Location, Now: o.Now}
}

var facilityNames = [...]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

var severityNames = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// Syslog field names (originals; ECS names are added by normalization).
const (
	fSyslogPriority = "syslog.priority"
	fSyslogFacility = "syslog.facility"
	fSyslogSeverity = "syslog.severity"
	fSyslogVersion  = "syslog.version"
	fSyslogHostname = "syslog.hostname"
	fSyslogAppname  = "syslog.appname"
	fSyslogProcid   = "syslog.procid"
	fSyslogMsgid    = "syslog.msgid"
	fSyslogRelay    = "syslog.relay"
	fMessage        = "message"
)

// maxTagLen bounds an RFC 3164 TAG (the RFC says 32; real programs use more).
const maxTagLen = 64

// ParseSyslog parses an RFC 5424 or RFC 3164 syslog line (with the common
// 3164 variants: RFC 3339 timestamps, a year or fraction in the timestamp,
// no hostname, no PRI, a second header added by a relay) into ev. The
// message content is then parsed when its program or shape is known (see
// SyslogOptions.SkipMessage). An empty ev.Host is set from the header.
func ParseSyslog(line []byte, ev *event.Event, opts SyslogOptions) error {
	n0 := len(ev.Fields)
	err := parseSyslog(trimEOL(rawString(line, ev)), ev, opts)
	fillHost(ev, n0)
	return err
}

func parseSyslog(s string, ev *event.Event, opts SyslogOptions) error {
	n0 := len(ev.Fields)
	var ecs header5424
	msg, err := syslogHeader(s, ev, opts, 0, &ecs)
	if err != nil {
		ev.Fields = ev.Fields[:n0]
		return err
	}
	add(ev, fMessage, msg)
	// normalize(ev, n0, syslogMap), and ev.Host as fillHost (which every
	// caller runs after this) would set it, without its scan of the fields.
	// The fields from n0 on are the header's and the message (syslog.*,
	// sd.*, message), none an ECS name: only those before n0 may be.
	have := syslogECSHave(ev.Fields[:n0])
	var h string
	if ecs.ok {
		h = ecs.appendECS(ev, have)
	} else {
		h = appendSyslogECS(ev, n0, have)
	}
	if h != "" && ev.Host == "" {
		ev.Host = h
	}
	if !opts.SkipMessage && msg != "" {
		app, known := "", ecs.ok // the RFC 5424 header's APP-NAME field is the only one
		if known && ecs.app != "-" {
			app = ecs.app
		}
		parseSyslogMessage(msg, ev, n0, app, known)
	}
	return nil
}

// header5424 holds the values of an RFC 5424 header read at depth 0 that
// normalizeSyslog maps, so that parseSyslog need not look for their fields.
type header5424 struct {
	ok                 bool // the header was RFC 5424, read at depth 0
	sev, host, app, id string
}

// appendECS appends the ECS fields appendSyslogECS would for the header's
// fields (a PRI's syslog.severity, then syslog.hostname, syslog.appname and
// syslog.procid unless "-"), in that order, skipping the names in have (as
// syslogECSHave gives it); it returns the host.name it added.
func (h *header5424) appendECS(ev *event.Event, have uint8) (host string) {
	if have&8 == 0 {
		ev.Fields = append(ev.Fields, event.Field{Name: "log.level", Value: h.sev})
	}
	if have&1 == 0 && h.host != "-" {
		ev.Fields = append(ev.Fields, event.Field{Name: "host.name", Value: h.host})
		host = h.host
	}
	if have&2 == 0 && h.app != "-" {
		ev.Fields = append(ev.Fields, event.Field{Name: "process.name", Value: h.app})
	}
	if have&4 == 0 && h.id != "-" {
		if _, ok := atoi(h.id); ok {
			ev.Fields = append(ev.Fields, event.Field{Name: "process.pid", Value: h.id})
		}
	}
	return host
}

// syslogHeader parses the header at s and appends its fields; it returns
// the message. depth counts relay headers already read. ecs, when not nil,
// is filled when the header is RFC 5424 (at depth 0).
func syslogHeader(s string, ev *event.Event, opts SyslogOptions, depth int, ecs *header5424) (string, error) {
	i := 0
	hasPRI := false
	if len(s) > 0 && s[0] == '<' {
		pri, n, ok := parsePRI(s)
		if !ok {
			return "", errAt("syslog", 0, "bad priority")
		}
		if depth == 0 || !hasFrom(ev, 0, fSyslogPriority) {
			add(ev, fSyslogPriority, s[1:n-1])
			add(ev, fSyslogFacility, facilityNames[pri>>3])
			add(ev, fSyslogSeverity, severityNames[pri&7])
		}
		i, hasPRI = n, true
		// RFC 5424: VERSION SP after the PRI.
		if i+1 < len(s) && s[i] >= '1' && s[i] <= '9' && (s[i+1] == ' ' || (i+2 < len(s) && isDigit(s[i+1]) && s[i+2] == ' ')) {
			if depth != 0 {
				ecs = nil
			} else if ecs != nil {
				ecs.sev = severityNames[pri&7]
			}
			return syslog5424(s, i, ev, opts, ecs)
		}
	}
	ns, j, ok := syslogStamp(s, i, opts)
	if !ok {
		if hasPRI {
			// RFC 3164 4.3.3: no recognizable header, all is message.
			return s[i:], nil
		}
		return "", errAt("syslog", i, "no priority or timestamp")
	}
	ev.Time = ns
	i = skipSpaces(s, j)
	// HOSTNAME, unless the next token is already the TAG.
	tok, k := spaceToken(s, i)
	if tok != "" && !looksLikeTag(tok) {
		if depth < 2 && k < len(s) && startsHeader(s, k+1, opts) {
			// A relay prepended its own header: the inner one is the origin.
			n := len(ev.Fields)
			msg, err := syslogHeader(s[k+1:], ev, opts, depth+1, nil)
			if err == nil {
				add(ev, fSyslogRelay, tok)
				return msg, nil
			}
			ev.Fields = ev.Fields[:n]
		}
		add(ev, fSyslogHostname, tok)
		i = skipSpaces(s, k)
	}
	return syslogTag(s, i, ev), nil
}

// parsePRI reads "<N>" with 1-3 digits and N <= 191, returning N and the
// length of the PRI part.
func parsePRI(s string) (int, int, bool) {
	if len(s) >= 5 {
		// Fast path: two or three digits, one test each.
		d1, d2, d3 := s[1]-'0', s[2]-'0', s[3]-'0'
		if d1 <= 9 && d2 <= 9 {
			if s[3] == '>' {
				return int(d1)*10 + int(d2), 4, true
			}
			if pri := int(d1)*100 + int(d2)*10 + int(d3); d3 <= 9 && s[4] == '>' && pri <= 191 {
				return pri, 5, true
			}
		}
	}
	pri := 0
	i := 1
	for ; i < len(s) && i <= 4 && isDigit(s[i]); i++ {
		pri = pri*10 + int(s[i]-'0')
	}
	if i == 1 || i > 4 || i >= len(s) || s[i] != '>' || pri > 191 {
		return 0, 0, false
	}
	return pri, i + 1, true
}

// syslogStamp reads an RFC 3164 timestamp at s[i:]: "Mmm _d hh:mm:ss" with an
// optional fraction and an optional year after it or before the time, or an
// RFC 3339 timestamp. It returns the time and the index after it.
func syslogStamp(s string, i int, opts SyslogOptions) (int64, int, bool) {
	if i >= len(s) {
		return 0, i, false
	}
	c := s[i]
	if isDigit(c) {
		if i+10 >= len(s) || s[i+10] != 'T' {
			return 0, i, false // "2024-05-01 10:00:00" is an application log, not syslog
		}
		ns, n, ok := parseISO(s, i, opts.timeOptions())
		if !ok || (i+n < len(s) && s[i+n] != ' ') {
			return 0, i, false
		}
		return ns, i + n, true
	}
	if c < 'A' || c > 'S' || i+15 > len(s) {
		return 0, i, false
	}
	if opts.Now == nil && (opts.Location == nil || opts.Location == time.UTC) {
		// Fast path: the common form in UTC.
		if ns, ok := stampUTC(s, i); ok {
			return ns, i + 15, true
		}
	}
	month, ok := parseMonth(s, i)
	if !ok || s[i+3] != ' ' {
		return 0, i, false
	}
	p := i + 4
	if s[p] == ' ' {
		p++
	}
	day, q := 0, p
	for q < len(s) && q < p+2 && isDigit(s[q]) {
		day = day*10 + int(s[q]-'0')
		q++
	}
	if q == p || q >= len(s) || s[q] != ' ' || day < 1 || day > 31 {
		return 0, i, false
	}
	q++
	year := 0
	// Fast path: "hh:mm:ss" right after the day, eight bytes at once.
	hh, mm, ss, ok := clock8(s, q)
	if !ok {
		if y, ok := num(s, q, 4); ok && q+4 < len(s) && s[q+4] == ' ' {
			year, q = y, q+5 // "Mmm dd yyyy hh:mm:ss" (Cisco, some appliances)
		}
		var ok1, ok2, ok3 bool
		hh, ok1 = num(s, q, 2)
		mm, ok2 = num(s, q+3, 2)
		ss, ok3 = num(s, q+6, 2)
		if !(ok1 && ok2 && ok3) || s[q+2] != ':' || s[q+5] != ':' {
			return 0, i, false
		}
	}
	if hh > 23 || mm > 59 || ss > 60 {
		return 0, i, false
	}
	q += 8
	nsec := 0
	if q+1 < len(s) && s[q] == '.' && isDigit(s[q+1]) {
		nsec, q = fraction(s, q+1)
	}
	if year == 0 && q+1 < len(s) && s[q] == ' ' && isDigit(s[q+1]) {
		if y, ok := num(s, q+1, 4); ok && (q+5 == len(s) || s[q+5] == ' ') {
			year, q = y, q+5 // "Mmm dd hh:mm:ss yyyy"
		}
	}
	to := opts.timeOptions()
	if year == 0 {
		return inferYearNanos(month, day, hh, mm, ss, nsec, to), q, true
	}
	return time.Date(year, month, day, hh, mm, ss, nsec, to.loc()).UnixNano(), q, true
}

// clock8 reads "hh:mm:ss" (two digits each) at s[i:] as one word; the
// ranges are the caller's to check.
func clock8(s string, i int) (hh, mm, ss int, ok bool) {
	if i+8 > len(s) {
		return 0, 0, 0, false
	}
	// Each byte less its expected '0' or ':': digits give 0-9, the colons
	// 0; a byte below its expected one sets its high bit (and may borrow
	// from the next, which changes nothing: the word is refused).
	d := load64(s, i) - 0x3030_3a30_303a_3030
	if (d|(d+0x7676_7676_7676_7676))&0x8080_8080_8080_8080 != 0 || d&0x0000_ff00_00ff_0000 != 0 {
		return 0, 0, 0, false
	}
	return int(d&0xff)*10 + int(d>>8&0xff), int(d>>24&0xff)*10 + int(d>>32&0xff), int(d>>48&0xff)*10 + int(d>>56), true
}

// fraction reads the digits at s[i:] as a fraction of a second in
// nanoseconds and returns the index after them.
func fraction(s string, i int) (int, int) {
	nsec, digits := 0, 0
	for i < len(s) && isDigit(s[i]) {
		if digits < 9 {
			nsec = nsec*10 + int(s[i]-'0')
			digits++
		}
		i++
	}
	for ; digits < 9; digits++ {
		nsec *= 10
	}
	return nsec, i
}

// looksLikeTag reports whether a header token is a TAG ("app:", "app[1]:")
// rather than a HOSTNAME.
func looksLikeTag(tok string) bool {
	if hasPrefix(tok, "CEF:") || hasPrefix(tok, "LEEF:") {
		return true
	}
	if tok[len(tok)-1] == ':' {
		// "fe80::1:" is not a thing; an IPv6 host never ends with ':'.
		return true
	}
	return strings.IndexByte(tok, '[') >= 0
}

// startsHeader reports whether a second syslog header starts at s[i:].
func startsHeader(s string, i int, opts SyslogOptions) bool {
	if i >= len(s) {
		return false
	}
	if s[i] == '<' {
		_, _, ok := parsePRI(s[i:])
		return ok
	}
	if s[i] < 'A' || (s[i] > 'S' && !isDigit(s[i])) {
		return false
	}
	_, _, ok := syslogStamp(s, i, opts)
	return ok
}

// syslogTag reads "TAG[PID]: " or "TAG: " at s[i:], appends the fields and
// returns the message. Without a recognizable tag all is message.
func syslogTag(s string, i int, ev *event.Event) string {
	if hasPrefix(s[i:], "CEF:") || hasPrefix(s[i:], "LEEF:") {
		return s[i:] // a CEF/LEEF record right after the host has no tag
	}
	if hasPrefix(s[i:], ": ") {
		return s[i+2:] // Cisco: "host : %ASA-6-302013: ..." has an empty tag
	}
	j := i
	for j < len(s) && j-i <= maxTagLen {
		c := s[j]
		if c == ' ' || c == ':' || c == '[' {
			break
		}
		j++
	}
	if j == i || j >= len(s) || j-i > maxTagLen {
		return s[i:]
	}
	tag := s[i:j]
	switch s[j] {
	case ':':
		add(ev, fSyslogAppname, tag)
		return trimMsg(s, j+1)
	case '[':
		end := indexByteFrom(s, j+1, ']')
		if end < 0 || end-j > 32 {
			return s[i:]
		}
		add(ev, fSyslogAppname, tag)
		add(ev, fSyslogProcid, s[j+1:end])
		k := end + 1
		if k < len(s) && s[k] == ':' {
			k++
		}
		return trimMsg(s, k)
	}
	return s[i:]
}

// trimMsg returns s[i:] without the one space that separates it.
func trimMsg(s string, i int) string {
	if i < len(s) && s[i] == ' ' {
		i++
	}
	return s[i:]
}

// syslog5424 parses "VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID
// SP MSGID SP STRUCTURED-DATA [SP MSG]" with s[i] at VERSION. ecs, when
// not nil (its sev set), gets the header's values (used only when no error
// is returned).
func syslog5424(s string, i int, ev *event.Event, opts SyslogOptions, ecs *header5424) (string, error) {
	var parts [6]string
	var ns int64 // the TIMESTAMP's, when read at once (isoDone)
	isoDone := false
	for k := 0; k < len(parts); k++ {
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
		if k == 0 && i < len(s) && s[i] != '-' {
			// Fast path: the TIMESTAMP read in place, without first
			// finding its end. It is the token only when it ends at a
			// space and has no space inside (a date and time separated
			// by ' '): then parseISO of the token alone gives the same.
			// Else the loop cuts the token and it is read below, for the
			// same error as before.
			if t, n, ok := parseISO(s, i, opts.timeOptions()); ok && s[i+10] != ' ' && i+n < len(s) && s[i+n] == ' ' {
				parts[1], ns, isoDone = s[i:i+n], t, true
				i += n + 1
				k++
			}
		}
	}
	add(ev, fSyslogVersion, parts[0])
	if ts := parts[1]; ts != "-" {
		if !isoDone {
			t, n, ok := parseISO(ts, 0, opts.timeOptions())
			if !ok || n != len(ts) {
				return "", errAt("syslog", i, "bad RFC 5424 timestamp")
			}
			ns = t
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

// structuredData parses one or more "[SD-ID PARAM="VALUE" ...]" elements at
// s[i:] into fields named "sd.<SD-ID>.<PARAM>" and returns the index after
// them. Values are unescaped (\" \\ \]).
func structuredData(s string, i int, ev *event.Event) (int, error) {
	for i < len(s) && s[i] == '[' {
		j := i + 1
		for j < len(s) && s[j] != ' ' && s[j] != ']' && s[j] != '=' && s[j] != '"' {
			j++
		}
		if j == i+1 || j >= len(s) {
			return i, errAt("syslog", j, "bad SD-ID")
		}
		id := s[i+1 : j]
		for j < len(s) && s[j] == ' ' {
			j++
			k := j
			for k < len(s) && s[k] != '=' && s[k] != ' ' && s[k] != ']' && s[k] != '"' {
				k++
			}
			if k == j || k+1 >= len(s) || s[k] != '=' || s[k+1] != '"' {
				return j, errAt("syslog", k, "bad SD-PARAM")
			}
			name := s[j:k]
			v, end, ok := sdValue(s, k+2)
			if !ok {
				return k, errAt("syslog", k+2, "unterminated SD-PARAM value")
			}
			add(ev, "sd."+id+"."+name, v)
			j = end
		}
		if j >= len(s) || s[j] != ']' {
			return j, errAt("syslog", j, "unterminated SD-ELEMENT")
		}
		i = j + 1
	}
	return i, nil
}

// sdValue reads a PARAM-VALUE whose opening quote is just before s[i] and
// returns it unescaped and the index after the closing quote.
func sdValue(s string, i int) (string, int, bool) {
	esc := false
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\\':
			esc = true
			j++
		case '"':
			if !esc {
				return s[i:j], j + 1, true
			}
			return unescapeSD(s[i:j]), j + 1, true
		}
	}
	return "", len(s), false
}

func unescapeSD(v string) string {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && (v[i+1] == '"' || v[i+1] == '\\' || v[i+1] == ']') {
			i++
		}
		b = append(b, v[i])
	}
	return string(b)
}

// parseSyslogMessage parses the message of a syslog line by its program or
// its shape. Fields it cannot read are simply not added.
// app is the syslog.appname field from n0 on ("" when none) when known is
// true; otherwise it is looked up.
func parseSyslogMessage(msg string, ev *event.Event, n0 int, app string, known bool) {
	// A CEF record is known by its content, before the program is looked up.
	if hasPrefix(msg, "CEF:") {
		_ = parseCEFBodyAfter(msg, ev, n0) // a bad CEF body leaves the syslog fields; the message is kept
		return
	}
	for i := n0; !known && i < len(ev.Fields); i++ {
		if ev.Fields[i].Name == fSyslogAppname {
			app = ev.Fields[i].Value
			break
		}
	}
	switch {
	case hasPrefix(msg, "LEEF:"):
		_ = parseLEEFBody(msg, ev) // as above
	case app == "sshd":
		parseSSHD(msg, ev)
	case app == "sudo":
		parseSudo(msg, ev)
	case app == "audisp-syslog" || app == "auditd" || app == "audit" || app == "audispd" || hasPrefix(msg, "type=") || hasPrefix(msg, "node="):
		parseAuditBody(msg, ev)
	case app == "kernel" && containsStr(msg, " SRC="):
		parseNetfilter(msg, ev)
	case containsStr(app, "(pam_"):
		parsePAMRest(msg, ev)
	default:
		parsePAM(msg, ev)
	}
}

// spaceToken is nextToken (the run of non-space bytes at s[i:] and the
// index after it), eight bytes at a time: header tokens such as RFC 3339
// timestamps are long enough for it to pay.
func spaceToken(s string, i int) (string, int) {
	j := i
	for ; j+8 <= len(s); j += 8 {
		// Fast path: eight bytes at a time.
		if m := spaceMask(load64(s, j)); m != 0 {
			j += bits.TrailingZeros64(m) >> 3
			return s[i:j], j
		}
	}
	for j < len(s) && s[j] != ' ' {
		j++
	}
	return s[i:j], j
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
