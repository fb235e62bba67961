package parse

import (
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// Squid native access log ("logformat squid"):
//
//	time.ms elapsed client code/status bytes method URL user hierarchy/peer mime
//
// Positional, so fields are ECS directly: source.ip, event.duration (ms as
// squid.elapsed_ms), http.response.status_code, http.response.bytes,
// http.request.method, url.* (CONNECT targets give url.domain and
// url.port), user.name, destination.ip (the peer, when an address),
// http.response.mime_type, plus squid.result_code and squid.hierarchy.

// parseSquid is the "squid" parser.
func parseSquid(s string, ev *event.Event) error {
	var f [10]string
	n := splitFields(s, f[:])
	if n < 7 {
		return errAt("squid", len(s), "want at least 7 fields")
	}
	ns, ok := ParseTimeValue(f[0])
	if !ok || strings.IndexByte(f[0], '.') < 0 && len(f[0]) < 9 {
		return errAt("squid", 0, "bad time")
	}
	code, status, ok := strings.Cut(f[3], "/")
	if _, num := atoi(status); !ok || len(status) != 3 || !num {
		return errAt("squid", strings.Index(s, f[3]), "want code/status")
	}
	ev.Time = ns
	if isIP(f[2]) {
		add(ev, "source.ip", f[2])
	} else {
		add(ev, "source.domain", f[2]) // log_fqdn on
	}
	add(ev, "squid.elapsed_ms", f[1])
	add(ev, "squid.result_code", code)
	add(ev, "event.action", code)
	add(ev, "http.response.status_code", status)
	add(ev, "http.response.bytes", f[4])
	add(ev, "http.request.method", f[5])
	add(ev, "url.original", f[6])
	urlFields(f[6], ev)
	if n > 7 && f[7] != "-" {
		add(ev, "user.name", f[7])
	}
	if n > 8 {
		hier, peer, _ := strings.Cut(f[8], "/")
		add(ev, "squid.hierarchy", hier)
		if isIP(peer) {
			add(ev, "destination.ip", peer)
		} else if peer != "-" {
			add(ev, "destination.domain", peer)
		}
	}
	if n > 9 && f[9] != "-" {
		add(ev, "http.response.mime_type", f[9])
	}
	outcome := httpOutcome(status)
	if strings.HasSuffix(code, "DENIED") {
		outcome = outcomeFailure
	}
	add(ev, "event.outcome", outcome)
	return nil
}

// splitFields splits s at runs of spaces into dst; the last slot takes the
// rest of the line. It returns the number of fields.
func splitFields(s string, dst []string) int {
	n := 0
	i := skipSpaces(s, 0)
	for i < len(s) && n < len(dst) {
		if n == len(dst)-1 {
			dst[n] = strings.TrimRight(s[i:], " \t")
			return n + 1
		}
		tok, j := nextToken(s, i)
		dst[n] = tok
		n++
		i = skipSpaces(s, j)
	}
	return n
}
