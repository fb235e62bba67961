package parse

import "testing"

func FuzzSyslog(f *testing.F) {
	fuzzParser(f, "syslog",
		"<30>Jan 22 00:05:32 api-07 systemd[1]: Starting Rotate log files...",
		"<13>Jan 22 00:00:01 relay1 <30>Jan 22 00:00:00 origin app: m",
		"<13>2018-01-22T00:02:11.5Z h app[9]: z",
		`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appl\"ic\]ation"] msg`,
		"<4>1 2018-01-22T02:30:07.123855+09:00 wallet-signer02 kernel - - - [UFW BLOCK] IN=eth0 OUT= SRC=10.99.0.13 DST=10.40.0.11 PROTO=TCP SPT=60579 DPT=3389",
		"<13>Jan 22 00:06:53 m audisp-syslog: node=m type=EXECVE msg=audit(1516547213.981:2): argc=2 a0=\"ls\" a1=2D6C61",
		"<86>Jan 22 00:00:00 h sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/cat /etc/shadow",
		"<14>Jan 22 00:21:13 fw CEF:0|V|P|1|100|name|5|src=1.2.3.4 msg=a\\=b c",
		"Jan  2 03:04:05 host sshd[1]: Failed password for invalid user x from ::1 port 22 ssh2",
	)
}

func FuzzSpaceToken(f *testing.F) {
	for _, s := range []string{"abc def", "2018-01-22T02:15:30.123165+09:00 host", "0123456789abcdef"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, at uint8) {
		i := int(at) % (len(s) + 1)
		tok, j := spaceToken(s, i)
		if wtok, wj := nextToken(s, i); tok != wtok || j != wj {
			t.Fatalf("spaceToken(%q, %d) = %q, %d, want %q, %d", s, i, tok, j, wtok, wj)
		}
	})
}
