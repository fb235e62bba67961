package parse

import "testing"

func TestSSHD(t *testing.T) {
	f := func(msg string, want ...string) {
		t.Helper()
		parseOK(t, "syslog", "<38>Jan 22 00:00:00 bastion01 sshd[100]: "+msg, want...)
	}
	f("Accepted publickey for t.suzuki from 10.20.16.44 port 51234 ssh2: ED25519 SHA256:LrNhNCrXKPrw/ElNt",
		"user.name=t.suzuki", "source.ip=10.20.16.44", "source.port=51234", "event.outcome=success", "event.action=ssh_login",
		"ssh.method=publickey", "ssh.key_fingerprint=SHA256:LrNhNCrXKPrw/ElNt", "event.category=authentication")
	f("Accepted password for root from 2001:db8::1 port 22 ssh2", "user.name=root", "source.ip=2001:db8::1", "ssh.method=password")
	f("Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2",
		"user.name=admin", "source.ip=203.0.113.9", "source.port=4242", "event.outcome=failure")
	f("Failed none for bob from 203.0.113.9 port 4242 ssh2", "user.name=bob", "event.outcome=failure")
	f("Invalid user oracle from 198.51.100.7 port 50000", "user.name=oracle", "source.ip=198.51.100.7", "event.action=ssh_invalid_user")
	f("Connection closed by authenticating user root 198.51.100.7 port 50000 [preauth]", "user.name=root", "source.ip=198.51.100.7", "event.action=ssh_disconnect")
	f("Connection closed by 198.51.100.7 port 50000 [preauth]", "source.ip=198.51.100.7", "source.port=50000")
	f("Disconnected from user alice 10.0.0.1 port 5555", "user.name=alice", "source.ip=10.0.0.1")
	f("Received disconnect from 10.0.0.1 port 5555:11: disconnected by user", "source.ip=10.0.0.1", "source.port=5555")
	f("error: maximum authentication attempts exceeded for invalid user x from 10.0.0.2 port 1 ssh2 [preauth]", "user.name=x", "event.outcome=failure")
	f("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.9.9.9  user=root",
		"user.name=root", "source.ip=10.9.9.9", "event.outcome=failure")
	f("pam_unix(sshd:session): session opened for user t.suzuki(uid=1001) by (uid=0)", "user.name=t.suzuki", "event.action=session_opened")
	parseOK(t, "syslog", "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4  user=root",
		"process.name=sshd(pam_unix)", "user.name=root", "source.ip=218.188.2.4", "event.outcome=failure")
	ev := parseOK(t, "syslog", "<38>Jan 22 00:00:00 h sshd[1]: Accepted publickey for bob from not-an-ip port x ssh2", "user.name=bob")
	noField(t, ev, "source.ip", "source.port")
}

func TestSudo(t *testing.T) {
	f := func(msg string, want ...string) {
		t.Helper()
		parseOK(t, "syslog", "<86>Jan 22 00:00:00 db-04 sudo: "+msg, want...)
	}
	f("   s.mori : TTY=pts/0 ; PWD=/home/s.mori ; USER=root ; COMMAND=/bin/sh -c echo a ; echo b",
		"user.name=s.mori", "user.effective.name=root", "process.working_directory=/home/s.mori",
		"process.command_line=/bin/sh -c echo a ; echo b", "event.outcome=success", "sudo.tty=pts/0")
	f("eve : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id",
		"user.name=eve", "event.outcome=failure", "sudo.error=3 incorrect password attempts", "process.command_line=/usr/bin/id")
	f("pam_unix(sudo:session): session opened for user root by s.mori(uid=1002)",
		"user.name=s.mori", "user.effective.name=root", "event.action=session_opened")
	f("pam_unix(sudo:session): session closed for user root", "user.name=root", "event.action=session_closed")
}
