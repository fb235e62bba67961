package syslog

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

// syslogNG finds a syslog-ng unpacked by scripts/deps.sh (it conflicts with
// rsyslog in apt, so it is extracted with dpkg-deb -x, not installed) and
// returns its root folder.
func syslogNG(t *testing.T) string {
	t.Helper()
	root := os.Getenv("MAMORI_SYSLOG_NG")
	if root == "" {
		root = "/opt/syslog-ng"
	}
	if _, err := os.Stat(filepath.Join(root, "usr/sbin/syslog-ng")); err != nil {
		t.Skipf("syslog-ng not unpacked (run scripts/deps.sh, or set MAMORI_SYSLOG_NG): %v", err)
	}
	return root
}

// TestSyslogNGForward runs syslog-ng 3.38 as a relay: it reads RFC 3164
// lines on stdin and forwards each one twice, with the syslog() driver
// (RFC 5424 over TCP with octet counting, RFC 6587) and with network() over
// UDP (RFC 3164). Every message must arrive once per path with its fields.
func TestSyslogNGForward(t *testing.T) {
	root := syslogNG(t)
	sink := &ingesttest.Sink{}
	r := start(t, sink, testAuth(), Options{})
	tcpPort := r.TCPAddr().(*net.TCPAddr).Port
	udpPort := r.UDPAddr().(*net.UDPAddr).Port
	dir := t.TempDir()
	conf := fmt.Sprintf(`@version: 3.38
options { keep-hostname(yes); stats-freq(0); };
source s_in { stdin(); };
destination d_tcp { syslog("127.0.0.1" port(%d) transport("tcp")); };
destination d_udp { network("127.0.0.1" port(%d) transport("udp")); };
log { source(s_in); destination(d_tcp); destination(d_udp); };
`, tcpPort, udpPort)
	confPath := filepath.Join(dir, "syslog-ng.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join(root, "usr/sbin/syslog-ng"), "-F", "--no-caps", "--stderr",
		"-f", confPath, "--module-path", filepath.Join(root, "usr/lib/syslog-ng/3.38"),
		"-p", filepath.Join(dir, "pid"), "-R", filepath.Join(dir, "persist"), "-c", filepath.Join(dir, "ctl"))
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+strings.Join([]string{
		filepath.Join(root, "usr/lib/x86_64-linux-gnu"), filepath.Join(root, "lib/x86_64-linux-gnu"),
		filepath.Join(root, "usr/lib/syslog-ng"),
	}, ":"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Skipf("syslog-ng does not start from %s: %v", root, err)
	}
	defer func() {
		_ = stdin.Close() // EOF on stdin makes syslog-ng exit; an error means it is gone already
		cancel()
		_ = cmd.Wait() // killed on purpose when still running
		if t.Failed() {
			t.Logf("syslog-ng output:\n%s", out.String())
		}
	}()
	const n = 20
	var lines strings.Builder
	for i := range n {
		fmt.Fprintf(&lines, "<%d>Nov 25 10:00:%02d web%02d ngapp[%d]: via syslog-ng msg %d end\n", 8+i%8, i, i, 100+i, i)
	}
	if _, err := io.WriteString(stdin, lines.String()); err != nil {
		t.Fatalf("write to syslog-ng: %v", err)
	}
	evs := waitN(t, sink, 2*n)
	// Give a duplicate time to show up; syslog-ng gives no signal of its own.
	time.Sleep(300 * time.Millisecond)
	evs = sink.Events()
	seen := map[string]int{}
	for _, ev := range evs {
		msg, _ := ev.Get("message")
		var i int
		if _, err := fmt.Sscanf(msg, "via syslog-ng msg %d end", &i); err != nil {
			t.Errorf("event %q: message %q", ev.Raw, msg)
			continue
		}
		path := "udp3164"
		if v, _ := ev.Get("syslog.version"); v == "1" {
			path = "tcp5424"
		}
		seen[fmt.Sprintf("%s/%d", path, i)]++
		checks := []struct{ name, want string }{
			{"syslog.appname", "ngapp"},
			{"syslog.procid", fmt.Sprint(100 + i)},
			{"syslog.facility", "user"},
			{"syslog.severity", []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}[i%8]},
		}
		for _, c := range checks {
			if v, _ := ev.Get(c.name); v != c.want {
				t.Errorf("%s %d: %s = %q, want %q (raw %q)", path, i, c.name, v, c.want, ev.Raw)
			}
		}
		if want := fmt.Sprintf("web%02d", i); ev.Host != want {
			t.Errorf("%s %d: host %q, want %q (raw %q)", path, i, ev.Host, want, ev.Raw)
		}
		if _, bad := ev.Get(event.FieldParseError); bad {
			t.Errorf("%s %d: parse error: %v", path, i, ev.Fields)
		}
		if got := time.Unix(0, ev.Time).UTC(); got.Month() != time.November || got.Day() != 25 || got.Second() != i {
			t.Errorf("%s %d: time %s, want Nov 25 10:00:%02d", path, i, got, i)
		}
	}
	for _, path := range []string{"tcp5424", "udp3164"} {
		for i := range n {
			if c := seen[fmt.Sprintf("%s/%d", path, i)]; c != 1 {
				t.Errorf("%s message %d arrived %d times, want once", path, i, c)
			}
		}
	}
}
