package parse

import "testing"

func TestSquid(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "squid", in, want...) }
	f("1516547388.593  88790 10.20.3.27 TCP_TUNNEL/200 132275 CONNECT teams.microsoft.com:443 s.wilson HIER_DIRECT/23.52.51.75 -",
		"_time=2018-01-21T15:09:48.593Z", "source.ip=10.20.3.27", "squid.elapsed_ms=88790", "squid.result_code=TCP_TUNNEL",
		"http.response.status_code=200", "http.response.bytes=132275", "http.request.method=CONNECT",
		"url.domain=teams.microsoft.com", "url.port=443", "user.name=s.wilson", "destination.ip=23.52.51.75", "event.outcome=success")
	ev := parseOK(t, "squid", "1516552089.845    206 10.20.1.31 TCP_DENIED/403 7979 GET http://ocsp.digicert.com/MFEw?x=1 - HIER_NONE/- text/html",
		"url.full=http://ocsp.digicert.com/MFEw?x=1", "url.scheme=http", "url.domain=ocsp.digicert.com", "url.path=/MFEw",
		"url.query=x=1", "event.outcome=failure", "http.response.mime_type=text/html")
	noField(t, ev, "user.name", "destination.ip", "destination.domain")
	// Minimal 7-field line.
	f("1516552089.845 206 10.20.1.31 TCP_MISS/200 1 GET http://a/", "url.domain=a")
}

func TestSquidBad(t *testing.T) {
	for _, in := range []string{"", "1516552089.845 206 10.20.1.31", "abc 206 10.20.1.31 TCP_MISS/200 1 GET http://a/",
		"1516552089.845 206 10.20.1.31 TCP_MISS 1 GET http://a/"} {
		parseBad(t, "squid", in)
	}
}
