package hec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
	"github.com/mamori/mamori/internal/parse"
)

var conformLines = []struct{ line, format string }{
	{`{"@timestamp":"2026-11-25T10:00:00Z","message":"login failed","user":"alice","src_ip":"10.0.0.5","level":"error"}`, "json"},
	{`CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 suser=bob`, "text"},
	{`<38>Nov 25 10:00:00 host1 sshd[123]: Failed password for invalid user admin from 192.0.2.1 port 22 ssh2`, "text"},
	{`<999>broken syslog`, "text"},
	{`{"@timestamp":"not a time","message":"kept","user":"dave"}`, "json"},
}

func nativeEvent(t *testing.T, line, format string, received int64) event.Event {
	t.Helper()
	evs, _, err := ingest.DecodeLines(strings.NewReader(line+"\n"),
		ingest.LineOptions{Format: format, Now: func() int64 { return received }})
	if err != nil || len(evs) != 1 {
		t.Fatalf("DecodeLines(%q): %d events, %v", line, len(evs), err)
	}
	return evs[0]
}

// withoutSplunk drops the HEC metadata fields.
func withoutSplunk(fs []event.Field) []event.Field {
	var out []event.Field
	for _, f := range fs {
		switch f.Name {
		case fieldSplunkSource, fieldSplunkSourcetype, fieldSplunkIndex, "env":
		default:
			out = append(out, f)
		}
	}
	return out
}

// TestEnvelopeLikeNative checks that an event member, an object or a
// string, gives the fields the native API gives the same line, beside the
// envelope's metadata, which wins.
func TestEnvelopeLikeNative(t *testing.T) {
	const received = int64(1_700_000_000_000_000_000)
	for _, tc := range conformLines {
		want := nativeEvent(t, tc.line, tc.format, received)
		member := tc.line
		if tc.format == "text" {
			b, _ := json.Marshal(tc.line)
			member = string(b)
		}
		obj := `{"event":` + member + `,"index":"main","fields":{"env":"prod"}}`
		ev, err := decodeEnvelope([]byte(obj), received, nil, parse.TimeOptions{})
		if err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		if diff := cmp.Diff(want.Fields, withoutSplunk(ev.Fields), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q: fields differ from native (-native +hec):\n%s", tc.line, diff)
		}
		if ev.Time != want.Time || ev.Raw != want.Raw {
			t.Errorf("%q: time/raw %d %q, native %d %q", tc.line, ev.Time, ev.Raw, want.Time, want.Raw)
		}
		if v, _ := ev.Get("env"); v != "prod" {
			t.Errorf("%q: envelope fields lost: %+v", tc.line, ev.Fields)
		}
		// The envelope's host and time win over the event's.
		obj = `{"event":` + member + `,"host":"envhost","time":1764064800}`
		ev, _ = decodeEnvelope([]byte(obj), received, nil, parse.TimeOptions{})
		if ev.Host != "envhost" || event.FormatTime(ev.Time) != "2025-11-25T10:00:00Z" {
			t.Errorf("%q: host %q time %s, want the envelope's", tc.line, ev.Host, event.FormatTime(ev.Time))
		}
	}
}

// TestRawLikeNative checks /raw lines against the native API; the query's
// host wins, else the line's.
func TestRawLikeNative(t *testing.T) {
	for _, host := range []string{"", "qhost"} {
		sink := &ingesttest.Sink{}
		srv := newServer(t, sink, Options{})
		var body strings.Builder
		for _, tc := range conformLines {
			body.WriteString(tc.line + "\n")
		}
		code, out, _ := post(t, srv.URL+"/services/collector/raw?sourcetype=st&host="+host, "Splunk "+token, body.String())
		if code != 200 {
			t.Fatalf("raw = %d %s", code, out)
		}
		evs := sink.Events()
		if len(evs) != len(conformLines) {
			t.Fatalf("%d events", len(evs))
		}
		for i, tc := range conformLines {
			want := nativeEvent(t, tc.line, "text", evs[i].Received)
			ev := evs[i]
			if diff := cmp.Diff(want.Fields, withoutSplunk(ev.Fields), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%q: fields differ from native (-native +hec raw):\n%s", tc.line, diff)
			}
			wantHost := want.Host
			if host != "" {
				wantHost = host
			}
			if ev.Time != want.Time || ev.Raw != want.Raw || ev.Host != wantHost || ev.Source != "st" {
				t.Errorf("%q: time/raw/host/source %d %q %q %q, native %d %q %q", tc.line, ev.Time, ev.Raw, ev.Host, ev.Source, want.Time, want.Raw, wantHost)
			}
		}
	}
}
