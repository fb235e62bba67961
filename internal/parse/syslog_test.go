package parse

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// fieldsString renders fields as "k=v" lines for comparisons.
func fieldsString(fs []event.Field) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Name)
		b.WriteByte('=')
		b.WriteString(f.Value)
		b.WriteByte('\n')
	}
	return b.String()
}

// wantFields checks that every "k=v" in want is among ev's fields.
func wantFields(t *testing.T, in string, ev *event.Event, want ...string) {
	t.Helper()
	for _, w := range want {
		k, v, _ := strings.Cut(w, "=")
		got, ok := ev.Get(k)
		if !ok || got != v {
			t.Errorf("Parse(%q): %s = %q (present %v), want %q\nfields:\n%s", in, k, got, ok, v, fieldsString(ev.Fields))
		}
	}
}

func fixedNow() time.Time { return time.Date(2018, 1, 28, 0, 0, 0, 0, time.UTC) }

func TestParseSyslog(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	opts := SyslogOptions{Location: jst, Now: fixedNow}
	f := func(in, wantTime string, want ...string) {
		t.Helper()
		var ev event.Event
		if err := ParseSyslog([]byte(in), &ev, opts); err != nil {
			t.Fatalf("ParseSyslog(%q): %v", in, err)
		}
		if ev.Raw != in {
			t.Errorf("ParseSyslog(%q): Raw = %q", in, ev.Raw)
		}
		if wantTime != "" {
			wt, err := time.Parse(time.RFC3339Nano, wantTime)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Time != wt.UnixNano() {
				t.Errorf("ParseSyslog(%q): time = %s, want %s", in, event.FormatTime(ev.Time), wantTime)
			}
		}
		wantFields(t, in, &ev, want...)
	}
	// RFC 3164, local time, year inferred.
	f("<30>Jan 22 00:05:32 api-07 systemd[1]: Starting Rotate log files...", "2018-01-22T00:05:32+09:00",
		"syslog.priority=30", "syslog.facility=daemon", "syslog.severity=info", "syslog.hostname=api-07",
		"syslog.appname=systemd", "syslog.procid=1", "message=Starting Rotate log files...",
		"host.name=api-07", "process.name=systemd", "process.pid=1", "_host=api-07")
	// December line read in January: previous year.
	f("<13>Dec 31 23:59:59 h app: x", "2017-12-31T23:59:59+09:00", "syslog.appname=app", "message=x")
	// Space-padded day, fraction, no PID.
	f("<13>Jan  3 01:02:03.250 h app: hello", "2018-01-03T01:02:03.25+09:00", "message=hello")
	// Year in the stamp.
	f("<13>Feb 3 2019 01:02:03 h app: y", "2019-02-03T01:02:03+09:00", "syslog.hostname=h")
	// RFC 3339 in 3164.
	f("<13>2018-01-22T00:02:11.5Z h app[9]: z", "2018-01-22T00:02:11.5Z", "syslog.procid=9", "message=z")
	// Missing hostname.
	f("<13>Jan 22 00:00:00 sshd[22]: Accepted publickey for bob from 10.0.0.1 port 2222 ssh2", "",
		"syslog.appname=sshd", "user.name=bob", "source.ip=10.0.0.1", "source.port=2222", "event.outcome=success")
	// No PRI.
	f("Jan 22 00:00:00 host1 cron[5]: job", "2018-01-22T00:00:00+09:00", "syslog.hostname=host1", "message=job")
	// Relay double header: the inner host is the origin.
	f("<13>Jan 22 00:00:01 relay1 <30>Jan 22 00:00:00 origin app: m", "2018-01-22T00:00:00+09:00",
		"syslog.hostname=origin", "syslog.relay=relay1", "message=m", "syslog.priority=13")
	f("<13>Jan 22 00:00:01 relay1 Jan 22 00:00:00 origin app: m", "", "syslog.hostname=origin", "syslog.relay=relay1")
	f("Jan 22 00:00:01 relay1 <34>Jan 22 00:00:00 origin app: m", "", "syslog.hostname=origin", "syslog.priority=34", "syslog.severity=crit")
	// Cisco ASA: year in the stamp, empty tag.
	f("<166>Jan 22 2018 00:00:00 asa1 : %ASA-6-302013: Built outbound TCP connection", "2018-01-22T00:00:00+09:00",
		"syslog.hostname=asa1", "message=%ASA-6-302013: Built outbound TCP connection", "syslog.facility=local4")
	// PRI only: all is message.
	f("<13>something odd", "", "message=something odd", "syslog.severity=notice")
	// No tag.
	f("<13>Jan 22 00:00:00 host free text here", "", "syslog.hostname=host", "message=free text here")
	// RFC 5424.
	f("<30>1 2018-01-22T02:15:30.123165+09:00 bastion02 systemd 1 - - logrotate.service: Succeeded.",
		"2018-01-22T02:15:30.123165+09:00", "syslog.version=1", "syslog.hostname=bastion02",
		"syslog.appname=systemd", "syslog.procid=1", "message=logrotate.service: Succeeded.")
	f(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appl\"ic\]ation" eventID="1011"][examplePriority@32473 class="high"] `+"\xEF\xBB\xBF"+`An application event`,
		"2003-10-11T22:14:15.003Z", "syslog.msgid=ID47", "sd.exampleSDID@32473.iut=3",
		`sd.exampleSDID@32473.eventSource=Appl"ic]ation`, "sd.examplePriority@32473.class=high",
		"message=An application event", "syslog.facility=local4", "syslog.severity=notice")
	f("<13>1 - - - - - -", "", "syslog.version=1")
	// Content parsers behind syslog.
	f("<13>Jan 22 00:06:53 match-02 audisp-syslog: node=match-02 type=USER_LOGIN msg=audit(1516547213.981:100002): pid=21980 uid=0 auid=1000 ses=833 msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=? addr=10.1.2.3 terminal=/dev/pts/0 res=success'",
		"2018-01-21T15:06:53.981Z", "type=USER_LOGIN", "audit.serial=100002", "exe=/usr/sbin/sshd",
		"source.ip=10.1.2.3", "event.outcome=success", "process.executable=/usr/sbin/sshd", "process.pid=21980")
	f("<4>1 2018-01-22T02:30:07.123855+09:00 wallet-signer02 kernel - - - [UFW BLOCK] IN=eth0 OUT= MAC=00:50:56:aa:bb:cc SRC=10.99.0.13 DST=10.40.0.11 LEN=40 PROTO=TCP SPT=60579 DPT=3389 WINDOW=1024 SYN URGP=0",
		"", "SRC=10.99.0.13", "source.ip=10.99.0.13", "destination.port=3389", "network.transport=tcp", "event.action=block")
	f("<14>Jan 22 00:21:13 pa-edge01 CEF:0|Palo Alto Networks|PAN-OS|8.0.6|deny|TRAFFIC|3|rt=1516548073860 src=45.125.239.3 dst=198.51.100.10 spt=29536 dpt=3389 proto=TCP act=deny cs4Label=Source Zone cs4=untrust",
		"2018-01-21T15:21:13.860Z", "cef.device_vendor=Palo Alto Networks", "cef.name=TRAFFIC", "src=45.125.239.3",
		"cs4Label=Source Zone", "source.ip=45.125.239.3", "destination.port=3389", "event.action=deny", "syslog.hostname=pa-edge01")
}

