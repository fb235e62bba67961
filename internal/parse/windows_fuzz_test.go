package parse

import "testing"

func FuzzWindows(f *testing.F) {
	fuzzParser(f, "windows", winlogbeat4624, evtxSysmon1,
		`{"Event":{"System":{"EventID":{"#text":4625},"Keywords":"0x8010000000000000"},"EventData":{"Hashes":"SHA256=,MD5","NewProcessId":"0xZZ"}}}`)
}
