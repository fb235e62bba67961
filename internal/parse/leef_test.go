package parse

import "testing"

func TestLEEF(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "leef", in, want...) }
	f("LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black\tdevTime=1516548073860",
		"leef.version=1.0", "leef.vendor=Microsoft", "leef.product=MSExchange", "leef.product_version=4.0 SP1", "leef.event_id=15345",
		"src=192.0.2.0", "usrName=joe.black", "source.ip=192.0.2.0", "destination.port=21", "user.name=joe.black",
		"event.code=15345", "_time=2018-01-21T15:21:13.86Z")
	f("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21",
		"src=10.0.1.8", "dst=10.0.0.5", "source.port=81")
	f("LEEF:2.0|V|P|1|E|x5E|src=10.0.1.8^dst=10.0.0.5", "src=10.0.1.8", "dst=10.0.0.5")
	// Spaces instead of the announced tab.
	f("LEEF:1.0|V|P|1|E|src=1.2.3.4 dst=5.6.7.8 usrName=a b", "src=1.2.3.4", "dst=5.6.7.8", "usrName=a b")
	f("<13>Jan 22 00:00:00 qradar LEEF:1.0|V|P|1|E|src=1.2.3.4", "syslog.hostname=qradar", "src=1.2.3.4")
}

func TestLEEFBad(t *testing.T) {
	for _, in := range []string{"", "LEEF:", "LEEF:1.0|a|b|c", "nope"} {
		parseBad(t, "leef", in)
	}
}
