package parse

import (
	"bufio"
	"os"
	"testing"
)

const winlogbeat4624 = `{"@timestamp":"2018-01-21T15:00:31.587Z","agent":{"ephemeral_id":"f16df67d-bffd-4678-a704-2c2e77201f1b","id":"9f9f1496-88e9-4203-a44d-0ff1c42c0cf8","name":"WS-OPS-007","type":"winlogbeat","version":"8.12.2"},"ecs":{"version":"8.0.0"},"host":{"architecture":"x86_64","hostname":"WS-OPS-007","id":"9344aa14-81c5-4c68-a568-c2c4dba7c755","ip":["10.20.2.26"],"mac":["00-50-56-2F-E5-9D"],"name":"WS-OPS-007","os":{"build":"19045.3693","family":"windows","kernel":"10.0.19041.3693","name":"Windows 10 Enterprise","platform":"windows","type":"windows","version":"10.0"}},"event":{"action":"Logon","code":"4624","created":"2018-01-21T15:00:33.187Z","kind":"event","outcome":"success","provider":"Microsoft-Windows-Security-Auditing"},"log":{"level":"information"},"winlog":{"api":"wineventlog","channel":"Security","computer_name":"WS-OPS-007.kaminari.local","event_data":{"SubjectUserSid":"S-1-5-18","SubjectUserName":"WS-OPS-007$","SubjectDomainName":"KAMINARI","SubjectLogonId":"0x3e7","TargetUserSid":"S-1-5-21-3623811015-3361044348-30300820-1108","TargetUserName":"e.garcia","TargetDomainName":"KAMINARI","TargetLogonId":"0x6f932e","LogonType":"11","LogonProcessName":"User32 ","AuthenticationPackageName":"Negotiate","WorkstationName":"-","LogonGuid":"{7b1eecf6-e4db-4841-a175-6a456005185b}","TransmittedServices":"-","LmPackageName":"-","KeyLength":"0","ProcessId":"0x260","ProcessName":"C:\\Windows\\System32\\svchost.exe","IpAddress":"127.0.0.1","IpPort":"58407","ImpersonationLevel":"%%1833","RestrictedAdminMode":"-","TargetOutboundUserName":"-","TargetOutboundDomainName":"-","VirtualAccount":"%%1843","TargetLinkedLogonId":"0x0","ElevatedToken":"%%1843"},"event_id":"4624","keywords":["Audit Success"],"opcode":"Info","process":{"pid":608,"thread":{"id":844}},"provider_guid":"{54849625-5478-4994-a5ba-3e3b0328c30d}","provider_name":"Microsoft-Windows-Security-Auditing","record_id":"305895","task":"Logon","version":2}}`

const evtxSysmon1 = `{"Event": {"#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"}, "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9"}}, "EventID": 1, "Version": 5, "Level": 4, "Task": 1, "Opcode": 0, "Keywords": "0x8000000000000000", "TimeCreated": {"#attributes": {"SystemTime": "2025-12-15T12:38:20.856389Z"}}, "EventRecordID": 75102, "Correlation": null, "Execution": {"#attributes": {"ProcessID": 3320, "ThreadID": 4216}}, "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "swachchhanda", "Security": {"#attributes": {"UserID": "S-1-5-18"}}}, "EventData": {"RuleName": "-", "UtcTime": "2025-12-15 12:38:20.853", "ProcessGuid": "0197231E-013C-6940-3306-000000000D00", "ProcessId": 12472, "Image": "C:\\Windows\\System32\\wbem\\WMIC.exe", "FileVersion": "10.0.26100.5074 (WinBuild.160101.0800)", "Description": "WMI Commandline Utility", "Product": "Microsoft® Windows® Operating System", "Company": "Microsoft Corporation", "OriginalFileName": "wmic.exe", "CommandLine": "\"C:\\WINDOWS\\System32\\Wbem\\WMIC.exe\" /Namespace:\\\\root\\Microsoft\\Windows\\Defender class MSFT_MpPreference call Add ExclusionPath=\\ATOMICREDTEAM\\", "CurrentDirectory": "C:\\WINDOWS\\system32\\", "User": "swachchhanda\\xodih", "LogonGuid": "0197231E-5032-6940-AAE2-070000000000", "LogonId": "0x7e2aa", "TerminalSessionId": 1, "IntegrityLevel": "High", "Hashes": "MD5=0C0A46AAA84E8689D9EE731E6799283B,SHA256=2EF794C4940AFEA56C6D6D3B9BC9E66965BC7333E79C5DCB2DEF3C0E36F0834C,IMPHASH=68F5781FF188454492D1B3FD57484D85", "ParentProcessGuid": "0197231E-EDAB-693F-1D05-000000000D00", "ParentProcessId": 14012, "ParentImage": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "ParentCommandLine": "\"C:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -ep bypass", "ParentUser": "swachchhanda\\xodih"}}, "_eval_id": "0b8db00824d0d5cd"}`

