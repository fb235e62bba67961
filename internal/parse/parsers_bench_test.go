package parse

import "testing"

// Benchmarks of the formats without their own _bench_test.go file. Lines are
// typical of each source (taken from the scenario corpus).

const benchSysmon = `{"@timestamp":"2018-01-21T15:12:20.384Z","agent":{"ephemeral_id":"f16df97d-bffd-4b91-a704-2d2e772020ce","id":"9f9f1596-88e9-43b6-a44d-12f1c42c1211","name":"WS-OPS-004","type":"winlogbeat","version":"8.12.2"},"ecs":{"version":"8.0.0"},"host":{"architecture":"x86_64","hostname":"WS-OPS-004","id":"9344ad14-81c5-4181-a568-bfc4dba7c23c","ip":["10.20.2.23"],"mac":["00-50-56-2D-E5-9D"],"name":"WS-OPS-004","os":{"build":"19045.3693","family":"windows","kernel":"10.0.19041.3693","name":"Windows 10 Enterprise","platform":"windows","type":"windows","version":"10.0"}},"event":{"action":"Process Create (rule: ProcessCreate)","code":"1","created":"2018-01-21T15:12:20.766Z","kind":"event","provider":"Microsoft-Windows-Sysmon"},"log":{"level":"information"},"winlog":{"api":"wineventlog","channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"WS-OPS-004.kaminari.local","event_data":{"RuleName":"-","UtcTime":"2018-01-21 15:12:20.384","ProcessGuid":"{c76d3bea-a0f7-837b-3f04-4393f7bf4f94}","ProcessId":"29000","Image":"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe","FileVersion":"10.0.19041.1","Description":"Google Chrome","Product":"Google Chrome","Company":"Google LLC","OriginalFileName":"chrome.exe","CommandLine":"\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --lang=en-US --device-scale-factor=1 --num-raster-threads=4 --enable-main-frame-before-activation --renderer-client-id=2180 --time-ticks-at-unix-epoch=-1516750000000000 --mojo-platform-channel-handle=2180 /prefetch:1","CurrentDirectory":"C:\\Windows\\system32\\","User":"KAMINARI\\m.ito","LogonGuid":"{26c27547-7634-408d-9809-0d88ef69f660}","LogonId":"0x2a4a1a","TerminalSessionId":"1","IntegrityLevel":"Medium","Hashes":"SHA256=485F8EF4CC6FA5F5EB3039327494B2991386E70AE226D0806EA82075BA7FB7E1,IMPHASH=23A24F8CAFF75A5181F6D3DE69A0AAD8","ParentProcessGuid":"{5337347b-eac7-2de7-c051-003c8127aae3}","ParentProcessId":"44848","ParentImage":"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe","ParentCommandLine":"\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\"","ParentUser":"KAMINARI\\m.ito"},"event_id":"1","opcode":"Info","process":{"pid":3236,"thread":{"id":3448}},"provider_guid":"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}","provider_name":"Microsoft-Windows-Sysmon","record_id":"282138","task":"Process Create (rule: ProcessCreate)","user":{"domain":"NT AUTHORITY","identifier":"S-1-5-18","name":"SYSTEM","type":"User"},"version":5}}`

func benchNamed(b *testing.B, name string, lines ...string) {
	p, ok := Lookup(name)
	if !ok {
		b.Fatalf("no parser %q", name)
	}
	benchParser(b, p, lines)
}

func BenchmarkLEEF(b *testing.B) {
	benchNamed(b, "leef", "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black\tdevTime=1516548073860")
}

func BenchmarkKV(b *testing.B) {
	benchNamed(b, "kv", `date=2024-05-01 time=10:00:00 devname=fw1 srcip=10.1.1.1 srcport=5000 dstip=8.8.8.8 dstport=53 proto=17 action="accept" msg="a quoted word"`)
}

func BenchmarkLogfmt(b *testing.B) {
	benchNamed(b, "logfmt", `level=info ts=2018-01-21T15:02:21.211Z caller=textfile.go:227 collector=textfile msg="updated metrics"`)
}

func BenchmarkAudit(b *testing.B) {
	benchNamed(b, "auditd", `type=SYSCALL msg=audit(1516547213.981:100002): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid=100 pid=200 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="curl" exe="/usr/bin/curl" key="exec"`)
}

func BenchmarkSquid(b *testing.B) {
	benchNamed(b, "squid", "1516547388.593  88790 10.20.3.27 TCP_TUNNEL/200 132275 CONNECT teams.microsoft.com:443 s.wilson HIER_DIRECT/23.52.51.75 -",
		"1516552089.845    206 10.20.1.31 TCP_MISS/200 7979 GET http://ocsp.digicert.com/MFEwTzBNMEswSTAJBgUrDgMCGgUABBQ n.rossi HIER_DIRECT/104.18.206.178 application/octet-stream")
}

func BenchmarkBIND(b *testing.B) {
	benchNamed(b, "bind", "22-Jan-2018 00:19:52.999 queries: info: client @0x7f23aa4c8671 10.20.16.101#47300 (redis-02.kaminari.local): query: redis-02.kaminari.local IN A + (10.0.0.53)")
}

func BenchmarkAccess(b *testing.B) {
	benchNamed(b, "access", `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=b HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`)
}

func BenchmarkWindowsWinlogbeat(b *testing.B) { benchNamed(b, "windows", benchSysmon, winlogbeat4624) }

func BenchmarkWindowsEvtx(b *testing.B) { benchNamed(b, "windows", evtxSysmon1) }

func BenchmarkCloudTrail(b *testing.B) { benchNamed(b, "cloudtrail", cloudtrailRecord) }

func BenchmarkJSONApp(b *testing.B) {
	benchNamed(b, "json", `{"ts":"2018-01-21T15:08:54.970Z","level":"info","service":"kaminari-matching","host":"api-06","event":"order_placed","request_id":"e97443cd1cb3db7c","user_id":"u_1017591","src_ip":"111.231.30.217","pair":"ETH/BTC","side":"buy","order_type":"market","qty":3.530000}`)
}

func BenchmarkGrok(b *testing.B) {
	p, err := NewGrok("bench", []string{`^%{IPORHOST:source.address} %{USER:ident} %{USER:user.name} \[%{HTTPDATE:timestamp}\] "%{WORD:http.request.method} %{NOTSPACE:url.original} HTTP/%{NUMBER:http.version}" %{INT:http.response.status_code} %{INT:http.response.body.bytes}`}, GrokOptions{})
	if err != nil {
		b.Fatal(err)
	}
	benchParser(b, p, []string{`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`})
}

func BenchmarkAutoMixed(b *testing.B) {
	benchNamed(b, "auto", benchCEF[0], benchSysmon, cloudtrailRecord,
		"<30>Jan 22 00:05:32 api-07 systemd[1]: Starting Rotate log files...",
		"1516547388.593  88790 10.20.3.27 TCP_TUNNEL/200 132275 CONNECT teams.microsoft.com:443 s.wilson HIER_DIRECT/23.52.51.75 -",
		"22-Jan-2018 00:19:52.999 queries: info: client @0x7f23aa4c8671 10.20.16.101#47300 (redis-02.kaminari.local): query: redis-02.kaminari.local IN A + (10.0.0.53)")
}
