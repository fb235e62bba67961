package parse

import "testing"

func FuzzLEEF(f *testing.F) {
	fuzzParser(f, "leef",
		"LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tdevTime=1516548073860",
		"LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5",
		"LEEF:2.0|V|P|1|E|x5E|src=10.0.1.8^dst=10.0.0.5",
		"<13>Jan 22 00:00:00 qradar LEEF:1.0|V|P|1|E|src=1.2.3.4",
	)
}
