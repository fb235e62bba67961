package ingest_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/esbulk"
	"github.com/mamori/mamori/internal/ingest/fluent"
	"github.com/mamori/mamori/internal/ingest/hec"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
	"github.com/mamori/mamori/internal/ingest/loki"
	"github.com/mamori/mamori/internal/ingest/otlp"
)

// TestNPMClients runs the official or most used Node.js client libraries
// (@elastic/elasticsearch, splunk-logging, fluent-logger with and without
// the shared-key handshake, winston-loki (protobuf + snappy), the OpenTelemetry
// OTLP/proto and OTLP/gRPC log exporters) against the receivers. It needs node and
// `npm ci --prefix internal/ingest/testdata/npm`.
func TestNPMClients(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node: skipped with -short")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir := filepath.Join("testdata", "npm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Skip("npm clients not installed: run npm ci --prefix internal/ingest/testdata/npm")
	}
	const token = "npm-secret"
	auth := ingesttest.Auth{token: {TokenID: "npm"}}
	sink := &ingesttest.Sink{}
	mux := http.NewServeMux()
	es, err := esbulk.New(sink, auth, esbulk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hr, err := hec.New(sink, auth, hec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	or, err := otlp.New(sink, auth, otlp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lr, err := loki.New(sink, auth, loki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []ingest.HTTPReceiver{es, hr, or, lr} {
		r.Register(mux)
	}
	srv := httptest.NewUnstartedServer(mux)
	var protos http.Protocols // gRPC needs HTTP/2; without TLS, unencrypted
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &protos
	srv.Start()
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fl, err := fluent.New(ctx, sink, auth, fluent.Options{Token: token, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := fluent.New(ctx, sink, auth, fluent.Options{Token: token, Addr: "127.0.0.1:0", SharedKey: "npm-shared", ServerHostname: "mamori-test"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- fl.Run(ctx) }()
	go func() { done <- fs.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		<-done
	}()

	cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer ccancel()
	cmd := exec.CommandContext(cctx, node, "clients.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"TOKEN="+token,
		"ES_URL="+srv.URL+"/es",
		"HEC_URL="+srv.URL,
		"OTLP_URL="+srv.URL+"/v1/logs",
		"OTLP_GRPC_URL="+srv.URL,
		"LOKI_URL="+srv.URL,
		"FLUENT_HOST=127.0.0.1",
		"FLUENT_PORT="+strconv.Itoa(fl.Addr().(*net.TCPAddr).Port),
		"FLUENT_SHARED_PORT="+strconv.Itoa(fs.Addr().(*net.TCPAddr).Port),
		"FLUENT_SHARED_KEY=npm-shared",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node clients: %v\n%s", err, out)
	}
	want := map[string]func(ev event.Event) bool{
		"npm elasticsearch bulk":  func(ev event.Event) bool { return field(ev, "es.index") == "npm-idx" },
		"npm elasticsearch index": func(ev event.Event) bool { return field(ev, "es.index") == "npm-idx" },
		"npm splunk":              func(ev event.Event) bool { return ev.Source == "npmtest" && ev.Host == "nodehost" },
		"npm fluent":              func(ev event.Event) bool { return field(ev, fluent.FieldTag) == "npm.label" && ev.Host == "nodehost" },
		"npm fluent shared key":   func(ev event.Event) bool { return field(ev, fluent.FieldTag) == "npm.secure" },
		"npm otlp":                func(ev event.Event) bool { return ev.Source == "npm-otel" && field(ev, "npm.attr") == "v" },
		"npm loki":                func(ev event.Event) bool { return ev.Source == "npm-loki" && ev.Host == "nodehost" },
		"npm otlp grpc":           func(ev event.Event) bool { return ev.Source == "npm-otel" && ev.Host == "nodehost" },
	}
	for _, ev := range sink.Events() {
		for raw, check := range want {
			// Exact, or with the metadata some loggers append ("msg {...}").
			if ev.Raw == raw || strings.HasPrefix(ev.Raw, raw+" {") {
				if !check(ev) {
					t.Errorf("%q: unexpected metadata %+v", raw, ev)
				}
				delete(want, raw)
			}
		}
	}
	for raw := range want {
		t.Errorf("no event %q arrived; node said:\n%s\nevents: %+v", raw, out, sink.Events())
	}
}

func field(ev event.Event, name string) string {
	v, _ := ev.Get(name)
	return v
}
