package parse

import (
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// ArcSight Common Event Format:
//
//	CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
//
// alone or as the message of a syslog line. Header fields become cef.version,
// cef.device_vendor, cef.device_product, cef.device_version,
// cef.signature_id, cef.name and cef.severity ("\|" and "\\" unescaped).
// Extension keys are kept as written (src, dst, spt, act, cs1Label, cs1, ...);
// a value runs to the space before the next "key=", and "\=", "\\", "\n",
// "\r" are unescaped. The event time comes from rt (epoch ms or
// "Mmm dd yyyy hh:mm:ss"), else from the syslog header.

var cefHeaderNames = [...]string{
	"cef.version", "cef.device_vendor", "cef.device_product", "cef.device_version",
	"cef.signature_id", "cef.name", "cef.severity",
}

var cefMap = newFieldMap(
	mapping{"cef.device_vendor", "observer.vendor", ecsText},
	mapping{"cef.device_product", "observer.product", ecsText},
	mapping{"cef.signature_id", "event.code", ecsText},
	mapping{"cef.severity", "event.severity", ecsInt},
	mapping{"src", "source.ip", ecsIP},
	mapping{"dst", "destination.ip", ecsIP},
	mapping{"spt", "source.port", ecsInt},
	mapping{"dpt", "destination.port", ecsInt},
	mapping{"smac", "source.mac", ecsText},
	mapping{"dmac", "destination.mac", ecsText},
	mapping{"shost", "source.domain", ecsText},
	mapping{"dhost", "destination.domain", ecsText},
	mapping{"suser", "source.user.name", ecsText},
	mapping{"suser", "user.name", ecsText},
	mapping{"duser", "destination.user.name", ecsText},
	mapping{"sourceTranslatedAddress", "source.nat.ip", ecsIP},
	mapping{"sourceTranslatedPort", "source.nat.port", ecsInt},
	mapping{"destinationTranslatedAddress", "destination.nat.ip", ecsIP},
	mapping{"destinationTranslatedPort", "destination.nat.port", ecsInt},
	mapping{"proto", "network.transport", ecsLower},
	mapping{"app", "network.protocol", ecsLower},
	mapping{"act", "event.action", ecsText},
	mapping{"outcome", "event.outcome", ecsLower},
	mapping{"in", "source.bytes", ecsInt},
	mapping{"out", "destination.bytes", ecsInt},
	mapping{"request", "url.full", ecsText},
	mapping{"requestMethod", "http.request.method", ecsText},
	mapping{"requestClientApplication", "user_agent.original", ecsText},
	mapping{"dvchost", "observer.hostname", ecsText},
	mapping{"dvc", "observer.ip", ecsIP},
	mapping{"deviceExternalId", "observer.serial_number", ecsText},
	mapping{"sproc", "process.name", ecsText},
	mapping{"spid", "process.pid", ecsInt},
	mapping{"fname", "file.name", ecsText},
	mapping{"filePath", "file.path", ecsText},
	mapping{"fileHash", "file.hash.sha256", ecsText},
)

// parseCEF is the "cef" parser: a CEF record alone or inside syslog.
func parseCEF(s string, ev *event.Event, opts SyslogOptions) error {
	if hasPrefix(s, "CEF:") {
		return parseCEFBody(s, ev)
	}
	if i := cefIndex(s[:min(len(s), 512+len("CEF:")-1)]); i > 0 && i < 512 {
		return parseSyslog(s, ev, opts)
	}
	return errAt("cef", 0, "no CEF: header")
}

// cefIndex is strings.Index(s, "CEF:") for short s, by its 'C' (cheaper
// than the general search, which sets up for long needles and texts).
func cefIndex(s string) int {
	for i := 0; i < len(s); i++ {
		j := strings.IndexByte(s[i:], 'C')
		if j < 0 {
			break
		}
		if i += j; hasPrefix(s[i:], "CEF:") {
			return i
		}
	}
	return -1
}

// parseCEFBody parses s starting at "CEF:".
func parseCEFBody(s string, ev *event.Event) error {
	return parseCEFBodyAfter(s, ev, len(ev.Fields))
}

// parseCEFBodyAfter is parseCEFBody for a record whose event fields at
// from.. are a syslog header's (see cefSyslogHave).
func parseCEFBodyAfter(s string, ev *event.Event, from int) error {
	_, err := parseCEFRecord(s, ev, from)
	return err
}

// cefParser is the "cef" parser: parserFunc, but fillHost's scan of all
// fields for host.name runs only when the record has such a key (a bare
// record has no other way to one: no header field or ECS name of cefMap is
// host.name).
type cefParser struct{ opts SyslogOptions }

func (cefParser) Name() string { return "cef" }

func (p cefParser) Parse(line []byte, ev *event.Event) error {
	n0 := len(ev.Fields)
	s := trimEOL(rawString(line, ev))
	if !hasPrefix(s, "CEF:") {
		if len(s) == 0 || s[0] != '<' || p.opts.SkipMessage || !cefSyslogFast(s, ev, p.opts) {
			err := parseCEF(s, ev, p.opts)
			fillHost(ev, n0)
			return err
		}
		fillHost(ev, n0)
		return nil
	}
	host, err := parseCEFRecord(s, ev, n0)
	if host {
		fillHost(ev, n0)
	}
	return err
}

// cefSyslogFast parses the common wrapping of a CEF record,
// "<PRI>Mmm dd hh:mm:ss HOST CEF:...", as parseCEF does (parseSyslog, then
// the record), without the general header's steps that cannot apply to it:
// the relay and tag checks, the search for "CEF:", normalizeSyslog's scans
// (its ECS fields are known: log.level, then host.name). It reports false,
// having changed nothing, for any other form, which the caller then parses
// the general way.
func cefSyslogFast(s string, ev *event.Event, opts SyslogOptions) bool {
	pri, n, ok := parsePRI(s)
	if !ok || n >= len(s) || isDigit(s[n]) { // RFC 5424 or an ISO time
		return false
	}
	ns, j, ok := int64(0), n+15, false
	if opts.Now == nil && (opts.Location == nil || opts.Location == time.UTC) {
		ns, ok = stampUTC(s, n) // Fast path: syslogStamp's own, without its checks.
	}
	if !ok {
		if ns, j, ok = syslogStamp(s, n, opts); !ok {
			return false
		}
	}
	i := skipSpaces(s, j)
	tok, k := spaceToken(s, i)
	// The host, then one space and the record (no tag; the record within
	// parseCEF's 512 bytes). A token that looksLikeTag is no host.
	if tok == "" || k+1 >= min(len(s), 512) || !hasPrefix(s[k+1:], "CEF:") || looksLikeTag(tok) {
		return false
	}
	n0 := len(ev.Fields)
	// Fast path: the fields syslogHeader, parseSyslog and normalizeSyslog
	// add, in their order. normalizeSyslog's ECS names may already be among
	// earlier fields: then it decides.
	msg := s[k+1:]
	sev := severityNames[pri&7]
	ev.Fields = append(ev.Fields,
		event.Field{Name: fSyslogPriority, Value: s[1 : n-1]},
		event.Field{Name: fSyslogFacility, Value: facilityNames[pri>>3]},
		event.Field{Name: fSyslogSeverity, Value: sev},
		event.Field{Name: fSyslogHostname, Value: tok},
		event.Field{Name: fMessage, Value: msg})
	ev.Time = ns
	if n0 > 0 {
		if h := normalizeSyslog(ev, n0); h != "" && ev.Host == "" {
			ev.Host = h
		}
	} else {
		ev.Fields = append(ev.Fields, event.Field{Name: "log.level", Value: sev})
		if tok != "-" {
			ev.Fields = append(ev.Fields, event.Field{Name: "host.name", Value: tok})
			if ev.Host == "" {
				ev.Host = tok
			}
		}
	}
	// A bad record leaves the syslog fields (parseSyslogMessage). None of
	// the fields above is one of cefMap's ECS names: with no fields before
	// them, the record need not look (from -1).
	from := n0
	if n0 == 0 {
		from = -1
	}
	_, _ = parseCEFRecord(msg, ev, from)
	return true
}

// parseCEFRecord is parseCEFBodyAfter; it also reports whether the record
// has a key host.name. from may be -1 (see cefNormalize).
func parseCEFRecord(s string, ev *event.Event, from int) (bool, error) {
	n0 := len(ev.Fields)
	x := cefExt{rt: -1}
	// bs is the first backslash (len(s) when none): the header fields
	// before it need no unescaping, nor the extension values.
	bs := strings.IndexByte(s, '\\')
	if bs < 0 {
		bs = len(s)
	}
	ext := -1 // the first backslash in the extension (see cefScan)
	i, ok := cefHeaderFast(s, bs, ev, &x)
	if ok {
		ext = bs - i
		goto header
	}
	// Slow path: escapes in the header, a short record, a bad header.
	i = len("CEF:")
	for k := range len(cefHeaderNames) { // not range cefHeaderNames: that copies the array
		v, j, esc, ok := cefHeaderField(s, i)
		if !ok && k == len(cefHeaderNames)-1 && i < len(s) && len(s)-i <= 10 && !strings.ContainsAny(s[i:], `\| `) {
			// Severity without the closing '|' and no extension.
			v, j, esc, ok = s[i:], len(s), false, true
		}
		if !ok {
			ev.Fields = ev.Fields[:n0]
			return false, errAt("cef", i, "header has "+string(rune('0'+k))+" of 7 fields")
		}
		if esc {
			v = unescapeCEF(v, true)
		}
		if v != "" {
			ev.Fields = append(ev.Fields, event.Field{Name: cefHeaderNames[k], Value: v})
			x.note(len(ev.Fields)-1, cefHeaderInfo[k])
		}
		i = j
	}
header:
	cefScan(s[i:], ext, ev, &x)
	if x.rt >= 0 {
		if ns, ok := cefTime(ev.Fields[x.rt].Value); ok {
			ev.Time = ns
		}
	}
	cefNormalize(ev, from, n0, &x)
	return x.host, nil
}

// cefHeaderFast reads the seven header fields at s[4:] when the first
// backslash, at bs, comes after the seventh '|', and returns the index
// after the seventh '|'. Otherwise it returns false, having added nothing.
// It finds the seven '|' first, eight bytes at a time, then adds the
// fields: two loops without a call, each with few live values.
func cefHeaderFast(s string, bs int, ev *event.Event, x *cefExt) (int, bool) {
	var pos [len(cefHeaderNames)]int
	k := 0
	for base := len("CEF:"); base+8 <= len(s); base += 8 {
		for m := byteMask(load64(s, base), '|'); m != 0; m &= m - 1 {
			pos[k] = base + bits.TrailingZeros64(m)>>3
			if k++; k == len(pos) {
				goto found
			}
		}
	}
	return 0, false
found:
	if bs < pos[len(pos)-1] {
		return 0, false // an escape
	}
	ev.Fields = slices.Grow(ev.Fields, len(cefHeaderNames))
	fs := ev.Fields
	start := len("CEF:")
	for k, j := range pos {
		if j > start {
			n := len(fs)
			fs = fs[:n+1]
			fs[n] = event.Field{Name: cefHeaderNames[k], Value: s[start:j]}
			x.note(n, cefHeaderInfo[k])
		}
		start = j + 1
	}
	ev.Fields = fs
	return start, true
}

// byteMask flags (with its high bit) exactly the bytes of w that are c.
func byteMask(w uint64, c byte) uint64 {
	const lo7 = 0x7F7F7F7F7F7F7F7F
	x := w ^ 0x0101010101010101*uint64(c)
	return ^((x&lo7 + lo7) | x | lo7)
}

// cefHeaderField reads a header field ending with an unescaped '|' at
// s[i:] and returns it, the index after the '|', and whether it had escapes.
func cefHeaderField(s string, i int) (string, int, bool, bool) {
	esc := false
	for j := i; j < len(s); {
		if j+8 <= len(s) {
			// Fast path: eight bytes at a time.
			m := maskEither(load64(s, j), '|', '\\')
			if m == 0 {
				j += 8
				continue
			}
			j += bits.TrailingZeros64(m) >> 3
		}
		switch s[j] {
		case '\\':
			esc = true
			j += 2
			continue
		case '|':
			return s[i:j], j + 1, esc, true
		}
		j++
	}
	return "", len(s), false, false
}

var cefKeyByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = b == '_' || b == '.' || b == '-' || b == '[' || b == ']' ||
			(b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || isDigit(b)
	}
	return t
}()

