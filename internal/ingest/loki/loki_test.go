package loki

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
	"github.com/mamori/mamori/internal/ingest/pb"
)

const token = "loki-secret"

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

func post(t *testing.T, url, ctype string, body []byte, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("tenant1", token)
	req.Header.Set("Content-Type", ctype)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// entry encodes an EntryAdapter.
func entry(sec, nsec int64, line string, meta ...string) []byte {
	var ts []byte
	ts = pb.AppendVarintField(ts, 1, uint64(sec))
	ts = pb.AppendVarintField(ts, 2, uint64(nsec))
	var e []byte
	e = pb.AppendBytes(e, 1, ts)
	e = pb.AppendBytes(e, 2, []byte(line))
	for i := 0; i+1 < len(meta); i += 2 {
		var kv []byte
		kv = pb.AppendBytes(kv, 1, []byte(meta[i]))
		kv = pb.AppendBytes(kv, 2, []byte(meta[i+1]))
		e = pb.AppendBytes(e, 3, kv)
	}
	return e
}

func pushRequest() []byte {
	var s1 []byte
	s1 = pb.AppendBytes(s1, 1, []byte(`{job="varlogs", host="web01", filename="/var/log/syslog", note="a \"quoted\" value"}`))
	s1 = pb.AppendBytes(s1, 2, entry(1764064800, 5, "first line", "trace_id", "abc"))
	s1 = pb.AppendBytes(s1, 2, entry(1764064801, 0, "second line"))
	s1 = pb.AppendVarintField(s1, 3, 12345) // hash
	var s2 []byte
	s2 = pb.AppendBytes(s2, 2, entry(1764064802, 0, "labels after entries"))
	s2 = pb.AppendBytes(s2, 1, []byte(`{service_name="api"}`))
	var req []byte
	req = pb.AppendBytes(req, 1, s1)
	req = pb.AppendBytes(req, 1, s2)
	return req
}

func TestPushProtobuf(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv := newServer(t, sink, Options{})
	code, out := post(t, srv.URL+"/loki/api/v1/push", "application/x-protobuf", snappy.Encode(nil, pushRequest()), "X-Scope-OrgID", "team-a")
	if code != 204 {
		t.Fatalf("push = %d %s", code, out)
	}
	evs := sink.Events()
	if len(evs) != 3 {
		t.Fatalf("got %d events: %+v", len(evs), evs)
	}
	e0 := evs[0]
	if e0.Raw != "first line" || e0.Host != "web01" || e0.Source != "varlogs" || e0.Time != 1764064800*1e9+5 {
		t.Errorf("event 0 = %+v", e0)
	}
	for name, want := range map[string]string{"filename": "/var/log/syslog", "note": `a "quoted" value`, "trace_id": "abc", FieldTenant: "team-a"} {
		if v, _ := e0.Get(name); v != want {
			t.Errorf("event 0 %s = %q, want %q", name, v, want)
		}
	}
	if _, ok := evs[1].Get("trace_id"); ok {
		t.Errorf("structured metadata leaked into the next entry: %+v", evs[1])
	}
	if evs[2].Source != "api" || evs[2].Raw != "labels after entries" {
		t.Errorf("event 2 = %+v", evs[2])
	}
}

func TestPushJSON(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv := newServer(t, sink, Options{Source: "forced"})
	body := `{"streams":[{"stream":{"app":"shop","instance":"10.0.0.1:9100"},"values":[["1764064800000000000","json line"],["1764064801000000000","with meta",{"user":"bob"}]]}]}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprint(zw, body)
	zw.Close()
	code, out := post(t, srv.URL+"/loki/api/v1/push", "application/json", gz.Bytes(), "Content-Encoding", "gzip")
	if code != 204 {
		t.Fatalf("push = %d %s", code, out)
	}
	evs := sink.Events()
	if len(evs) != 2 || evs[0].Source != "forced" || evs[0].Host != "10.0.0.1:9100" || event.FormatTime(evs[0].Time) != "2025-11-25T10:00:00Z" {
		t.Fatalf("events = %+v", evs)
	}
	if v, _ := evs[1].Get("user"); v != "bob" {
		t.Errorf("metadata user = %q", v)
	}
}

func TestPushErrors(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv := newServer(t, sink, Options{Limits: ingest.BodyLimits{MaxBytes: 1 << 20, MaxDecodedBytes: 100}})
	f := func(ctype string, body []byte, want int, wantText string) {
		t.Helper()
		code, out := post(t, srv.URL+"/loki/api/v1/push", ctype, body)
		if code != want || !strings.Contains(out, wantText) {
			t.Errorf("push %q = %d %q, want %d %q", clipBytes(body), code, out, want, wantText)
		}
	}
	f("application/x-protobuf", []byte{5, 0xff, 0xff}, 400, "snappy")
	f("application/x-protobuf", snappy.Encode(nil, bytes.Repeat([]byte("x"), 1000)), 413, "limit")
	f("application/json", []byte(`{"streams":[{"stream":{},"values":[["notanumber","x"]]}]}`), 400, "timestamp")
	f("text/plain", []byte("x"), 400, "Content-Type")
	// A damaged request keeps the entries before the damage.
	var s []byte
	s = pb.AppendBytes(s, 1, []byte(`{job="j"}`))
	s = pb.AppendBytes(s, 2, entry(1, 0, "good"))
	req := pb.AppendBytes(nil, 1, s)
	req = append(req, pb.AppendBytes(nil, 1, []byte{0x12, 0x50, 1})...) // entry length past the end
	f("application/x-protobuf", snappy.Encode(nil, req), 400, "kept")
	if evs := sink.Events(); len(evs) != 1 || evs[0].Raw != "good" {
		t.Errorf("kept events = %+v", evs)
	}
	code, _ := post(t, srv.URL+"/loki/api/v1/push", "application/x-protobuf", nil, "Authorization", "Bearer nope")
	if code != 401 {
		t.Errorf("bad token = %d, want 401", code)
	}
}

func clipBytes(b []byte) []byte { return b[:min(len(b), 40)] }

func FuzzDecodeProto(f *testing.F) {
	f.Add(pushRequest(), uint16(50))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		whole, werr := decodeProto(b, 1)
		if werr != nil && werr.Error() == "" {
			t.Fatal("empty error")
		}
		// Cut anywhere: no panic, and what decodes is a prefix of the whole.
		k := int(cut) % (len(b) + 1)
		part, _ := decodeProto(b[:k], 1)
		if werr == nil && len(part) > len(whole) {
			t.Fatalf("cut at %d decoded %d events, the whole %d", k, len(part), len(whole))
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":"v"}]]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := decodeJSON(b, 1); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

func FuzzLabels(f *testing.F) {
	f.Add(`{job="varlogs", host="web01", note="a \"q\""}`)
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := parseLabels(s); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
