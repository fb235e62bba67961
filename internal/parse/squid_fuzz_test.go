package parse

import "testing"

func FuzzSquid(f *testing.F) {
	fuzzParser(f, "squid",
		"1516547388.593  88790 10.20.3.27 TCP_TUNNEL/200 132275 CONNECT teams.microsoft.com:443 s.wilson HIER_DIRECT/23.52.51.75 -",
		"1516552089.845    206 10.20.1.31 TCP_DENIED/403 7979 GET http://u:p@[::1]:8080/MFEw?x=1 - HIER_NONE/- text/html",
	)
}
