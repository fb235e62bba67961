package hec

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
	"github.com/mamori/mamori/internal/parse"
)

const token = "11111111-2222-3333-4444-555555555555"

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

func post(t *testing.T, url, auth, body string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestEvent(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv := newServer(t, sink, Options{})
	body := `{"time":1764064800.5,"host":"web01","source":"/var/log/app.log","sourcetype":"app","index":"main","event":"user login ok","fields":{"env":"prod","n":3}}
{"event":{"message":"structured","user":{"name":"alice"},"@timestamp":"2026-11-25T10:00:00Z"},"sourcetype":"_json"}{"event":"no newline between","time":"1764064801"}
garbage here {"event":"after garbage"}
{"time":1}
{"event":"unterminated`
	code, out, _ := post(t, srv.URL+"/services/collector/event", "Splunk "+token, body)
	if code != 200 || !strings.Contains(out, `"code":0`) {
		t.Fatalf("event = %d %s", code, out)
	}
	evs := sink.Events()
	var raws []string
	for _, ev := range evs {
		raws = append(raws, ev.Raw)
	}
	want := []string{"user login ok", "structured", "no newline between", "garbage here", "after garbage", `{"time":1}`, `{"event":"unterminated`}
	if fmt.Sprint(raws) != fmt.Sprint(want) {
		t.Fatalf("raws = %q, want %q", raws, want)
	}
	e0 := evs[0]
	if e0.Host != "web01" || e0.Source != "app" || event.FormatTime(e0.Time) != "2025-11-25T10:00:00.5Z" {
		t.Errorf("event 0 = %+v", e0)
	}
	for name, want := range map[string]string{"env": "prod", "n": "3", fieldSplunkSource: "/var/log/app.log", fieldSplunkIndex: "main"} {
		if v, _ := e0.Get(name); v != want {
			t.Errorf("event 0 %s = %q, want %q", name, v, want)
		}
	}
	if v, _ := evs[1].Get("user.name"); v != "alice" || event.FormatTime(evs[1].Time) != "2026-11-25T10:00:00Z" {
		t.Errorf("event 1 = %+v", evs[1])
	}
	for _, i := range []int{3, 5, 6} {
		if v, _ := evs[i].Get(event.FieldParseError); v == "" {
			t.Errorf("event %d %q has no parse error", i, evs[i].Raw)
		}
	}
}

func TestRawHealthAck(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv := newServer(t, sink, Options{})
	code, out, _ := post(t, srv.URL+"/services/collector/raw?host=h1&sourcetype=syslog&channel=abc", "Bearer "+token,
		"2026-11-25T10:00:00Z first line\n\nsecond line\n")
	if code != 200 || !strings.Contains(out, `"ackId":1`) {
		t.Fatalf("raw = %d %s", code, out)
	}
	evs := sink.Events()
	if len(evs) != 2 || evs[0].Host != "h1" || evs[0].Source != "syslog" || event.FormatTime(evs[0].Time) != "2026-11-25T10:00:00Z" {
		t.Errorf("raw events = %+v", evs)
	}
	code, out, _ = post(t, srv.URL+"/services/collector/ack", "Splunk "+token, `{"acks":[1,2]}`)
	if code != 200 || !strings.Contains(out, `"1":true`) || !strings.Contains(out, `"2":false`) {
		t.Errorf("ack = %d %s", code, out)
	}
	resp, err := http.Get(srv.URL + "/services/collector/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("health = %d", resp.StatusCode)
	}
}

func TestErrors(t *testing.T) {
	busy := &ingesttest.Sink{Fail: func([]event.Event) error { return fmt.Errorf("wal: %w", ingest.ErrOverloaded) }}
	srv := newServer(t, busy, Options{Limits: ingest.BodyLimits{MaxBytes: 100}})
	f := func(auth, body string, wantCode int, wantText string) {
		t.Helper()
		code, out, hdr := post(t, srv.URL+"/services/collector/event", auth, body)
		if code != wantCode || !strings.Contains(out, wantText) {
			t.Errorf("POST %q = %d %s, want %d %q", body, code, out, wantCode, wantText)
		}
		if code == 503 && hdr.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
	}
	f("", `{"event":"x"}`, 401, "Token is required")
	f("Splunk nope", `{"event":"x"}`, 403, "Invalid token")
	f("Splunk "+token, ``, 400, "No data")
	f("Splunk "+token, `{"event":"x"}`, 503, "Server is busy")
	f("Splunk "+token, strings.Repeat(`{"event":"x"}`, 20), 413, "Invalid data format")
}

func FuzzEvents(f *testing.F) {
	for _, s := range []string{
		`{"time":1,"event":"a","fields":{"x":[1]}}{"event":{"message":"b"}}`,
		`x{"event":"c"} {"event":1} {"event":null}{"event":"\"}"}`,
		`{"event":"unterminated`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for i := 0; i < len(body); {
			start, end, err := nextObject(body, i)
			if start < i || end < start || end > len(body) {
				t.Fatalf("nextObject(%q, %d) = %d, %d", body, i, start, end)
			}
			if err != nil {
				if err.Error() == "" {
					t.Fatal("empty error")
				}
				if start == i {
					break
				}
				i = start
				continue
			}
			if start == end {
				break
			}
			ev, err := decodeEnvelope(body[start:end], 1, nil, parse.TimeOptions{})
			if err != nil && ev.Raw != string(body[start:end]) {
				t.Fatalf("bad envelope %q not kept raw: %q", body[start:end], ev.Raw)
			}
			i = end
		}
	})
}
