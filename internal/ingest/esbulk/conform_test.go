package esbulk

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
)

// TestDocumentLikeNative checks that a bulk document gives the fields the
// native API gives the same JSON line, beside the index field, with the
// Beats host names picked first.
func TestDocumentLikeNative(t *testing.T) {
	const received = int64(1_700_000_000_000_000_000)
	for _, doc := range []string{
		`{"@timestamp":"2026-11-25T10:00:00Z","message":"login failed","user":"alice","src_ip":"10.0.0.5","level":"error","host":{"name":"web01"}}`,
		`{"winlog":{"event_id":4625,"computer_name":"dc01","event_data":{"TargetUserName":"bob","IpAddress":"10.1.1.1"}},"@timestamp":"2026-11-25T10:00:00Z"}`,
		`{"@timestamp":"not a time","message":"kept"}`,
		`not json`,
	} {
		evs, _, err := ingest.DecodeLines(strings.NewReader(doc+"\n"),
			ingest.LineOptions{Format: "json", Now: func() int64 { return received }})
		if err != nil || len(evs) != 1 {
			t.Fatalf("DecodeLines(%q): %d events, %v", doc, len(evs), err)
		}
		want := evs[0]
		d := &decoder{received: received}
		ev := d.document([]byte(doc), "logs-app")
		var own []event.Field
		for _, f := range ev.Fields {
			if f.Name != fieldIndex {
				own = append(own, f)
			}
		}
		if diff := cmp.Diff(want.Fields, own, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q: fields differ from native (-native +esbulk):\n%s", doc, diff)
		}
		if ev.Time != want.Time || ev.Raw != want.Raw || ev.Host != want.Host {
			t.Errorf("%q: time/raw/host %d %q %q, native %d %q %q", doc, ev.Time, ev.Raw, ev.Host, want.Time, want.Raw, want.Host)
		}
		if v, _ := ev.Get(fieldIndex); v != "logs-app" {
			t.Errorf("%q: index lost: %+v", doc, ev.Fields)
		}
	}
	ev := (&decoder{}).document([]byte(`{"message":"m","user":"alice","src_ip":"10.0.0.5","level":"error"}`), "")
	for _, name := range []string{"user.name", "source.ip", "log.level"} {
		if _, ok := ev.Get(name); !ok {
			t.Errorf("no %s: %+v", name, ev.Fields)
		}
	}
}
