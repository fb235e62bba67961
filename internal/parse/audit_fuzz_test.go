package parse

import "testing"

func FuzzAudit(f *testing.F) {
	fuzzParser(f, "auditd",
		`type=SYSCALL msg=audit(1516547213.981:100002): arch=c000003e syscall=59 success=yes exit=0 pid=200 comm="curl" exe="/usr/bin/curl"`,
		`type=EXECVE msg=audit(1516547213.981:7): argc=3 a0="wget" a1="-q" a2=687474703A2F2F782F792E7368`,
		`node=s type=USER_CMD msg=audit(1516547213.981:8): pid=5 msg='cwd="/home/a" cmd=6C73202D6C61 res=success'`,
		`type=PROCTITLE msg=audit(1516547213.981:7): proctitle=2F62696E2F7368002D63006964`,
	)
}
