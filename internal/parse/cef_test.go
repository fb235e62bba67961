package parse

import "testing"

func TestCEF(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "cef", in, want...) }
	f(`CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232`,
		"cef.version=0", "cef.device_vendor=Security", "cef.device_product=threatmanager", "cef.signature_id=100",
		"cef.name=worm successfully stopped", "cef.severity=10", "src=10.0.0.1", "spt=1232",
		"source.ip=10.0.0.1", "destination.ip=2.1.2.2", "source.port=1232", "event.code=100", "observer.vendor=Security")
	// Escapes in header and extension; values with spaces; trailing key.
	f(`CEF:0|Ven\|dor|Prod\\uct|1|sig|Name|5|msg=a \= b \\ c\nd fname=My File.doc suser=alice act=blocked x`,
		`cef.device_vendor=Ven|dor`, `cef.device_product=Prod\uct`, "msg=a = b \\ c\nd", "fname=My File.doc",
		"suser=alice", "user.name=alice", "source.user.name=alice", "act=blocked x", "event.action=blocked x")
	// rt as a date, inside syslog.
	f(`<134>Feb 1 2019 10:00:00 fw1 CEF:0|V|P|1|1|n|3|rt=Feb 01 2019 10:00:05 src=1.1.1.1 proto=UDP`,
		"_time=2019-02-01T10:00:05Z", "syslog.hostname=fw1", "network.transport=udp", "_host=fw1")
	// Empty extension, empty header fields.
	f(`CEF:0|||||||`, "cef.version=0")
	f(`CEF:0|a|b|c|d|e|7`, "cef.severity=7")
	// Poisoned values do not poison ECS or the rest.
	ev := parseOK(t, "cef", `CEF:0|V|P|1|1|n|3|src=not-an-ip spt=99999999999 dst=8.8.8.8`, "src=not-an-ip", "destination.ip=8.8.8.8")
	noField(t, ev, "source.ip", "source.port")
}

func TestCEFBad(t *testing.T) {
	for _, in := range []string{"", "CEF:", "CEF:0|a|b|c|d|e", "CEF:0|a|b|c|d|e|", `CEF:0|a|b|c|d|e|f\|`, "hello", "<13>Jan 1 00:00:00 h app: nothing"} {
		parseBad(t, "cef", in)
	}
}
