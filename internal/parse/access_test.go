package parse

import "testing"

func TestAccess(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "access", in, want...) }
	f(`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=b HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
		"_time=2000-10-10T20:55:36Z", "source.ip=127.0.0.1", "user.name=frank", "http.request.method=GET",
		"url.original=/apache_pb.gif?a=b", "url.path=/apache_pb.gif", "url.query=a=b", "http.version=1.0",
		"http.response.status_code=200", "http.response.body.bytes=2326", "http.request.referrer=http://www.example.com/start.html",
		"user_agent.original=Mozilla/4.08 [en] (Win98; I ;Nav)", "event.outcome=success")
	ev := parseOK(t, "access", `client.example.org - - [10/Oct/2000:13:55:36 +0000] "-" 400 - "-" "-"`,
		"source.domain=client.example.org", "http.response.status_code=400", "event.outcome=failure")
	noField(t, ev, "user.name", "http.request.method", "http.response.body.bytes", "user_agent.original")
	f(`www.example.com:443 10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "POST /login HTTP/2.0" 302 0 "-" "curl/8" rt=0.005`,
		"url.domain=www.example.com", "source.ip=10.0.0.1", "http.request.method=POST", "access.extra=rt=0.005")
}

func TestAccessBad(t *testing.T) {
	for _, in := range []string{"", "1.2.3.4 - - [bad] \"GET / HTTP/1.1\" 200 1", `1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] GET 200 1`,
		`1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" abc 1`, `[10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1`} {
		parseBad(t, "access", in)
	}
}
