package syslog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

// TestRsyslogTLS forwards through rsyslogd over RFC 5425 TLS with a client
// certificate (Debian packages rsyslog and rsyslog-gnutls).
func TestRsyslogTLS(t *testing.T) {
	rsyslogd := lookPath(t, "rsyslogd", "rsyslog")
	logger := lookPath(t, "logger", "bsdutils")
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so"); err != nil {
		t.Skip("rsyslog TLS driver not installed (Debian package rsyslog-gnutls)")
	}
	dir := t.TempDir()
	ca, caKey := newCA(t)
	serverCert := leaf(t, ca, caKey, "127.0.0.1", false)
	clientCert := leaf(t, ca, caKey, "shipper", true)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	writePEM(t, filepath.Join(dir, "client.pem"), "CERTIFICATE", clientCert.Certificate[0])
	keyDER, err := x509.MarshalPKCS8PrivateKey(clientCert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "client-key.pem"), "PRIVATE KEY", keyDER)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	sink := &ingesttest.Sink{}
	r := start(t, sink, testAuth(), Options{UDPAddr: Off, TCPAddr: Off, TLSAddr: "127.0.0.1:0",
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: pool,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}})
	tlsPort := r.TLSAddr().String()[strings.LastIndexByte(r.TLSAddr().String(), ':')+1:]
	inPort := freeUDPPort(t)
	conf := fmt.Sprintf(`global(workDirectory=%q
       DefaultNetstreamDriver="gtls"
       DefaultNetstreamDriverCAFile=%q
       DefaultNetstreamDriverCertFile=%q
       DefaultNetstreamDriverKeyFile=%q)
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="%d")
action(type="omfwd" target="127.0.0.1" port="%s" protocol="tcp"
       StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/certvalid"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
`, dir, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"), inPort, tlsPort)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(dir, "pid"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait() // killed on purpose
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for len(sink.Events()) == 0 && time.Now().Before(deadline) {
		if o, err := exec.Command(logger, "--server", "127.0.0.1", "--port", fmt.Sprint(inPort), "--udp",
			"--rfc3164", "-t", "tlsapp", "over tls with a client certificate").CombinedOutput(); err != nil {
			t.Fatalf("logger: %v\n%s", err, o)
		}
		time.Sleep(300 * time.Millisecond) // rsyslogd starts its input asynchronously
	}
	evs := sink.Events()
	if len(evs) == 0 {
		t.Fatal("nothing arrived over TLS")
	}
	ev := evs[0]
	if app, _ := ev.Get("syslog.appname"); app != "tlsapp" || !strings.Contains(ev.Raw, "over tls") {
		t.Errorf("event = %+v", ev)
	}
	if _, bad := ev.Get(event.FieldParseError); bad {
		t.Errorf("parse error: %+v", ev)
	}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
