package syslog

import (
	"context"
	"fmt"
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

// These tests start real senders: util-linux logger (Debian package
// bsdutils) and rsyslogd (Debian package rsyslog).

func lookPath(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s): %v", name, pkg, err)
	}
	return p
}

func TestLogger(t *testing.T) {
	logger := lookPath(t, "logger", "bsdutils")
	sink := &ingesttest.Sink{}
	r := start(t, sink, testAuth(), Options{})
	udpPort := fmt.Sprint(r.UDPAddr().(*net.UDPAddr).Port)
	tcpPort := fmt.Sprint(r.TCPAddr().(*net.TCPAddr).Port)
	runs := [][]string{
		{"--udp", "--port", udpPort, "--rfc5424", "--sd-id", "ex@1", "--sd-param", `k="v"`, "-t", "app5424", "udp 5424"},
		{"--udp", "--port", udpPort, "--rfc3164", "-t", "app3164", "udp 3164"},
		{"--tcp", "--port", tcpPort, "--rfc5424", "-t", "apptcp", "tcp lf"},
		{"--tcp", "--port", tcpPort, "--octet-count", "--rfc5424", "-t", "appoct", "tcp octet"},
	}
	for _, args := range runs {
		out, err := exec.Command(logger, append([]string{"--server", "127.0.0.1"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("logger %v: %v\n%s", args, err, out)
		}
	}
	evs := waitN(t, sink, len(runs))
	got := map[string]event.Event{}
	for _, ev := range evs {
		got[ev.Raw] = ev
	}
	for _, want := range []struct{ app, msg string }{
		{"app5424", "udp 5424"}, {"app3164", "udp 3164"}, {"apptcp", "tcp lf"}, {"appoct", "tcp octet"},
	} {
		var ev *event.Event
		for raw, e := range got {
			if strings.HasSuffix(raw, want.msg) {
				ev = &e
			}
		}
		if ev == nil {
			t.Errorf("no event for %q in %d events", want.msg, len(evs))
			continue
		}
		if app, _ := ev.Get("syslog.appname"); app != want.app {
			t.Errorf("%q: appname %q, want %q (fields %v)", want.msg, app, want.app, ev.Fields)
		}
		if _, bad := ev.Get(event.FieldParseError); bad {
			t.Errorf("%q: parse error %v", want.msg, ev.Fields)
		}
		if time.Since(time.Unix(0, ev.Time)).Abs() > time.Hour {
			t.Errorf("%q: time %s, want about now", want.msg, event.FormatTime(ev.Time))
		}
	}
}

// TestRsyslogForward runs rsyslogd as a relay: logger sends to its UDP
// input, and omfwd forwards over TCP with octet-counted framing and over
// LF-framed TCP, the way rsyslog is set up in front of Mamori.
func TestRsyslogForward(t *testing.T) {
	rsyslogd := lookPath(t, "rsyslogd", "rsyslog")
	logger := lookPath(t, "logger", "bsdutils")
	sink := &ingesttest.Sink{}
	r := start(t, sink, testAuth(), Options{UDPAddr: Off})
	tcpPort := r.TCPAddr().(*net.TCPAddr).Port
	inPort := freeUDPPort(t)
	dir := t.TempDir()
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="%d")
action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" template="RSYSLOG_ForwardFormat")
`, dir, inPort, tcpPort, tcpPort)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(dir, "pid"))
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait() // killed on purpose
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", stderr.String())
		}
	}()
	// rsyslogd takes a moment to open its input, and UDP sent before that
	// is lost: send rounds until one arrives whole through both actions.
	const n = 5
	var got []event.Event
	for round := 0; len(got) < 2*n && round < 30; round++ {
		marker := fmt.Sprintf("round%d", round)
		for i := range n {
			out, err := exec.Command(logger, "--server", "127.0.0.1", "--port", fmt.Sprint(inPort), "--udp",
				"--rfc3164", "-t", "relayed", fmt.Sprintf("via rsyslog %s %d", marker, i)).CombinedOutput()
			if err != nil {
				t.Fatalf("logger: %v\n%s", err, out)
			}
		}
		deadline := time.Now().Add(time.Second)
		for len(got) < 2*n && time.Now().Before(deadline) {
			got = got[:0]
			for _, ev := range sink.Events() {
				if strings.Contains(ev.Raw, marker+" ") {
					got = append(got, ev)
				}
			}
			time.Sleep(20 * time.Millisecond) // polling the sink; the relay gives no signal
		}
	}
	if len(got) < 2*n {
		t.Fatalf("no round of %d messages arrived whole through rsyslog (last round: %d events)", n, len(got))
	}
	for _, ev := range got {
		if app, _ := ev.Get("syslog.appname"); app != "relayed" || !strings.Contains(ev.Raw, "via rsyslog") {
			t.Errorf("event %q: appname %q; fields %v", ev.Raw, app, ev.Fields)
		}
		if _, bad := ev.Get(event.FieldParseError); bad {
			t.Errorf("event %q: %v", ev.Raw, ev.Fields)
		}
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
