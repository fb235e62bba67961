package kafka

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDecodeLikeNative checks that a JSON document and text lines read
// from Kafka give the fields the native API gives them, beside the kafka.*
// record fields.
func TestDecodeLikeNative(t *testing.T) {
	const received = int64(1_700_000_000_000_000_000)
	for _, tc := range []struct{ value, format string }{
		{`{"@timestamp":"2026-11-25T10:00:00Z","message":"login failed","user":"alice","src_ip":"10.0.0.5","level":"error","host":"web01"}`, "json"},
		{`CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 suser=bob`, "text"},
		{`<38>Nov 25 10:00:00 host1 sshd[123]: Failed password for invalid user admin from 192.0.2.1 port 22 ssh2`, "text"},
		{`<999>broken syslog`, "text"},
		{`{"@timestamp":"not a time","message":"kept","user":"dave"}`, "json"},
	} {
		evs, _, err := ingest.DecodeLines(strings.NewReader(tc.value+"\n"),
			ingest.LineOptions{Format: tc.format, Now: func() int64 { return received }})
		if err != nil || len(evs) != 1 {
			t.Fatalf("DecodeLines(%q): %d events, %v", tc.value, len(evs), err)
		}
		want := evs[0]
		c := &Consumer{}
		rec := &kgo.Record{Topic: "logs", Partition: 2, Offset: 7, Value: []byte(tc.value), Timestamp: time.Unix(0, received)}
		got := c.decode(nil, rec, received)
		if len(got) != 1 {
			t.Fatalf("%q: %d events", tc.value, len(got))
		}
		ev := got[0]
		var own []event.Field
		for _, f := range ev.Fields {
			if !strings.HasPrefix(f.Name, "kafka.") {
				own = append(own, f)
			}
		}
		if diff := cmp.Diff(want.Fields, own, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q: fields differ from native (-native +kafka):\n%s", tc.value, diff)
		}
		if ev.Time != want.Time || ev.Raw != want.Raw || ev.Host != want.Host {
			t.Errorf("%q: time/raw/host %d %q %q, native %d %q %q", tc.value, ev.Time, ev.Raw, ev.Host, want.Time, want.Raw, want.Host)
		}
		if v, _ := ev.Get(FieldOffset); v != "7" {
			t.Errorf("%q: record fields lost: %+v", tc.value, ev.Fields)
		}
	}
}

// TestDecodeNormalizes checks the ECS names a JSON value gets.
func TestDecodeNormalizes(t *testing.T) {
	c := &Consumer{}
	v := []byte(`{"message":"m","user":"alice","src_ip":"10.0.0.5","level":"error"}`)
	ev := c.decode(nil, &kgo.Record{Topic: "t", Value: v}, 1)[0]
	for _, name := range []string{"user.name", "source.ip", "log.level"} {
		if _, ok := ev.Get(name); !ok {
			t.Errorf("no %s: %+v", name, ev.Fields)
		}
	}
	if ev.Raw != "m" {
		t.Errorf("raw = %q", ev.Raw)
	}
}
