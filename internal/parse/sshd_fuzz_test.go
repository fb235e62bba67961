package parse

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// FuzzAuthMessages feeds sshd, sudo and PAM message text to their parsers
// directly (the syslog fuzz test reaches them only behind a valid header).
func FuzzAuthMessages(f *testing.F) {
	for _, s := range []string{
		"Accepted publickey for t.suzuki from 10.20.16.44 port 51234 ssh2: ED25519 SHA256:LrNh",
		"Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2",
		"Connection closed by authenticating user root 198.51.100.7 port 50000 [preauth]",
		"Received disconnect from 10.0.0.1 port 5555:11: disconnected by user",
		"pam_unix(sshd:auth): authentication failure; logname= uid=0 rhost=10.9.9.9  user=root",
		"pam_unix(sudo:session): session opened for user root by s.mori(uid=1002)",
		"  s.mori : TTY=pts/0 ; PWD=/home/s.mori ; USER=root ; COMMAND=/bin/sh -c a ; b",
		"eve : 3 incorrect password attempts ; TTY=pts/1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		for _, p := range disconnectPrefixes {
			// The fast cut after a disconnect prefix is the earliest cut.
			m := p + msg
			if _, want := cutAt(m, " by ", " from "); disconnectRest(m) != want {
				t.Fatalf("disconnectRest(%q) = %q, want %q", m, disconnectRest(m), want)
			}
		}
		for _, fn := range []func(string, *event.Event){parseSSHD, parseSudo, parsePAM} {
			var ev event.Event
			fn(msg, &ev)
			for _, fl := range ev.Fields {
				if fl.Name == "" || fl.Value == "" {
					t.Fatalf("%q: empty field %q=%q", msg, fl.Name, fl.Value)
				}
			}
			if v, ok := ev.Get("source.ip"); ok && !isIP(v) {
				t.Fatalf("%q: source.ip=%q is not an IP", msg, v)
			}
		}
	})
}
