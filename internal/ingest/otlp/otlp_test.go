package otlp

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
	"github.com/mamori/mamori/internal/ingest/pb"
)

const token = "otlp-secret"

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

func post(t *testing.T, url, ctype string, body []byte, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
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
	return resp.StatusCode, b
}

// Protobuf builders for the tests.

func kv(key string, anyValue []byte) []byte {
	return pb.AppendBytes(pb.AppendBytes(nil, 1, []byte(key)), 2, anyValue)
}

func str(s string) []byte { return pb.AppendBytes(nil, 1, []byte(s)) }
func i64(n int64) []byte  { return pb.AppendVarintField(nil, 3, uint64(n)) }
func dbl(d float64) []byte {
	return pb.AppendFixed64(nil, 4, math.Float64bits(d))
}
func kvlist(kvs ...[]byte) []byte {
	var l []byte
	for _, k := range kvs {
		l = pb.AppendBytes(l, 1, k)
	}
	return pb.AppendBytes(nil, 6, l)
}
func array(vals ...[]byte) []byte {
	var l []byte
	for _, v := range vals {
		l = pb.AppendBytes(l, 1, v)
	}
	return pb.AppendBytes(nil, 5, l)
}

func logRecord(ts uint64, body []byte, attrs ...[]byte) []byte {
	var r []byte
	r = pb.AppendFixed64(r, 1, ts)
	r = pb.AppendVarintField(r, 2, 17) // ERROR
	r = pb.AppendBytes(r, 3, []byte("ERROR"))
	r = pb.AppendBytes(r, 5, body)
	for _, a := range attrs {
		r = pb.AppendBytes(r, 6, a)
	}
	r = pb.AppendBytes(r, 9, []byte{0x5b, 0x8e, 0xfa, 0xf1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	r = pb.AppendBytes(r, 10, []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74})
	return r
}

func exportRequest() []byte {
	var res []byte
	res = pb.AppendBytes(res, 1, kv("service.name", str("checkout")))
	res = pb.AppendBytes(res, 1, kv("host.name", str("node-7")))
	var scope []byte
	scope = pb.AppendBytes(scope, 1, []byte("my.library"))
	scope = pb.AppendBytes(scope, 2, []byte("1.0.0"))
	var sl []byte
	sl = pb.AppendBytes(sl, 1, scope)
	sl = pb.AppendBytes(sl, 2, logRecord(1764064800000000000, str("payment failed"), kv("http.status_code", i64(502)), kv("ratio", dbl(0.5))))
	sl = pb.AppendBytes(sl, 2, logRecord(0, kvlist(kv("user", str("alice")), kv("tags", array(str("a"), i64(2)))), kv("nested", kvlist(kv("k", str("v"))))))
	var rl []byte
	rl = pb.AppendBytes(rl, 2, sl)
	rl = pb.AppendBytes(rl, 1, res) // resource after the scopes
	return pb.AppendBytes(nil, 1, rl)
}

func TestExportProtobuf(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv := newServer(t, sink, Options{})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(exportRequest())
	zw.Close()
	code, out := post(t, srv.URL+"/v1/logs", "application/x-protobuf", gz.Bytes(), "Content-Encoding", "gzip")
	if code != 200 || len(out) != 0 {
		t.Fatalf("export = %d %q", code, out)
	}
	evs := sink.Events()
	if len(evs) != 2 {
		t.Fatalf("got %d events: %+v", len(evs), evs)
	}
	e0 := evs[0]
	if e0.Raw != "payment failed" || e0.Host != "node-7" || e0.Source != "checkout" || e0.Time != 1764064800000000000 {
		t.Errorf("event 0 = %+v", e0)
	}
	for name, want := range map[string]string{
		"service.name": "checkout", fieldScopeName: "my.library", fieldScopeVersion: "1.0.0",
		"http.status_code": "502", "ratio": "0.5", fieldSeverityText: "ERROR", fieldSeverityNumber: "17",
		fieldTraceID: "5b8efaf1000000000000000000000001", fieldSpanID: "eee19b7ec3c1b174",
	} {
		if v, _ := e0.Get(name); v != want {
			t.Errorf("event 0 %s = %q, want %q", name, v, want)
		}
	}
	e1 := evs[1]
	if e1.Raw != `{"user":"alice","tags":["a",2]}` || e1.Time == 0 {
		t.Errorf("event 1 raw = %q time %d", e1.Raw, e1.Time)
	}
	for name, want := range map[string]string{"body.user": "alice", "body.tags": `["a",2]`, "nested.k": "v"} {
		if v, _ := e1.Get(name); v != want {
			t.Errorf("event 1 %s = %q, want %q", name, v, want)
		}
	}
}

const jsonExample = `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}},{"key":"host.name","value":{"stringValue":"h1"}}]},
"scopeLogs":[{"scope":{"name":"my.library","version":"1.0.0","attributes":[{"key":"my.scope.attribute","value":{"stringValue":"some scope attribute"}}]},
"logRecords":[{"timeUnixNano":"1544712660300000000","observedTimeUnixNano":"1544712660300000000","severityNumber":10,"severityText":"Information",
"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","body":{"stringValue":"Example log record"},
"attributes":[{"key":"string.attribute","value":{"stringValue":"some string"}},{"key":"boolean.attribute","value":{"boolValue":true}},
{"key":"int.attribute","value":{"intValue":"10"}},{"key":"double.attribute","value":{"doubleValue":637.704}},
{"key":"array.attribute","value":{"arrayValue":{"values":[{"stringValue":"many"},{"stringValue":"values"}]}}},
{"key":"map.attribute","value":{"kvlistValue":{"values":[{"key":"some.map.key","value":{"stringValue":"some value"}}]}}}]}]}]}]}`

func TestExportJSON(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv := newServer(t, sink, Options{})
	code, out := post(t, srv.URL+"/v1/logs", "application/json", []byte(jsonExample))
	if code != 200 {
		t.Fatalf("export = %d %s", code, out)
	}
	evs := sink.Events()
	if len(evs) != 1 {
		t.Fatalf("events = %+v", evs)
	}
	ev := evs[0]
	if ev.Raw != "Example log record" || ev.Source != "my.service" || ev.Host != "h1" || event.FormatTime(ev.Time) != "2018-12-13T14:51:00.3Z" {
		t.Errorf("event = %+v", ev)
	}
	for name, want := range map[string]string{
		"scope.my.scope.attribute": "some scope attribute", "boolean.attribute": "true", "int.attribute": "10",
		"double.attribute": "637.704", "array.attribute": `["many","values"]`, "map.attribute.some.map.key": "some value",
		fieldTraceID: "5b8efff798038103d269b633813fc60c", fieldSeverityNumber: "10",
	} {
		if v, _ := ev.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
}

func TestExportErrors(t *testing.T) {
	sink := &ingesttest.Sink{}
	srv := newServer(t, sink, Options{})
	req := exportRequest()
	// Cut inside the second record: the first is kept, the sender gets 400.
	code, out := post(t, srv.URL+"/v1/logs", "application/x-protobuf", req[:len(req)-40])
	if code != 400 || !bytes.Contains(out, []byte("kept")) {
		t.Errorf("damaged export = %d %q", code, out)
	}
	code, out = post(t, srv.URL+"/v1/logs", "application/json", []byte(`{"resourceLogs":[{]}`))
	if code != 400 || !strings.Contains(string(out), `"code":3`) {
		t.Errorf("bad json = %d %s", code, out)
	}
	code, _ = post(t, srv.URL+"/v1/logs", "text/plain", []byte(`x`))
	if code != 400 {
		t.Errorf("bad content type = %d", code)
	}
	busy := newServer(t, &ingesttest.Sink{Fail: func([]event.Event) error { return ingest.ErrOverloaded }}, Options{})
	req2, _ := http.NewRequest("POST", busy.URL+"/v1/logs", bytes.NewReader(exportRequest()))
	req2.Header.Set("Content-Type", "application/x-protobuf")
	req2.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("overloaded = %d %v", resp.StatusCode, resp.Header)
	}
	req2, _ = http.NewRequest("POST", srv.URL+"/v1/logs", bytes.NewReader(exportRequest()))
	req2.Header.Set("Content-Type", "application/x-protobuf")
	resp, err = http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no credential = %d, want 401", resp.StatusCode)
	}
}

func FuzzDecodeProto(f *testing.F) {
	f.Add(exportRequest(), uint16(100))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		whole, werr := decodeProto(b, 1)
		if werr != nil && werr.Error() == "" {
			t.Fatal("empty error")
		}
		k := int(cut) % (len(b) + 1)
		part, _ := decodeProto(b[:k], 1)
		if werr == nil && len(part) > len(whole) {
			t.Fatalf("cut at %d decoded %d records, the whole %d", k, len(part), len(whole))
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(jsonExample))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := decodeJSON(b, 1); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
