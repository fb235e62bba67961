package ingest_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
)

const received = int64(1_700_000_000_000_000_000)

// nativeEvent is what the native API makes of one line (format "json",
// "text" or "").
func nativeEvent(t testing.TB, line []byte, format string) event.Event {
	t.Helper()
	evs, _, err := ingest.DecodeLines(bytes.NewReader(append(line[:len(line):len(line)], '\n')),
		ingest.LineOptions{Format: format, Now: func() int64 { return received }})
	if err != nil || len(evs) != 1 {
		t.Fatalf("DecodeLines(%q) = %d events, %v", line, len(evs), err)
	}
	return evs[0]
}

var fieldsCmp = cmpopts.EquateEmpty()

// Documents for the JSON cases: application JSON with names the
// normalization maps, Windows, CloudTrail, a time that is not understood.
var jsonDocs = []string{
	`{"@timestamp":"2026-11-25T10:00:00Z","message":"login failed","user":"alice","src_ip":"10.0.0.5","level":"error","hostname":"web01"}`,
	`{"time":"2026-11-25T10:00:00Z","msg":"x","client":{"ip":"192.0.2.7"},"status":404,"method":"GET","url":"/a"}`,
	`{"winlog":{"event_id":4625,"computer_name":"dc01","event_data":{"TargetUserName":"bob","IpAddress":"10.1.1.1"}},"@timestamp":"2026-11-25T10:00:00Z"}`,
	`{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventTime":"2026-11-25T10:00:00Z","sourceIPAddress":"198.51.100.1","userIdentity":{"userName":"carol"}}`,
	`{"@timestamp":"not a time","message":"kept","user":"dave"}`,
	`{"_host":"h9","message":"meta","a":[1,{"b":null}]}`,
}

func TestDecodeJSONMatchesDecodeLines(t *testing.T) {
	for _, doc := range jsonDocs {
		t.Run("", func(t *testing.T) {
			want := nativeEvent(t, []byte(doc), "json")
			got := event.Event{Received: received}
			err := ingest.DecodeJSON([]byte(doc), &got, parse.JSONEventOptions{})
			if err != nil && !errors.Is(err, parse.ErrNoTime) {
				t.Fatalf("DecodeJSON: %v", err)
			}
			if errors.Is(err, parse.ErrNoTime) && !hasField(got.Fields, event.FieldParseError) {
				t.Errorf("%s: no %s for the time it did not understand", doc, event.FieldParseError)
			}
			if got.Time == 0 {
				got.Time = received
			}
			if diff := cmp.Diff(want.Fields, got.Fields, fieldsCmp); diff != "" {
				t.Errorf("%s: fields differ from DecodeLines (-native +DecodeJSON):\n%s", doc, diff)
			}
			if got.Time != want.Time || got.Raw != want.Raw {
				t.Errorf("%s: time/raw %d %q, native %d %q", doc, got.Time, got.Raw, want.Time, want.Raw)
			}
			if strings.Contains(doc, `"_host"`) && got.Host != want.Host {
				t.Errorf("%s: host %q, native %q", doc, got.Host, want.Host)
			}
		})
	}
	// The first document gets ECS names, the point of the exercise.
	ev := event.Event{}
	if err := ingest.DecodeJSON([]byte(jsonDocs[0]), &ev, parse.JSONEventOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"user.name", "source.ip", "log.level"} {
		if _, ok := ev.Get(name); !ok {
			t.Errorf("DecodeJSON did not add %s: %+v", name, ev.Fields)
		}
	}
}

func TestDecodeJSONBadInput(t *testing.T) {
	for _, doc := range []string{`{"broken`, `{"a":1}x`, `[1,2]`, ``, `{"a":"\ud800"`} {
		ev := event.Event{Host: "keep", Fields: []event.Field{{Name: "k", Value: "v"}}}
		err := ingest.DecodeJSON([]byte(doc), &ev, parse.JSONEventOptions{})
		var je *parse.JSONError
		if !errors.As(err, &je) {
			t.Errorf("%q: err %v, want a *parse.JSONError", doc, err)
		}
		if ev.Host != "keep" || len(ev.Fields) != 1 || ev.Raw != "" {
			t.Errorf("%q: event changed on error: %+v", doc, ev)
		}
	}
}