func TestWindows(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "windows", in, want...) }
	f(winlogbeat4624, "_time=2018-01-21T15:00:31.587Z", "_host=WS-OPS-007", "event.code=4624", "host.name=WS-OPS-007",
		"winlog.event_data.TargetUserName=e.garcia", "user.name=e.garcia", "user.domain=KAMINARI", "source.ip=127.0.0.1",
		"source.port=58407", "winlog.logon.type=11", "winlog.process.pid=608")
	f(evtxSysmon1, "_time=2025-12-15T12:38:20.856389Z", "event.code=1", "host.name=swachchhanda", "_host=swachchhanda",
		"winlog.channel=Microsoft-Windows-Sysmon/Operational", "event.provider=Microsoft-Windows-Sysmon",
		`process.executable=C:\Windows\System32\wbem\WMIC.exe`, `process.parent.executable=C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		"process.pid=12472", "process.parent.pid=14012", "user.name=xodih", "user.domain=swachchhanda",
		"file.hash.sha256=2EF794C4940AFEA56C6D6D3B9BC9E66965BC7333E79C5DCB2DEF3C0E36F0834C",
		"process.hash.sha256=2EF794C4940AFEA56C6D6D3B9BC9E66965BC7333E79C5DCB2DEF3C0E36F0834C", "process.pe.original_file_name=wmic.exe",
		"Event.EventData.OriginalFileName=wmic.exe")
	// Security 4688 with hex pids; the subject is the actor.
	f(`{"winlog":{"event_id":"4688","event_data":{"SubjectUserName":"alice","SubjectDomainName":"CORP","TargetUserName":"-","NewProcessId":"0x6624","NewProcessName":"C:\\x.exe","ProcessId":"0x8344","ParentProcessName":"C:\\p.exe"}}}`,
		"user.name=alice", "process.pid=26148", `process.executable=C:\x.exe`, `process.parent.executable=C:\p.exe`)
	// evtx EventID with attributes, audit failure keyword.
	f(`{"Event":{"System":{"EventID":{"#text":4625,"#attributes":{"Qualifiers":""}},"Keywords":"0x8010000000000000","Computer":"dc1"},"EventData":{"TargetUserName":"bob","IpAddress":"-","IpPort":"0"}}}`,
		"event.code=4625", "user.name=bob", "event.outcome=failure")
}

func TestWindowsBad(t *testing.T) {
	for _, in := range []string{"", "{", `{"a":1}`, `{"winlog":{"event_id":1}`, "not json"} {
		parseBad(t, "windows", in)
	}
}

// TestWindowsSigmaDev parses every event of the Sigma development set
// (evtx_dump JSON layout).
func TestWindowsSigmaDev(t *testing.T) {
	fh, err := os.Open("../../../shared/testdata/sigma/dev/logs.jsonl")
	if err != nil {
		t.Skipf("shared Sigma test data absent: %v", err)
	}
	defer fh.Close()
	p, _ := Lookup("windows")
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	n := 0
	for sc.Scan() {
		n++
		var ev = parseLine(t, p, sc.Bytes())
		for _, name := range []string{"event.code", "host.name", "winlog.channel", "event.provider"} {
			if _, ok := ev.Get(name); !ok {
				t.Errorf("line %d: no %s", n, name)
			}
		}
		if ev.Time == 0 {
			t.Errorf("line %d: no time", n)
		}
	}
	if n == 0 {
		t.Error("no events read")
	}
}

func TestWindowsUserData(t *testing.T) {
	parseOK(t, "windows", `{"Event":{"System":{"EventID":1102,"Computer":"dc1","Channel":"Security"},"UserData":{"LogFileCleared":{"SubjectUserName":"mallory","SubjectDomainName":"CORP"}}}}`,
		"event.code=1102", "user.name=mallory", "user.domain=CORP")
}

func TestWindowsField(t *testing.T) {
	for _, in := range []string{winlogbeat4624, evtxSysmon1} {
		ev := parseOK(t, "windows", in)
		for _, name := range []string{"EventID", "Channel", "Computer", "Provider_Name"} {
			if v, ok := WindowsField(ev, name); !ok || v == "" {
				t.Errorf("WindowsField(%s) = %q, %v", name, v, ok)
			}
		}
	}
	ev := parseOK(t, "windows", evtxSysmon1)
	if v, _ := WindowsField(ev, "OriginalFileName"); v != "wmic.exe" {
		t.Errorf("WindowsField(OriginalFileName) = %q", v)
	}
	ev = parseOK(t, "windows", winlogbeat4624)
	if v, _ := WindowsField(ev, "LogonType"); v != "11" {
		t.Errorf("WindowsField(LogonType) = %q", v)
	}
	if v, _ := WindowsField(ev, "EventID"); v != "4624" {
		t.Errorf("WindowsField(EventID) = %q", v)
	}
	if _, ok := WindowsField(ev, "NoSuchField"); ok {
		t.Error("WindowsField(NoSuchField) found")
	}
}
