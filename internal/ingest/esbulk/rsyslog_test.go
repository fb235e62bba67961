package esbulk

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

// TestRsyslogOmelasticsearch runs rsyslogd (Debian packages rsyslog and
// rsyslog-elasticsearch) with omelasticsearch in bulk mode pointed at the
// receiver, and logger (bsdutils) feeding its UDP input.
func TestRsyslogOmelasticsearch(t *testing.T) {
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Skip("rsyslogd not installed (Debian packages rsyslog, rsyslog-elasticsearch)")
	}
	logger, err := exec.LookPath("logger")
	if err != nil {
		t.Skip("logger not installed (Debian package bsdutils)")
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so"); err != nil {
		t.Skip("omelasticsearch not installed (Debian package rsyslog-elasticsearch)")
	}
	sink := &ingesttest.Sink{}
	r, err := New(sink, ingesttest.Auth{token: {TokenID: "t1"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	r.Register(mux)
	var mu sync.Mutex
	var other []string // requests the receiver did not route
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		other = append(other, req.Method+" "+req.URL.Path)
		mu.Unlock()
		http.NotFound(w, req)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inPort := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imudp")
module(load="omelasticsearch")
input(type="imudp" address="127.0.0.1" port="%d")
template(name="es" type="list" option.json="on") {
  constant(value="{\"@timestamp\":\"") property(name="timereported" dateFormat="rfc3339")
  constant(value="\",\"message\":\"") property(name="msg")
  constant(value="\",\"host\":{\"name\":\"") property(name="hostname")
  constant(value="\"},\"program\":\"") property(name="programname")
  constant(value="\"}")
}
action(type="omelasticsearch" server="http://127.0.0.1:%d/es" searchIndex="rsyslog-idx" template="es"
       bulkmode="on" uid="elastic" pwd=%q action.resumeRetryCount="-1")
`, dir, inPort, port, token)
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
		mu.Lock()
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s\nunrouted requests: %v", out.String(), other)
		}
		mu.Unlock()
	}()
	deadline := time.Now().Add(20 * time.Second)
	for len(sink.Events()) == 0 && time.Now().Before(deadline) {
		if o, err := exec.Command(logger, "--server", "127.0.0.1", "--port", fmt.Sprint(inPort), "--udp",
			"--rfc3164", "-t", "esapp", "hello elasticsearch").CombinedOutput(); err != nil {
			t.Fatalf("logger: %v\n%s", err, o)
		}
		time.Sleep(300 * time.Millisecond)
	}
	evs := sink.Events()
	if len(evs) == 0 {
		t.Fatal("no event arrived through omelasticsearch")
	}
	ev := evs[0]
	if !strings.Contains(ev.Raw, "hello elasticsearch") || ev.Host == "" {
		t.Errorf("event = %+v", ev)
	}
	if v, _ := ev.Get(fieldIndex); v != "rsyslog-idx" {
		t.Errorf("%s = %q, want rsyslog-idx", fieldIndex, v)
	}
	if v, _ := ev.Get("program"); v != "esapp" {
		t.Errorf("program = %q", v)
	}
}
