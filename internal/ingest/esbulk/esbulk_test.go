package esbulk

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

const token = "es-secret"

func newServer(t *testing.T, sink ingest.Sink, opts Options) *httptest.Server {
	t.Helper()
	r, err := New(sink, ingesttest.Auth{token: {TokenID: "t1"}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	r.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("elastic", token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHandshakeAndProbes(t *testing.T) {
	srv := newServer(t, &ingesttest.Sink{}, Options{Version: "8.11.0"})
	resp, body := do(t, "GET", srv.URL+"/es/", "")
	if resp.StatusCode != 200 || resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("GET /es/ = %d %v", resp.StatusCode, resp.Header)
	}
	var root struct {
		Version struct{ Number string } `json:"version"`
	}
	if err := json.Unmarshal([]byte(body), &root); err != nil || root.Version.Number != "8.11.0" {
		t.Errorf("GET /es/ body %s: %v", body, err)
	}
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/es", `"tagline"`},
		{"GET", "/es/_license", `"active"`},
		{"GET", "/es/_xpack", `"features"`},
		{"GET", "/es/_cluster/health", `"green"`},
		{"HEAD", "/es/_index_template/filebeat-8.11.0", ``},
		{"GET", "/es/_ilm/policy/filebeat", `{}`},
		{"PUT", "/es/_index_template/logstash", `"acknowledged":true`},
		{"PUT", "/es/_ingest/pipeline/p1", `"acknowledged":true`},
	} {
		resp, body := do(t, c.method, srv.URL+c.path, "")
		if resp.StatusCode != 200 || !strings.Contains(body, c.want) || resp.Header.Get("X-Elastic-Product") == "" {
			t.Errorf("%s %s = %d %q, want 200 with %q", c.method, c.path, resp.StatusCode, body, c.want)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/es/", nil)
	req.Header.Set("Authorization", "ApiKey "+base64.StdEncoding.EncodeToString([]byte("id:wrong")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("X-Elastic-Product") == "" {
		t.Errorf("bad api key: %d, want 401 with the product header", resp.StatusCode)
	}
}

type bulkResponse struct {
	Errors bool                              `json:"errors"`
	Items  []map[string]struct{ Status int } `json:"items"`
}

func TestBulk(t *testing.T) {
	sink := &ingesttest.Sink{}
	m := &ingest.Metrics{}
	srv := newServer(t, sink, Options{Metrics: m})
	body := `{"index":{"_index":"filebeat-8.11.0"}}
{"@timestamp":"2026-11-25T10:00:00.000Z","message":"hello","host":{"name":"web01"},"agent":{"type":"filebeat"},"log":{"level":"info"}}
{"create":{"_index":"logs-app-default","_id":"abc"}}
{"@timestamp":1764064800000,"msg":"second","hostname":"db01"}
{"index":{}}
this is not json
{"delete":{"_index":"x","_id":"1"}}
{"frobnicate":{}}
{"update":{"_id":"1"}}
{"doc":{"a":1}}

{"index":{"_index":"last"}}
{"message":"no trailing newline"}`
	resp, out := do(t, "POST", srv.URL+"/es/_bulk", body, "Content-Type", "application/x-ndjson")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	var br bulkResponse
	if err := json.Unmarshal([]byte(out), &br); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	var statuses []string
	for _, it := range br.Items {
		for action, v := range it {
			statuses = append(statuses, fmt.Sprintf("%s:%d", action, v.Status))
		}
	}
	want := "index:201 create:201 index:201 delete:400 index:400 update:400 index:201"
	if got := strings.Join(statuses, " "); got != want || !br.Errors {
		t.Errorf("items = %s (errors %v), want %s", got, br.Errors, want)
	}
	evs := sink.Events()
	if len(evs) != 4 {
		t.Fatalf("got %d events, want 4: %+v", len(evs), evs)
	}
	e0 := evs[0]
	if e0.Raw != "hello" || e0.Host != "web01" || e0.Source != "filebeat" || event.FormatTime(e0.Time) != "2026-11-25T10:00:00Z" {
		t.Errorf("event 0 = %+v", e0)
	}
	if v, _ := e0.Get("log.level"); v != "info" {
		t.Errorf("log.level = %q", v)
	}
	if v, _ := e0.Get(fieldIndex); v != "filebeat-8.11.0" {
		t.Errorf("%s = %q", fieldIndex, v)
	}
	if e1 := evs[1]; e1.Raw != "second" || e1.Host != "db01" || e1.Source != "logs-app-default" || event.FormatTime(e1.Time) != "2025-11-25T10:00:00Z" {
		t.Errorf("event 1 = %+v", e1)
	}
	if e2 := evs[2]; e2.Raw != "this is not json" {
		t.Errorf("event 2 = %+v, want the bad document kept raw", e2)
	} else if v, _ := e2.Get(event.FieldParseError); v == "" {
		t.Errorf("event 2 has no parse error: %+v", e2)
	}
	var received uint64
	for _, s := range m.Snapshot() {
		received += s.Received
	}
	if received != 4 {
		t.Errorf("metrics received %d, want 4", received)
	}
}

func TestBulkRootGzipAndIndexPath(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv := newServer(t, sink, Options{Source: "fluentbit"})
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	fmt.Fprint(zw, "{\"index\":{}}\n{\"log\":\"gz line\"}\n")
	zw.Close()
	resp, out := do(t, "POST", srv.URL+"/_bulk", zb.String(), "Content-Encoding", "gzip")
	if resp.StatusCode != 200 || strings.Contains(out, `"errors":true`) {
		t.Fatalf("root gzip bulk = %d %s", resp.StatusCode, out)
	}
	resp, out = do(t, "POST", srv.URL+"/es/myindex/_bulk", "{\"index\":{}}\n{\"message\":\"x\"}\n")
	if resp.StatusCode != 200 || !strings.Contains(out, `"_index":"myindex"`) {
		t.Fatalf("index bulk = %d %s", resp.StatusCode, out)
	}
	resp, out = do(t, "POST", srv.URL+"/es/single/_doc", `{"message":"one doc"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("_doc = %d %s", resp.StatusCode, out)
	}
	evs := sink.Events()
	if len(evs) != 3 || evs[0].Source != "fluentbit" || evs[2].Raw != "one doc" {
		t.Errorf("events = %+v", evs)
	}
}

func TestBulkPushBack(t *testing.T) {
	sink := &ingesttest.Sink{Fail: func([]event.Event) error { return fmt.Errorf("wal: %w", ingest.ErrOverloaded) }}
	srv := newServer(t, sink, Options{Limits: ingest.BodyLimits{MaxBytes: 1000}})
	resp, out := do(t, "POST", srv.URL+"/es/_bulk", "{\"index\":{}}\n{\"message\":\"x\"}\n")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(out, "es_rejected_execution_exception") {
		t.Errorf("overloaded = %d %v %s, want 429 with Retry-After", resp.StatusCode, resp.Header, out)
	}
	resp, _ = do(t, "POST", srv.URL+"/es/_bulk", strings.Repeat("{\"index\":{}}\n{\"message\":\"x\"}\n", 100))
	if resp.StatusCode != 413 {
		t.Errorf("too large = %d, want 413", resp.StatusCode)
	}
	budget := ingest.NewBudget(10)
	srv = newServer(t, &ingesttest.Sink{}, Options{Budget: budget})
	do(t, "POST", srv.URL+"/es/_bulk", "{\"index\":{}}\n{\"message\":\"fits\"}\n") // the first charge always fits
	budget.TryAcquire(10)
	resp, _ = do(t, "POST", srv.URL+"/es/_bulk", "{\"index\":{}}\n{\"message\":\"over budget\"}\n")
	if resp.StatusCode != 429 {
		t.Errorf("over budget = %d, want 429", resp.StatusCode)
	}
}