// maskEither flags (with its high bit) each byte of w that may be a or b
// (SWAR). The lowest flagged byte is exact, as borrows run only upwards
// from a true match; higher ones may be false positives.
func maskEither(w uint64, a, b byte) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	x, y := w^(lo*uint64(a)), w^(lo*uint64(b))
	return ((x-lo)&^x | (y-lo)&^y) & hi
}

// load64 reads s[i:i+8] as a little-endian word (one load: the compiler
// combines the byte loads).
func load64(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// unescapeCEF undoes CEF escaping: "\|" and "\\" in the header, "\=",
// "\\", "\n", "\r" in extension values.
func unescapeCEF(v string, header bool) string {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			n := v[i+1]
			switch {
			case n == '\\', header && n == '|', !header && (n == '=' || n == '|'):
				c = n
				i++
			case !header && n == 'n':
				c = '\n'
				i++
			case !header && n == 'r':
				c = '\r'
				i++
			}
		}
		b = append(b, c)
	}
	return string(b)
}

// cefTime reads an rt/end value: epoch milliseconds, "Mmm dd yyyy
// hh:mm:ss[.SSS]" or RFC 3339.
func cefTime(v string) (int64, bool) {
	if ns, ok := ParseTimeValue(v); ok {
		return ns, true
	}
	ns, n, ok := syslogStamp(v, 0, SyslogOptions{})
	return ns, ok && n >= len(v)-6 // allow a trailing zone name
}

// fieldFrom returns the first value of name in ev.Fields[from:].
func fieldFrom(ev *event.Event, from int, name string) (string, bool) {
	for i := from; i < len(ev.Fields); i++ {
		if ev.Fields[i].Name == name {
			return ev.Fields[i].Value, true
		}
	}
	return "", false
}