func TestParseSyslogBad(t *testing.T) {
	f := func(in string) {
		t.Helper()
		var ev event.Event
		err := ParseSyslog([]byte(in), &ev, SyslogOptions{})
		if err == nil {
			t.Errorf("ParseSyslog(%q) succeeded, want error; fields:\n%s", in, fieldsString(ev.Fields))
			return
		}
		if err.Error() == "" || len(ev.Fields) != 0 {
			t.Errorf("ParseSyslog(%q) = %v with %d fields, want a message and no fields", in, err, len(ev.Fields))
		}
	}
	f("")
	f("<999>Jan 22 00:00:00 h a: m")
	f("<13")
	f("<x>foo")
	f("plain text")
	f("<13>1 2018-01-22T02:15:30Z host")
	f("<13>1 notatime host app - - - msg")
	f(`<13>1 2018-01-22T02:15:30Z host app - - [id a="1" msg`)
	f(`<13>1 2018-01-22T02:15:30Z host app - - [id a=1] msg`)
}

func TestSpaceToken(t *testing.T) {
	for _, s := range []string{"", " ", "a", "abc def", "2018-01-22T02:15:30.123165+09:00 host", "0123456789abcdef", "01234567 ", "0123456 89", "x\x80\xff y"} {
		for i := 0; i <= len(s); i++ {
			tok, j := spaceToken(s, i)
			wtok, wj := nextToken(s, i)
			if tok != wtok || j != wj {
				t.Errorf("spaceToken(%q, %d) = %q, %d, want %q, %d", s, i, tok, j, wtok, wj)
			}
		}
	}
}

