package parse

import "testing"

func TestKV(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "kv", in, want...) }
	f(`date=2024-05-01 time=10:00:00 devname=fw1 srcip=10.1.1.1 srcport=5000 dstip=8.8.8.8 dstport=53 proto=17 action="accept" msg="a \"quoted\" word"`,
		"devname=fw1", "srcip=10.1.1.1", "action=accept", `msg=a "quoted" word`, "source.ip=10.1.1.1", "source.port=5000",
		"destination.ip=8.8.8.8", "destination.port=53", "event.action=accept", "_time=2024-05-01T10:00:00Z")
	f(`some prefix text user=alice src=::1 note='single quoted' t=2024-05-01T10:00:00Z`, "user=alice", "user.name=alice",
		"source.ip=::1", "note=single quoted", "_time=2024-05-01T10:00:00Z")
	f(`a=1 b= c="unterminated`, "a=1", "c=unterminated")
	f(`acquire lock=233570404, flags=0x1, tag="View Lock", uid=10037`, "lock=233570404", "flags=0x1", "tag=View Lock", "uid=10037")
}

func TestLogfmt(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "logfmt", in, want...) }
	f(`level=info ts=2018-01-21T15:02:21.211Z caller=textfile.go:227 collector=textfile msg="updated metrics" debug`,
		"level=info", "caller=textfile.go:227", "msg=updated metrics", "debug=true", "log.level=info", "_time=2018-01-21T15:02:21.211Z")
}

func TestKVBad(t *testing.T) {
	for _, in := range []string{"", "no pairs here", "=== ="} {
		parseBad(t, "kv", in)
		parseBad(t, "logfmt", in)
	}
}
