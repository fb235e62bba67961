package parse

import (
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// Key=value text: "a=1 b="two words" c='x' d=y". Keys are kept as written.
// Words that are not key=value pairs are skipped (kv) or become key=true
// (logfmt). A quoted value may contain \" escapes; an unterminated quote
// runs to the end of the line.

// isKeyByte reports whether c may appear in a key.
func isKeyByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c == '@' || c == '/' || c == ':' || c == '[' || c == ']' ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c)
}

// scanKV calls fn for each pair in s. bare is called for words without '='
// (nil skips them). It returns the number of pairs found.
func scanKV(s string, fn func(k, v string), bare func(w string)) int {
	n := 0
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',' || s[i] == ';') {
			i++
		}
		start := i
		for i < len(s) && isKeyByte(s[i]) {
			i++
		}
		if i == start || i >= len(s) || s[i] != '=' {
			// Not a key: skip the word.
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				i++
			}
			if bare != nil && i > start {
				bare(s[start:i])
			}
			continue
		}
		key := s[start:i]
		i++
		v, j := kvValue(s, i)
		i = j
		fn(key, v)
		n++
	}
	return n
}

// kvValue reads a value at s[i:]: quoted, or up to the next white space.
func kvValue(s string, i int) (string, int) {
	if i < len(s) && (s[i] == '"' || s[i] == '\'') {
		q := s[i]
		esc := false
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				esc = true
				j++
			case q:
				if esc {
					return unescapeQuoted(s[i+1:j], q), j + 1
				}
				return s[i+1 : j], j + 1
			}
		}
		return s[i+1:], len(s) // unterminated: take the rest
	}
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != '\t' {
		j++
	}
	v := s[i:j]
	if n := len(v); n > 0 && (v[n-1] == ',' || v[n-1] == ';') {
		v = v[:n-1] // "a=1, b=2": the separator is not part of the value
	}
	return v, j
}

// unescapeQuoted removes backslashes before the quote and before backslashes;
// other escapes (\n, \t) are kept as written.
func unescapeQuoted(v string, q byte) string {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && (v[i+1] == q || v[i+1] == '\\') {
			i++
		}
		b = append(b, v[i])
	}
	return string(b)
}

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }

// kvMap maps common key names seen in key=value logs (firewalls, proxies,
// appliances) to ECS.
var kvMap = newFieldMap(
	mapping{"src", "source.ip", ecsIP},
	mapping{"srcip", "source.ip", ecsIP},
	mapping{"src_ip", "source.ip", ecsIP},
	mapping{"dst", "destination.ip", ecsIP},
	mapping{"dstip", "destination.ip", ecsIP},
	mapping{"dst_ip", "destination.ip", ecsIP},
	mapping{"spt", "source.port", ecsInt},
	mapping{"srcport", "source.port", ecsInt},
	mapping{"src_port", "source.port", ecsInt},
	mapping{"dpt", "destination.port", ecsInt},
	mapping{"dstport", "destination.port", ecsInt},
	mapping{"dst_port", "destination.port", ecsInt},
	mapping{"proto", "network.transport", ecsLower},
	mapping{"user", "user.name", ecsText},
	mapping{"username", "user.name", ecsText},
	mapping{"action", "event.action", ecsText},
	mapping{"host", "host.name", ecsText},
	mapping{"hostname", "host.name", ecsText},
	mapping{"level", "log.level", ecsLower},
	mapping{"url", "url.full", ecsText},
	mapping{"method", "http.request.method", ecsText},
	mapping{"status", "http.response.status_code", ecsInt},
)

// parseKV is the "kv" parser: key=value pairs anywhere in the line; the
// time comes from DetectTime.
func parseKV(s string, ev *event.Event) error {
	n0 := len(ev.Fields)
	n := scanKV(s, func(k, v string) { add(ev, k, v) }, nil)
	if n == 0 {
		return errAt("kv", 0, "no key=value pairs")
	}
	kvTime(s, ev, n0)
	normalize(ev, n0, kvMap)
	return nil
}

// parseLogfmt is the "logfmt" parser: like kv, but a bare word is a key
// whose value is "true", and the line must consist of pairs.
func parseLogfmt(s string, ev *event.Event) error {
	n0 := len(ev.Fields)
	n := scanKV(s, func(k, v string) { add(ev, k, v) }, func(w string) { add(ev, w, "true") })
	if n == 0 {
		ev.Fields = ev.Fields[:n0]
		return errAt("logfmt", 0, "no key=value pairs")
	}
	kvTime(s, ev, n0)
	normalize(ev, n0, kvMap)
	return nil
}

// kvTime sets ev.Time from a time-like key (or a date= and time= pair, as
// FortiGate writes them), else from the text.
func kvTime(s string, ev *event.Event, n0 int) {
	if d, ok := fieldFrom(ev, n0, "date"); ok && len(d) == 10 && d[4] == '-' {
		if t, ok := fieldFrom(ev, n0, "time"); ok && len(t) >= 8 && t[2] == ':' {
			if ns, n, ok := parseISO(d+"T"+t, 0, TimeOptions{}); ok && n == len(d)+1+len(t) {
				ev.Time = ns
				return
			}
		}
	}
	for i := n0; i < len(ev.Fields); i++ {
		switch ev.Fields[i].Name {
		case "time", "ts", "timestamp", "t", "date", "@timestamp":
			if v := ev.Fields[i].Value; len(v) < 10 || !isDigit(v[0]) {
				continue // not a full time; checked cheaply, ParseTimeValue allocates on failure
			}
			if ns, ok := ParseTimeValue(ev.Fields[i].Value); ok {
				ev.Time = ns
				return
			}
		}
	}
	if ns, ok := DetectTime(s); ok {
		ev.Time = ns
	}
}

var netfilterMap = newFieldMap(
	mapping{"SRC", "source.ip", ecsIP},
	mapping{"DST", "destination.ip", ecsIP},
	mapping{"SPT", "source.port", ecsInt},
	mapping{"DPT", "destination.port", ecsInt},
	mapping{"PROTO", "network.transport", ecsLower},
	mapping{"IN", "observer.ingress.interface.name", ecsText},
	mapping{"OUT", "observer.egress.interface.name", ecsText},
)

// parseNetfilter reads a kernel netfilter (iptables/UFW) message:
// "[UFW BLOCK] IN=eth0 OUT= SRC=a DST=b ... PROTO=TCP SPT=1 DPT=2".
func parseNetfilter(msg string, ev *event.Event) {
	n0 := len(ev.Fields)
	if strings.HasPrefix(msg, "[UFW ") {
		if j := strings.IndexByte(msg, ']'); j > 0 {
			add(ev, "event.action", strings.ToLower(msg[5:j]))
		}
	}
	scanKV(msg, func(k, v string) { add(ev, k, v) }, nil)
	normalize(ev, n0, netfilterMap)
}
