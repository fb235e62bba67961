package parse

import "testing"

func TestBIND(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "bind", in, want...) }
	f("22-Jan-2018 00:19:52.999 queries: info: client @0x7f23aa4c8671 10.20.16.101#47300 (redis-02.kaminari.local): query: redis-02.kaminari.local IN A + (10.0.0.53)",
		"_time=2018-01-22T00:19:52.999Z", "bind.category=queries", "log.level=info", "source.ip=10.20.16.101", "source.port=47300",
		"dns.question.name=redis-02.kaminari.local", "dns.question.class=IN", "dns.question.type=A", "bind.flags=+",
		"destination.ip=10.0.0.53", "event.action=dns-query")
	// Older BIND: no @0x, no (name), a view, no category/severity.
	f("01-Feb-2019 10:00:00.000 client 2001:db8::5#53000: view internal: query: example.com IN AAAA +E(0)K (2001:db8::53)",
		"source.ip=2001:db8::5", "bind.view=internal", "dns.question.type=AAAA", "bind.flags=+E(0)K", "destination.ip=2001:db8::53")
	f("01-Feb-2019 10:00:00.000 general: error: zone example.com/IN: loading from master file failed",
		"bind.category=general", "log.level=error", "message=zone example.com/IN: loading from master file failed")
}

func TestBINDBad(t *testing.T) {
	for _, in := range []string{"", "22-Jan-2018", "2018-01-22 00:00:00 queries: info: x", "32-Foo-2018 00:19:52.999 x"} {
		parseBad(t, "bind", in)
	}
}
