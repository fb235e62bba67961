package parse

import (
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

func TestAudit(t *testing.T) {
	f := func(in string, want ...string) { t.Helper(); parseOK(t, "auditd", in, want...) }
	f(`type=SYSCALL msg=audit(1516547213.981:100002): arch=c000003e syscall=59 success=yes exit=0 ppid=100 pid=200 auid=1000 uid=0 euid=0 comm="curl" exe="/usr/bin/curl" key="exec"`,
		"_time=2018-01-21T15:06:53.981Z", "audit.serial=100002", "type=SYSCALL", "syscall=59", "comm=curl",
		"event.action=syscall", "process.pid=200", "process.parent.pid=100", "process.executable=/usr/bin/curl",
		"process.name=curl", "user.id=0", "user.audit.id=1000", "event.outcome=success")
	f(`type=EXECVE msg=audit(1516547213.981:7): argc=3 a0="wget" a1="-q" a2=687474703A2F2F782F792E7368`,
		"a0=wget", "a2=http://x/y.sh", "process.command_line=wget -q http://x/y.sh")
	f(`type=PROCTITLE msg=audit(1516547213.981:7): proctitle=2F62696E2F7368002D63006964`,
		"process.title=/bin/sh -c id", "process.command_line=/bin/sh -c id")
	f(`node=signer01 type=USER_CMD msg=audit(1516547213.981:8): pid=5 uid=1000 auid=1000 ses=3 msg='cwd="/home/a" cmd=6C73202D6C61 exe="/usr/bin/sudo" terminal=pts/0 res=success'`,
		"node=signer01", "host.name=signer01", "cwd=/home/a", "cmd=ls -la", "process.command_line=ls -la", "event.outcome=success",
		"process.working_directory=/home/a", "_host=signer01")
	f(`type=USER_LOGIN msg=audit(1516547213.981:9): pid=1 uid=0 msg='op=login acct="root" exe="/usr/sbin/sshd" hostname=? addr=203.0.113.5 terminal=ssh res=failed'`,
		"acct=root", "user.name=root", "source.ip=203.0.113.5", "event.outcome=failure")
}

func TestAuditBad(t *testing.T) {
	for _, in := range []string{"", "type=SYSCALL no stamp", "hello type=X msg=audit(1:2):", "type=X msg=audit(garbage):"} {
		parseBad(t, "auditd", in)
	}
}

func TestAuditNestingBounded(t *testing.T) {
	line := "type=USER_CMD msg=audit(1516547213.981:8): " + strings.Repeat("msg='", 100000)
	p, _ := Lookup("auditd")
	var ev event.Event
	if err := p.Parse([]byte(line), &ev); err != nil {
		t.Fatal(err)
	}
}
