package syslog

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

const testToken = "syslog-secret"

func testAuth() ingesttest.Auth {
	return ingesttest.Auth{testToken: {TokenID: "t1", Name: "syslog listener"}}
}

// start runs a receiver on loopback ports and stops it at the end of the test.
func start(t *testing.T, sink ingest.Sink, auth ingest.Authenticator, opts Options) *Receiver {
	t.Helper()
	if opts.UDPAddr == "" {
		opts.UDPAddr = "127.0.0.1:0"
	}
	if opts.TCPAddr == "" {
		opts.TCPAddr = "127.0.0.1:0"
	}
	if opts.Token == "" {
		opts.Token = testToken
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := New(ctx, sink, auth, opts)
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

func waitN(t *testing.T, s *ingesttest.Sink, n int) []event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := s.WaitN(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func send(t *testing.T, network string, addr net.Addr, payload string) {
	t.Helper()
	c, err := net.Dial(network, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(payload)); err != nil {
		t.Fatal(err)
	}
}

func TestTCPFraming(t *testing.T) {
	sink := &ingesttest.Sink{}
	m := &ingest.Metrics{}
	r := start(t, sink, testAuth(), Options{Metrics: m, Category: "net"})
	msg5424 := `<165>1 2026-11-25T10:00:00.123Z web01 app 42 ID47 [ex@32473 iut="3"] hello 5424`
	msg3164 := `<34>Nov 25 10:00:01 mymachine su: 'su root' failed for lonvick on /dev/pts/8`
	// Octet-counted on one connection, LF on another.
	send(t, "tcp", r.TCPAddr(), fmt.Sprintf("%d %s\n%d %s", len(msg5424)+1, msg5424+"\n", len(msg3164), msg3164))
	send(t, "tcp", r.TCPAddr(), "not syslog at all\n"+msg3164+"\n")
	evs := waitN(t, sink, 4)
	byRaw := map[string]event.Event{}
	for _, ev := range evs {
		byRaw[ev.Raw] = ev
	}
	ev, ok := byRaw[msg5424]
	if !ok {
		t.Fatalf("no event for the RFC 5424 message; got %+v", evs)
	}
	if ev.Host != "web01" || ev.Source != "syslog" || ev.Category != "net" || event.FormatTime(ev.Time) != "2026-11-25T10:00:00.123Z" {
		t.Errorf("5424 event = %+v", ev)
	}
	if v, _ := ev.Get("sd.ex@32473.iut"); v != "3" {
		t.Errorf("structured data iut = %q, want 3", v)
	}
	if v, _ := ev.Get(fieldSourceAddress); v != "127.0.0.1" {
		t.Errorf("%s = %q", fieldSourceAddress, v)
	}
	bad, ok := byRaw["not syslog at all"]
	if !ok {
		t.Fatalf("the unparseable line was lost: %+v", evs)
	}
	if v, _ := bad.Get(event.FieldParseError); v == "" || bad.Host != "127.0.0.1" || bad.Time == 0 {
		t.Errorf("unparseable line = %+v, want a parse error, the sender as host, the receive time", bad)
	}
	waitFor(t, func() bool { return sumReceived(m) == 4 })
	if got := sumReceived(m); got != 4 {
		t.Errorf("metrics received = %d, want 4", got)
	}
}

func sumReceived(m *ingest.Metrics) (n uint64) {
	for _, s := range m.Snapshot() {
		n += s.Received
	}
	return n
}

func TestUDP(t *testing.T) {
	sink := &ingesttest.Sink{}
	loc := time.FixedZone("JST", 9*3600)
	r := start(t, sink, testAuth(), Options{TCPAddr: Off, Location: loc})
	c, err := net.Dial("udp", r.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		if _, err := fmt.Fprintf(c, "<13>Jan  2 03:04:05 host%d prog[1]: udp message %d\n", i, i); err != nil {
			t.Fatal(err)
		}
	}
	evs := waitN(t, sink, 3)
	for _, ev := range evs {
		if !strings.HasPrefix(ev.Host, "host") || !strings.HasPrefix(ev.Raw, "<13>Jan  2") {
			t.Errorf("event = %+v", ev)
		}
		got := time.Unix(0, ev.Time).In(loc)
		if got.Hour() != 3 || got.Month() != time.January || got.After(time.Now().Add(24*time.Hour)) {
			t.Errorf("time = %v, want Jan 2 03:04:05 JST, not in the future", got)
		}
	}
}

func TestBatching(t *testing.T) {
	sink := &ingesttest.Sink{}
	r := start(t, sink, testAuth(), Options{UDPAddr: Off, MaxBatch: 100, FlushInterval: time.Hour})
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, "<13>Nov 25 10:00:00 h p: line %d\n", i)
	}
	send(t, "tcp", r.TCPAddr(), sb.String())
	evs := waitN(t, sink, 1000)
	if b := sink.Batches(); b != 10 {
		t.Errorf("appends = %d, want 10 batches of 100", b)
	}
	for i, ev := range evs {
		if want := fmt.Sprintf("line %d", i); !strings.HasSuffix(ev.Raw, want) {
			t.Fatalf("event %d = %q, want order kept", i, ev.Raw)
		}
	}
}

func TestOverloadPushBack(t *testing.T) {
	var calls atomic.Int32
	sink := &ingesttest.Sink{Fail: func([]event.Event) error {
		if calls.Add(1) <= 3 {
			return fmt.Errorf("wal full: %w", ingest.ErrOverloaded)
		}
		return nil
	}}
	r := start(t, sink, testAuth(), Options{UDPAddr: Off})
	send(t, "tcp", r.TCPAddr(), "<13>Nov 25 10:00:00 h p: a\n<13>Nov 25 10:00:00 h p: b\n")
	evs := waitN(t, sink, 2)
	if len(evs) != 2 || calls.Load() < 4 {
		t.Errorf("got %d events after %d appends, want 2 after retries", len(evs), calls.Load())
	}
}

func TestAuth(t *testing.T) {
	sink := &ingesttest.Sink{}
	_, err := New(context.Background(), sink, testAuth(), Options{Token: "wrong", UDPAddr: "127.0.0.1:0", TCPAddr: Off})
	if !errors.Is(err, ingest.ErrUnauthorized) {
		t.Fatalf("New with a bad token = %v, want ErrUnauthorized", err)
	}
	// A source-bound token forces the source; revoking it stops ingest.
	auth := ingesttest.Auth{testToken: {TokenID: "t2", Source: "fw"}}
	m := &ingest.Metrics{}
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	r := start(t, sink, auth, Options{UDPAddr: Off, Metrics: m, AuthRecheck: time.Minute,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	send(t, "tcp", r.TCPAddr(), "<13>Nov 25 10:00:00 h p: a\n")
	if evs := waitN(t, sink, 1); evs[0].Source != "fw" {
		t.Errorf("source = %q, want the token's fw", evs[0].Source)
	}
	delete(auth, testToken) // safe: the receiver reads it only after the clock moves
	clock.Add(int64(2 * time.Minute))
	send(t, "tcp", r.TCPAddr(), "<13>Nov 25 10:00:00 h p: b\n")
	waitFor(t, func() bool { return rejected(m) > 0 })
	if rejected(m) != 1 || len(sink.Events()) != 1 {
		t.Errorf("after revocation: rejected %d, stored %d; want 1 and 1", rejected(m), len(sink.Events()))
	}
}

// waitFor polls cond: counters are updated just after the sink returns,
// so there is no event to wait on.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

func rejected(m *ingest.Metrics) (n uint64) {
	for _, s := range m.Snapshot() {
		n += s.Rejected
	}
	return n
}

func TestTLSClientCert(t *testing.T) {
	ca, caKey := newCA(t)
	serverCert := leaf(t, ca, caKey, "127.0.0.1", false)
	clientCert := leaf(t, ca, caKey, "shipper", true)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	sink := &ingesttest.Sink{}
	r := start(t, sink, testAuth(), Options{UDPAddr: Off, TCPAddr: Off, TLSAddr: "127.0.0.1:0",
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: pool,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}})
	dial := func(certs []tls.Certificate) error {
		c, err := tls.Dial("tcp", r.TLSAddr().String(), &tls.Config{RootCAs: pool, Certificates: certs, ServerName: "127.0.0.1"})
		if err != nil {
			return err
		}
		defer c.Close()
		msg := "<13>1 2026-11-25T10:00:00Z tlshost app - - - over tls"
		if _, err := fmt.Fprintf(c, "%d %s", len(msg), msg); err != nil {
			return err
		}
		// TLS 1.3 reports a rejected client certificate on the first read.
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	}
	if err := dial(nil); err == nil {
		t.Errorf("a client without a certificate was accepted")
	}
	if err := dial([]tls.Certificate{clientCert}); err != nil {
		t.Fatalf("client with certificate: %v", err)
	}
	if evs := waitN(t, sink, 1); evs[0].Host != "tlshost" {
		t.Errorf("event = %+v", evs[0])
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

func leaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, client bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.IPAddresses = []net.IP{net.ParseIP(name)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestShutdownFlushes(t *testing.T) {
	sink := &ingesttest.Sink{}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := New(ctx, sink, testAuth(), Options{Token: testToken, UDPAddr: Off, TCPAddr: "127.0.0.1:0", FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	c, err := net.Dial("tcp", r.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "<13>Nov 25 10:00:00 h p: pending\n")
	time.Sleep(100 * time.Millisecond) // let the line reach the pending batch; no hook to wait on
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(sink.Events()); n != 1 {
		t.Errorf("after shutdown %d events stored, want the pending 1", n)
	}
}
