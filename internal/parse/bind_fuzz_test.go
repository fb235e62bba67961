package parse

import "testing"

func FuzzBIND(f *testing.F) {
	fuzzParser(f, "bind",
		"22-Jan-2018 00:19:52.999 queries: info: client @0x7f23aa4c8671 10.20.16.101#47300 (redis-02.kaminari.local): query: redis-02.kaminari.local IN A + (10.0.0.53)",
		"01-Feb-2019 10:00:00.000 client 2001:db8::5#53000: view internal: query: example.com IN AAAA +E(0)K (2001:db8::53)",
	)
}
