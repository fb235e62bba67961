package parse

import "testing"

func FuzzAuto(f *testing.F) {
	fuzzParser(f, "auto", winlogbeat4624, cloudtrailRecord,
		"<30>Jan 22 00:05:32 api-07 systemd[1]: x",
		"2018-01-22T00:05:32Z api-07 systemd[1]: x",
		"CEF:0|V|P|1|1|n|3|src=1.1.1.1",
		"LEEF:1.0|V|P|1|E|src=1.2.3.4",
		"type=SYSCALL msg=audit(1516547213.981:1): pid=2 exe=\"/bin/x\"",
		"1516547388.593  88790 10.20.3.27 TCP_TUNNEL/200 132275 CONNECT teams.microsoft.com:443 s.wilson HIER_DIRECT/23.52.51.75 -",
		"22-Jan-2018 00:19:52.999 queries: info: client @0x7f 10.20.16.101#47300 (a.b): query: a.b IN A + (10.0.0.53)",
		`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.0" 200 2326`,
		`2024-05-01 10:00:00,123 INFO user=alice src=10.0.0.1 action=login`,
	)
}