// TestParseConcurrent: parsers share read-only tables and the coarse
// clock; run with -race.
func TestParseConcurrent(t *testing.T) {
	lines := append([]string{benchCEF[0], "<30>Jan 22 00:05:32 api-07 systemd[1]: Starting", "LEEF:1.0|V|P|1|E|src=1.2.3.4\tusrName=bob"}, benchCEF[1])
	want := make([]string, len(lines))
	p, _ := Lookup("auto")
	for i, l := range lines {
		want[i] = fieldsString(parseLine(t, p, []byte(l)).Fields)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 200; n++ {
				i := n % len(lines)
				var ev event.Event
				if err := p.Parse([]byte(lines[i]), &ev); err != nil || fieldsString(ev.Fields) != want[i] {
					t.Errorf("Parse(%q) = %v, fields\n%s\nwant\n%s", lines[i], err, fieldsString(ev.Fields), want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestSyslogHost checks ev.Host on syslog and JSON lines: the first
// host.name of the parse (set while normalizing when normalization adds
// it, without fillHost's scan), an existing Host kept, none without one.
func TestSyslogHost(t *testing.T) {
	for _, tc := range []struct{ parser, host, line, want string }{
		{"syslog", "", "<34>1 2024-05-01T10:00:00Z web-1 app 1 - - hello", "web-1"},
		{"syslog", "", "<34>1 2024-05-01T10:00:00Z - app 1 - - hello", ""},
		{"syslog", "recv", "<34>1 2024-05-01T10:00:00Z web-1 app 1 - - hello", "recv"},
		{"cef", "", "<14>Jan 22 00:31:13 fw1 CEF:0|V|P|1|s|n|1|host.name=other src=10.0.0.1", "fw1"},
		{"cef", "", "CEF:0|V|P|1|s|n|1|host.name=other src=10.0.0.1", "other"},
		{"auto", "", "Jan 22 00:31:13 db-2 sshd[7]: Accepted password for a from 10.0.0.1 port 1 ssh2", "db-2"},
		{"json", "", `{"level":"info","host":"api-06","msg":"x"}`, "api-06"},
		{"json", "", `{"host":{"name":"src-1"},"hostname":"other"}`, "src-1"},
		{"json", "recv", `{"host":"api-06"}`, "recv"},
		{"auto", "", `{"hostname":"api-07","host":"-"}`, "api-07"},
		{"json", "", `{"msg":"no host"}`, ""},
	} {
		p, _ := New(tc.parser, Options{})
		ev := event.Event{Host: tc.host}
		if err := ParseLine(p, []byte(tc.line), &ev); err != nil {
			t.Fatalf("%s %q: %v", tc.parser, tc.line, err)
		}
		if ev.Host != tc.want {
			t.Errorf("%s %q: Host = %q, want %q", tc.parser, tc.line, ev.Host, tc.want)
		}
	}
}

// TestClock8 compares clock8 with num and the colons, byte by byte, on
// every one- and two-byte change of a valid time.
func TestClock8(t *testing.T) {
	ref := func(s string) (int, int, int, bool) {
		hh, ok1 := num(s, 0, 2)
		mm, ok2 := num(s, 3, 2)
		ss, ok3 := num(s, 6, 2)
		return hh, mm, ss, len(s) >= 8 && ok1 && ok2 && ok3 && s[2] == ':' && s[5] == ':'
	}
	check := func(s string) {
		hh, mm, ss, ok := clock8(s, 0)
		rh, rm, rs, rok := ref(s)
		if ok != rok || (ok && (hh != rh || mm != rm || ss != rs)) {
			t.Fatalf("clock8(%q) = %d %d %d %v, want %d %d %d %v", s, hh, mm, ss, ok, rh, rm, rs, rok)
		}
	}
	bytes := []byte{0, '/', '0', '1', '5', '9', ':', ';', ' ', 'a', 0x80, 0xff}
	for _, base := range []string{"12:34:56", "00:00:00", "23:59:60", "99:99:99"} {
		check(base)
		check(base[:7])
		for i := 0; i < 8; i++ {
			for _, c := range bytes {
				b := []byte(base)
				b[i] = c
				check(string(b))
				for j := i + 1; j < 8; j++ {
					for _, d := range bytes {
						b2 := append([]byte(nil), b...)
						b2[j] = d
						check(string(b2))
					}
				}
			}
		}
	}
}

// TestParsePRI compares parsePRI (and its fast path) with the plain loop
// on every PRI of one to four digits, leading zeros included, and on
// truncated and broken ones.
func TestParsePRI(t *testing.T) {
	ref := func(s string) (int, int, bool) {
		pri, i := 0, 1
		for ; i < len(s) && i <= 4 && s[i] >= '0' && s[i] <= '9'; i++ {
			pri = pri*10 + int(s[i]-'0')
		}
		if i == 1 || i > 4 || i >= len(s) || s[i] != '>' || pri > 191 {
			return 0, 0, false
		}
		return pri, i + 1, true
	}
	check := func(s string) {
		t.Helper()
		pri, n, ok := parsePRI(s)
		rp, rn, rok := ref(s)
		if pri != rp || n != rn || ok != rok {
			t.Fatalf("parsePRI(%q) = %d %d %v, want %d %d %v", s, pri, n, ok, rp, rn, rok)
		}
	}
	for _, w := range []string{"%d", "%02d", "%03d", "%04d"} {
		for v := range 1000 {
			p := fmt.Sprintf("<"+w, v)
			for _, tail := range []string{">", ">Jan", "> ", "", "x>", "0>", ">>>>"} {
				check(p + tail)
			}
		}
	}
	for _, s := range []string{"", "<", "<>", "<>Jan 1", "<1", "<12", "<123", "<1234", "<a>", "<1a>x", "<19a>", "<1>", "<9>x"} {
		check(s)
	}
}
