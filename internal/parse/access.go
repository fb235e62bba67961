package parse

import (
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// Apache and Nginx access logs, Common and Combined Log Format:
//
//	host ident authuser [02/Jan/2006:15:04:05 -0700] "GET /p?q HTTP/1.1" 200 512 "referer" "agent"
//
// with an optional leading virtual host ("vhost:port host ...") and any
// fields after the agent (kept as access.extra). The format is positional,
// so fields are ECS directly: source.ip (or source.domain), user.name,
// http.request.method, url.original, url.path, url.query,
// http.version, http.response.status_code, http.response.body.bytes,
// http.request.referrer, user_agent.original.

// parseAccess is the "access" parser.
func parseAccess(s string, ev *event.Event) error {
	n0 := len(ev.Fields)
	fail := func(off int, msg string) error {
		ev.Fields = ev.Fields[:n0]
		return errAt("access", off, msg)
	}
	lb := strings.IndexByte(s, '[')
	if lb < 0 {
		return fail(0, "no [time]")
	}
	var hb [5]string
	head := hb[:splitFields(s[:lb], hb[:])]
	if len(head) < 3 || len(head) > 4 {
		return fail(0, "want host ident user before [time]")
	}
	if len(head) == 4 {
		add(ev, "url.domain", vhostName(head[0]))
		head = head[1:]
	}
	host := head[0]
	if isIP(host) {
		add(ev, "source.ip", host)
	} else {
		add(ev, "source.domain", host)
	}
	if head[2] != "-" {
		add(ev, "user.name", head[2])
	}
	rb := indexByteFrom(s, lb, ']')
	if rb < 0 {
		return fail(lb, "unterminated [time]")
	}
	if ns, ok := parseApache(s, lb+1); ok {
		ev.Time = ns
	} else {
		return fail(lb+1, "bad time")
	}
	i := skipSpaces(s, rb+1)
	req, i, ok := quoted(s, i)
	if !ok {
		return fail(i, "want a quoted request")
	}
	accessRequest(req, ev)
	var status, size string
	status, i = nextToken(s, skipSpaces(s, i))
	size, i = nextToken(s, skipSpaces(s, i))
	if _, ok := atoi(status); !ok || len(status) != 3 {
		return fail(i, "bad status")
	}
	add(ev, "http.response.status_code", status)
	if _, ok := atoi(size); ok {
		add(ev, "http.response.body.bytes", size)
	}
	i = skipSpaces(s, i)
	if ref, j, ok := quoted(s, i); ok {
		if ref != "-" {
			add(ev, "http.request.referrer", ref)
		}
		i = skipSpaces(s, j)
		if ua, j, ok := quoted(s, i); ok {
			if ua != "-" {
				add(ev, "user_agent.original", ua)
			}
			i = skipSpaces(s, j)
		}
	}
	if i < len(s) {
		add(ev, "access.extra", s[i:])
	}
	add(ev, "event.outcome", httpOutcome(status))
	return nil
}

func vhostName(v string) string {
	if i := strings.LastIndexByte(v, ':'); i > 0 {
		return v[:i]
	}
	return v
}

// quoted reads a "..." value at s[i:] (with \" escapes kept as written).
func quoted(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return s[i+1 : j], j + 1, true
		}
	}
	return "", i, false
}

// accessRequest splits "METHOD target HTTP/x.y".
func accessRequest(req string, ev *event.Event) {
	method, rest := cutWord(req)
	target, proto := cutWord(rest)
	if method == "-" || target == "" {
		return
	}
	add(ev, "http.request.method", method)
	add(ev, "url.original", target)
	urlFields(target, ev)
	if strings.HasPrefix(proto, "HTTP/") {
		add(ev, "http.version", proto[5:])
	}
}

// urlFields adds url.scheme, url.domain, url.port, url.path and url.query
// for an absolute URL, a host:port (CONNECT) or a path.
func urlFields(u string, ev *event.Event) {
	rest := u
	if i := strings.Index(u, "://"); i > 0 && i < 10 {
		add(ev, "url.full", u)
		add(ev, "url.scheme", u[:i])
		rest = u[i+3:]
		hostEnd := len(rest)
		for j := 0; j < len(rest); j++ {
			if rest[j] == '/' || rest[j] == '?' || rest[j] == '#' {
				hostEnd = j
				break
			}
		}
		hostPort(rest[:hostEnd], ev)
		rest = rest[hostEnd:]
	} else if u != "" && u[0] != '/' {
		hostPort(u, ev) // CONNECT host:port
		return
	}
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		add(ev, "url.path", rest[:q])
		add(ev, "url.query", rest[q+1:])
	} else {
		add(ev, "url.path", rest)
	}
}

func hostPort(hp string, ev *event.Event) {
	if at := strings.LastIndexByte(hp, '@'); at >= 0 {
		hp = hp[at+1:]
	}
	host, port := hp, ""
	if i := strings.LastIndexByte(hp, ':'); i >= 0 && !strings.Contains(hp[i:], "]") && strings.Count(hp, ":") == 1 {
		host, port = hp[:i], hp[i+1:]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	add(ev, "url.domain", host)
	if _, ok := atoi(port); ok {
		add(ev, "url.port", port)
	}
}

// httpOutcome maps a status code to an ECS outcome.
func httpOutcome(status string) string {
	if status == "" {
		return ""
	}
	if status[0] == '4' || status[0] == '5' {
		return outcomeFailure
	}
	return outcomeSuccess
}
