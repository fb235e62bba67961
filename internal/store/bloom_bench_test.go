package store

import "testing"

// BenchmarkEachTokenHash tokenizes and hashes log lines of the kinds the
// bench data holds, the bloom builder's inner loop.
func BenchmarkEachTokenHash(b *testing.B) {
	lines := []string{
		`<38>Jan  1 00:00:07 lnx-012 sshd[21412]: Failed password for invalid user admin from 185.220.101.7 port 51234 ssh2`,
		`CEF:0|Fortinet|FortiGate|7.2|13|traffic deny|5|rt=1767225607000 dvchost=fw-003 src=10.20.3.4 spt=51514 dst=93.184.216.34 dpt=443 proto=TCP act=deny`,
		`10.1.2.3 - zack.hill [01/Jan/2026:00:00:07 +0000] "GET /api/v2/orders?id=77 HTTP/1.1" 200 5123 "-" "Mozilla/5.0" rt=0.023 req=9f2c1a7e`,
		`{"ts":"2026-01-01T00:00:07Z","level":"info","user":"Ivan.Collins","action":"withdraw","amount":"1200.50","asset":"BTC","request_id":"c0ffee12"}`,
		`EventID=1 Image=C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe User=CORP\ivan.collins Hashes=SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08`,
	}
	var n int
	for _, l := range lines {
		n += len(l)
	}
	var sink uint64
	b.SetBytes(int64(n))
	b.ResetTimer()
	start := cpuTime()
	for range b.N {
		for _, l := range lines {
			eachTokenHash(l, func(h uint64) { sink ^= h })
		}
	}
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N*len(lines)), "cpu-ns/line")
	_ = sink
}
