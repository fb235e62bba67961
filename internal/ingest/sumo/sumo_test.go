package sumo

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

const token = "ZaVnC4dhaV3_secret"

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

func post(t *testing.T, url string, body []byte, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestSumo(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv := newServer(t, sink, Options{})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprint(zw, "2026-11-25 10:00:00,123 INFO started\n{\"message\":\"json line\",\"level\":\"warn\"}\n{broken json\n")
	zw.Close()
	resp := post(t, srv.URL+"/receiver/v1/http/"+token, gz.Bytes(), "Content-Encoding", "gzip",
		"X-Sumo-Category", "prod/web/app", "X-Sumo-Host", "web01", "X-Sumo-Name", "/var/log/app.log", "X-Sumo-Fields", "env=prod, team=sec")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	evs := sink.Events()
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3: %+v", len(evs), evs)
	}
	for _, ev := range evs {
		if ev.Category != "prod/web/app" || ev.Host != "web01" || ev.Source != "sumo" {
			t.Errorf("metadata of %q = %+v", ev.Raw, ev)
		}
		for name, want := range map[string]string{"env": "prod", "team": "sec", FieldSourceName: "/var/log/app.log"} {
			if v, _ := ev.Get(name); v != want {
				t.Errorf("%q: %s = %q, want %q", ev.Raw, name, v, want)
			}
		}
	}
	if event.FormatTime(evs[0].Time) != "2026-11-25T10:00:00.123Z" {
		t.Errorf("time = %s", event.FormatTime(evs[0].Time))
	}
	if v, _ := evs[1].Get("level"); evs[1].Raw != "json line" || v != "warn" {
		t.Errorf("json event = %+v", evs[1])
	}
	if v, _ := evs[2].Get(event.FieldParseError); v == "" || evs[2].Raw != "{broken json" {
		t.Errorf("broken json = %+v, want kept raw with a parse error", evs[2])
	}
}

func TestSumoZstdAndErrors(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv := newServer(t, sink, Options{Limits: ingest.BodyLimits{MaxBytes: 200}})
	enc, _ := zstd.NewWriter(nil)
	z := enc.EncodeAll([]byte("zstd line\n"), nil)
	if resp := post(t, srv.URL+"/receiver/v1/http/"+token, z, "Content-Encoding", "zstd"); resp.StatusCode != 200 {
		t.Errorf("zstd = %d", resp.StatusCode)
	}
	if evs := sink.Events(); len(evs) != 1 || evs[0].Raw != "zstd line" {
		t.Errorf("zstd events = %+v", evs)
	}
	f := func(path string, body string, want int, hdr ...string) {
		t.Helper()
		if resp := post(t, srv.URL+path, []byte(body), hdr...); resp.StatusCode != want {
			t.Errorf("POST %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	f("/receiver/v1/http/wrong", "x\n", 401)
	f("/receiver/v1/http/"+token, strings.Repeat("x", 300), 413)
	f("/receiver/v1/http/"+token, "x\n", 400, "X-Sumo-Fields", "novalue")
	f("/receiver/v1/http/"+token, "x\n", 415, "Content-Encoding", "br")
	f("/receiver/v1/http/"+token, "not gzip", 400, "Content-Encoding", "gzip")
	busy := newServer(t, &ingesttest.Sink{Fail: func([]event.Event) error { return ingest.ErrOverloaded }}, Options{})
	resp := post(t, busy.URL+"/receiver/v1/http/"+token, []byte("x\n"))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("overloaded = %d %v", resp.StatusCode, resp.Header)
	}
}
