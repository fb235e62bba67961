package alert

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func waitState(t *testing.T, o *Outbox, id, want string) Notification {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range o.List() {
			if n.ID == id && n.State == want {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("notification %s never reached %s: %+v", id, want, o.List())
	return Notification{}
}

func TestWebhookSignedWithRetries(t *testing.T) {
	var calls atomic.Int32
	var got []byte
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if calls.Add(1) <= 2 {
			w.WriteHeader(503) // the receiver is down for a while
			return
		}
		if !VerifySignature("s3cret", r.Header.Get("X-Mamori-Timestamp"), r.Header.Get("X-Mamori-Signature"), b) {
			w.WriteHeader(401)
			return
		}
		mu.Lock()
		got = b
		mu.Unlock()
	}))
	defer srv.Close()
	o, err := Open(Options{Dir: t.TempDir(), MinBackoff: 10 * time.Millisecond, Channels: []Channel{{Name: "soc", Type: "webhook", URL: srv.URL, Secret: "s3cret"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go o.Run(ctx)
	ns, err := o.Enqueue(Message{Kind: "incident.created", Title: "Hot wallet", Severity: "critical", Time: time.Now(), Data: map[string]string{"id": "INC-1"}}, "")
	if err != nil || len(ns) != 1 {
		t.Fatalf("enqueue: %v %v", ns, err)
	}
	n := waitState(t, o, ns[0].ID, StateDelivered)
	if n.Attempts != 3 {
		t.Errorf("attempts %d, want 3", n.Attempts)
	}
	mu.Lock()
	defer mu.Unlock()
	var m Message
	if err := json.Unmarshal(got, &m); err != nil || m.Title != "Hot wallet" {
		t.Errorf("payload %s", got)
	}
}

func TestPermanentFailureAndSeverityFilter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }))
	defer srv.Close()
	o, _ := Open(Options{Dir: t.TempDir(), Channels: []Channel{{Name: "x", Type: "slack", URL: srv.URL, MinSeverity: "high"}}})
	if ns, _ := o.Enqueue(Message{Title: "meh", Severity: "medium"}, ""); len(ns) != 0 {
		t.Fatal("a medium message reached a high-only channel")
	}
	ns, _ := o.Enqueue(Message{Title: "bad", Severity: "high"}, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go o.Run(ctx)
	n := waitState(t, o, ns[0].ID, StateFailed)
	if !strings.Contains(n.LastError, "404") || n.Attempts != 1 {
		t.Errorf("failed notification %+v", n)
	}
	if _, err := o.Enqueue(Message{}, "nope"); err == nil {
		t.Error("unknown channel accepted")
	}
	if _, err := Open(Options{Dir: t.TempDir(), Channels: []Channel{{Name: "b", Type: "pager"}, {Type: "email"}}}); err == nil || !strings.Contains(err.Error(), "pager") || !strings.Contains(err.Error(), "smtp_host") {
		t.Errorf("bad channels: %v", err)
	}
}

func TestOutboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	ch := []Channel{{Name: "w", Type: "webhook", URL: srv.URL}}
	o, _ := Open(Options{Dir: dir, Channels: ch})
	ns, _ := o.Enqueue(Message{Title: "before crash", Severity: "high"}, "") // not delivered: Run never started
	o2, err := Open(Options{Dir: dir, Channels: ch})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go o2.Run(ctx)
	waitState(t, o2, ns[0].ID, StateDelivered)
	if hits.Load() != 1 {
		t.Errorf("%d deliveries, want 1", hits.Load())
	}
}

// smtpServer is a minimal SMTP server with STARTTLS and AUTH PLAIN.
type smtpServer struct {
	ln              net.Listener
	tls             *tls.Config
	mu              sync.Mutex
	msgs            []string
	sawTLS, sawAuth bool
}

func startSMTP(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := testCert()
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, tls: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	w := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	w("220 test ESMTP")
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			if secure {
				w("250-test")
				w("250 AUTH PLAIN")
			} else {
				w("250-test")
				w("250 STARTTLS")
			}
		case cmd == "STARTTLS":
			w("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, r, secure = tc, bufio.NewReader(tc), true
			w = func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
			s.mu.Lock()
			s.sawTLS = true
			s.mu.Unlock()
		case strings.HasPrefix(cmd, "AUTH PLAIN"):
			s.mu.Lock()
			s.sawAuth = true
			s.mu.Unlock()
			w("235 ok")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
			w("250 ok")
		case cmd == "DATA":
			w("354 go")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, msg.String())
			s.mu.Unlock()
			w("250 queued")
		case cmd == "QUIT":
			w("221 bye")
			return
		default:
			w("502 unknown")
		}
	}
}

func TestEmailSTARTTLS(t *testing.T) {
	s := startSMTP(t)
	host, port, _ := net.SplitHostPort(s.ln.Addr().String())
	var p int
	fmt.Sscan(port, &p)
	o, err := Open(Options{Dir: t.TempDir(), Channels: []Channel{{Name: "mail", Type: "email", SMTPHost: host, SMTPPort: p, Username: "u", Password: "p",
		From: "mamori@example.com", To: []string{"soc@example.com"}, TLSInsecure: true, Template: "Incident {{.Title}} ({{.Severity | upper}})"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go o.Run(ctx)
	ns, _ := o.Enqueue(Message{Title: "Wallet drain 出金", Severity: "critical", Time: time.Now()}, "")
	waitState(t, o, ns[0].ID, StateDelivered)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sawTLS || !s.sawAuth || len(s.msgs) != 1 || !strings.Contains(s.msgs[0], "Incident Wallet drain 出金 (CRITICAL)") || !strings.Contains(s.msgs[0], "Subject: =?utf-8?q?") {
		t.Fatalf("tls %v auth %v msgs %q", s.sawTLS, s.sawAuth, s.msgs)
	}
}
