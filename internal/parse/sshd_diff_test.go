package parse

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mamori/mamori/internal/event"
)

// sshdDiffMessages are auth messages of every parseSSHD case, their near
// misses (a prefix cut short, a wrong first byte) and bad addresses.
var sshdDiffMessages = []string{
	"",
	"C",
	"Accepted publickey for t.suzuki from 10.20.16.44 port 51234 ssh2: ED25519 SHA256:LrNh",
	"Accepted password for root from 2001:db8::1 port 22 ssh2",
	"Accepted password for root from 10.0.0.256 port 22 ssh2",
	"Accepted",
	"Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2",
	"Failed password for admin from 203.0.113.9 port 99999999999 ssh2",
	"Failed password for admin from host.example port 1 ssh2",
	"Invalid user oracle from 192.0.2.7 port 40000",
	"Invalid user oracle from 192.0.2.7",
	"Invalid user oracle",
	"error: maximum authentication attempts exceeded for root from 198.51.100.4 port 3333 ssh2 [preauth]",
	"error: maximum authentication attempts exceeded",
	"error: something else from 1.2.3.4 port 5",
	"Connection closed by authenticating user root 198.51.100.7 port 50000 [preauth]",
	"Connection closed by invalid user bob 198.51.100.7 port 50000 [preauth]",
	"Connection closed by 198.51.100.7 port 50000 [preauth]",
	"Connection closed by user root 198.51.100.7 port 50000",
	"Connection closed by user root nothost port 50000",
	"Connection closed by",
	"Connection reset by 203.0.113.77 port 1022 [preauth]",
	"Connection reset by peer",
	"Connection rejected by 1.2.3.4",
	"Connection from 10.1.1.1 port 2222 on 10.1.1.2 port 22",
	"Connection from fe80::1%eth0 port 2222",
	"Connection from nowhere",
	"Disconnected from user alice 10.3.3.3 port 60000",
	"Disconnected from 10.3.3.3 port 60000",
	"Disconnected from 10.3.3.3: port 60000",
	"Disconnecting: too many authentication failures",
	"Received disconnect from 10.20.16.44 port 51234:11: disconnected by user",
	"Received disconnect from 10.20.16.44: 11: Bye Bye [preauth]",
	"Received disconnect from 10.20.16.44 port :11",
	"Received disconnection from 10.20.16.44 port 1",
	"Received disconnect from",
	"Received",
	"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.9.9.9  user=root",
	"pam_unix(sshd:auth): authentication failure; logname= uid=0 rhost=bad.host user=root",
	"pam_unix(sudo:session): session opened for user root by s.mori(uid=1002)",
	"pam_unix(sshd:session): session closed for user alice",
	"pam_unix(sshd:session)",
}

func sshdDiff(t *testing.T, msg string) {
	t.Helper()
	var got, want event.Event
	parseSSHD(msg, &got)
	parseSSHDRef(msg, &want)
	if d := cmp.Diff(want.Fields, got.Fields); d != "" {
		t.Fatalf("parseSSHD(%q) (-ref +new):\n%s", msg, d)
	}
	got, want = event.Event{}, event.Event{}
	parsePAM(msg, &got)
	parsePAMRef(msg, &want)
	if d := cmp.Diff(want.Fields, got.Fields); d != "" {
		t.Fatalf("parsePAM(%q) (-ref +new):\n%s", msg, d)
	}
}

// TestParseSSHDDiff checks parseSSHD and parsePAM against their frozen
// session-6 versions (sshd_ref_test.go).
func TestParseSSHDDiff(t *testing.T) {
	for _, m := range sshdDiffMessages {
		sshdDiff(t, m)
	}
}

func FuzzParseSSHDDiff(f *testing.F) {
	for _, m := range sshdDiffMessages {
		f.Add(m)
	}
	f.Fuzz(sshdDiff)
}
