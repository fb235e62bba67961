package server_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSyslogThroughServer sends RFC 5424 over TCP and RFC 3164 over UDP
// with util-linux logger to the server's syslog listener.
func TestSyslogThroughServer(t *testing.T) {
	logger, err := exec.LookPath("logger")
	if err != nil {
		t.Skip("logger (bsdutils) is not installed; scripts/deps.sh installs it")
	}
	addr := freeAddr(t)
	host, port, _ := strings.Cut(addr, ":")
	n := startNode(t, filepath.Join(t.TempDir(), "data"), "--syslog", addr)
	defer n.stop()
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(logger, args...).CombinedOutput(); err != nil {
			t.Fatalf("logger %v: %v %s", args, err, out)
		}
	}
	run("-n", host, "-P", port, "-T", "--rfc5424", "-t", "sshd", "--id=4242", "Failed password for invalid user admin from 203.0.113.9 port 51000 ssh2")
	run("-n", host, "-P", port, "-d", "--rfc3164", "-t", "sudo", "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/id")
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, _ := n.search("_source=syslog")
		if len(rows) == 2 {
			var ssh map[string]any
			for _, r := range rows {
				if strings.Contains(r["_raw"].(string), "Failed password") {
					ssh = r
				}
			}
			if ssh == nil || ssh["source.ip"] != "203.0.113.9" || ssh["user.name"] != "admin" {
				t.Fatalf("sshd event not parsed: %v", ssh)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d syslog events: %v", len(rows), rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
