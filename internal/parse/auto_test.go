package parse

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
)

func TestAuto(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "auto", in, want...) }
	f(winlogbeat4624, "user.name=e.garcia")
	f(cloudtrailRecord, "cloud.provider=aws")
	f("<30>Jan 22 00:05:32 api-07 systemd[1]: x", "syslog.appname=systemd")
	f("Jan 22 00:05:32 api-07 systemd[1]: x", "syslog.appname=systemd")
	f("2018-01-22T00:05:32Z api-07 systemd[1]: x", "syslog.appname=systemd", "_time=2018-01-22T00:05:32Z")
	f("CEF:0|V|P|1|1|n|3|src=1.1.1.1", "source.ip=1.1.1.1")
	f("LEEF:1.0|V|P|1|E|src=1.2.3.4", "source.ip=1.2.3.4")
	f("type=SYSCALL msg=audit(1516547213.981:1): pid=2 exe=\"/bin/x\"", "process.executable=/bin/x")
	f("1516547388.593  88790 10.20.3.27 TCP_TUNNEL/200 132275 CONNECT teams.microsoft.com:443 s.wilson HIER_DIRECT/23.52.51.75 -", "url.domain=teams.microsoft.com")
	f("22-Jan-2018 00:19:52.999 queries: info: client @0x7f 10.20.16.101#47300 (a.b): query: a.b IN A + (10.0.0.53)", "dns.question.name=a.b")
	f(`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.0" 200 2326`, "url.path=/x")
	f(`host.example - - [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.0" 200 2326`, "source.domain=host.example")
	f(`2024-05-01 10:00:00,123 INFO user=alice src=10.0.0.1 action=login`, "user.name=alice", "source.ip=10.0.0.1", "_time=2024-05-01T10:00:00.123Z")
	// Plain text: only the time.
	ev := parseOK(t, "auto", "081109 203518 143 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating")
	if len(ev.Fields) != 0 {
		t.Errorf("plain text got fields:\n%s", fieldsString(ev.Fields))
	}
	parseOK(t, "auto", "")
	// A number-led line that is no known format is plain text, not an error.
	parseOK(t, "auto", "12345 hello")
	parseOK(t, "auto", "Jan is a month")
}

func TestAutoBad(t *testing.T) {
	for _, in := range []string{"{", `{"a":}`, "<999>x", "<13>1 2018-01-22T02:15:30Z host"} {
		parseBad(t, "auto", in)
	}
	// The next line after a bad one parses normally with the same parser.
	var ev event.Event
	if err := Auto.Parse([]byte("<13>Jan 22 00:00:00 h a: ok"), &ev); err != nil {
		t.Fatal(err)
	}
}