// Text lines of the formats parse.Auto knows, and some it does not.
var textLines = []string{
	`CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 suser=bob`,
	`<134>Nov 25 10:00:00 fw01 CEF:0|Vendor|Product|1.0|42|Blocked|5|src=192.0.2.1 act=blocked`,
	`<34>1 2026-11-25T10:00:00.5Z mymachine su 123 ID47 - 'su root' failed for lonvick on /dev/pts/8`,
	`<38>Nov 25 10:00:00 host1 sshd[123]: Failed password for invalid user admin from 192.0.2.1 port 22 ssh2`,
	`LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0	dst=172.50.123.1	usrName=joe`,
	`192.0.2.1 - frank [25/Nov/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 2326 "-" "curl/8"`,
	`2026-11-25T10:00:00Z app started user=erin status=ok`,
	`type=USER_LOGIN msg=audit(1764064800.123:42): pid=1 uid=0 res=failed`,
	`just some words without a time`,
	`<999>broken syslog`,
	"caf\xe9 au lait 2026-11-25 10:00:00",
	`{"a json line":"through the text parser"}`,
}

func TestParseTextMatchesDecodeLines(t *testing.T) {
	p := ingest.TextParser(nil, parse.TimeOptions{})
	for _, line := range textLines {
		want := nativeEvent(t, []byte(line), "text")
		for _, pp := range []parse.Parser{nil, p} {
			got := event.Event{Received: received}
			err := ingest.ParseText(pp, []byte(line), &got, parse.TimeOptions{})
			if err != nil {
				if v, _ := got.Get(event.FieldParseError); v != err.Error() {
					t.Errorf("%q: error %v not in the fields %+v", line, err, got.Fields)
				}
			}
			if got.Time == 0 {
				got.Time = received
			}
			if diff := cmp.Diff(want, got, fieldsCmp); diff != "" {
				t.Errorf("%q: differs from DecodeLines (-native +ParseText):\n%s", line, diff)
			}
		}
	}
	ev := event.Event{}
	ingest.ParseText(nil, []byte(textLines[0]), &ev, parse.TimeOptions{})
	if v, _ := ev.Get("source.ip"); v != "10.0.0.1" {
		t.Errorf("CEF line not parsed: %+v", ev)
	}
}

func TestParseTextBadInput(t *testing.T) {
	line := []byte(`<999>broken syslog`)
	ev := event.Event{Fields: []event.Field{{Name: "meta", Value: "m"}}}
	err := ingest.ParseText(ingest.TextParser(nil, parse.TimeOptions{}), line, &ev, parse.TimeOptions{})
	if err == nil {
		t.Fatalf("no error for %q: %+v", line, ev)
	}
	if ev.Raw != string(line) || len(ev.Fields) != 2 || ev.Fields[0].Name != "meta" || ev.Fields[1].Name != event.FieldParseError {
		t.Errorf("bad line not kept raw beside the metadata: %+v", ev)
	}
}

func TestTextParser(t *testing.T) {
	syslog, _ := parse.Lookup("syslog")
	if p := ingest.TextParser(syslog, parse.TimeOptions{}); p.Name() != "syslog" {
		t.Error("the configured parser is not kept")
	}
	if p := ingest.TextParser(nil, parse.TimeOptions{}); p == nil || p.Name() != "auto" {
		t.Errorf("default parser = %v, want auto", p)
	}
}

// FuzzReceiverDecode checks that DecodeJSON and ParseText never panic and
// give what DecodeLines gives for the same line.
func FuzzReceiverDecode(f *testing.F) {
	for _, s := range append(append([]string{}, jsonDocs...), textLines...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.ContainsAny(line, "\r\n") || len(bytes.TrimSpace(line)) == 0 || len(line) > 1<<20 {
			return // DecodeLines splits or skips these
		}
		want := nativeEvent(t, line, "text")
		got := event.Event{Received: received}
		ingest.ParseText(nil, line, &got, parse.TimeOptions{})
		if got.Time == 0 {
			got.Time = received
		}
		if diff := cmp.Diff(want, got, fieldsCmp); diff != "" {
			t.Errorf("%q: ParseText differs from DecodeLines:\n%s", line, diff)
		}
		ev := event.Event{Received: received}
		if err := ingest.DecodeJSON(line, &ev, parse.JSONEventOptions{}); err == nil {
			want := nativeEvent(t, line, "json")
			if ev.Time == 0 {
				ev.Time = received
			}
			if diff := cmp.Diff(want.Fields, ev.Fields, fieldsCmp); diff != "" {
				t.Errorf("%q: DecodeJSON fields differ from DecodeLines:\n%s", line, diff)
			}
		}
	})
}

func hasField(fs []event.Field, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}
