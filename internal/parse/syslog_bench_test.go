package parse

import "testing"

func BenchmarkSyslog3164(b *testing.B) {
	p, _ := Lookup("syslog")
	benchParser(b, p, []string{
		"<30>Jan 22 00:05:32 api-07 systemd[1]: Starting Rotate log files...",
		"<86>Jan 22 00:07:12 bastion01 sshd[2231]: Accepted publickey for t.suzuki from 10.20.16.44 port 51234 ssh2: ED25519 SHA256:LrNhNCrXKPrw/ElNtNWNLxZTdeNHYfAbTGZgQSzGCRb",
		"<30>Jan 22 00:02:21 redis-02 node_exporter[1569]: level=info ts=2018-01-21T15:02:21.211Z caller=textfile.go:227 collector=textfile msg=\"updated metrics\"",
	})
}

func BenchmarkSyslog5424(b *testing.B) {
	p, _ := Lookup("syslog")
	benchParser(b, p, []string{
		"<30>1 2018-01-22T02:15:30.123165+09:00 bastion02 systemd 1 - - logrotate.service: Succeeded.",
		"<86>1 2018-01-22T02:16:30.123165+09:00 bastion02 sshd 2231 - - Received disconnect from 10.20.16.44 port 51234:11: disconnected by user",
	})
}
