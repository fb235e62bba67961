package tail

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/ingesttest"
)

// TestLinesLikeNative checks that tailed JSON, CEF and syslog lines give
// the fields the native API gives them, beside log.file.path, and that the
// configured host stays the host (with Format "syslog", the header's).
func TestLinesLikeNative(t *testing.T) {
	lines := []string{
		`{"@timestamp":"2026-11-25T10:00:00Z","message":"login failed","user":"alice","src_ip":"10.0.0.5","level":"error"}`,
		`CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 suser=bob`,
		`<38>Nov 25 10:00:00 host1 sshd[123]: Failed password for invalid user admin from 192.0.2.1 port 22 ssh2`,
		`<999>broken syslog`,
		`plain words 2026-11-25 10:00:00`,
	}
	for _, format := range []string{"", "syslog"} {
		t.Run("format="+format, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			appendFile(t, path, strings.Join(lines, "\n")+"\n")
			sink := &ingesttest.Sink{}
			run(t, sink, Options{Paths: []string{path}, Host: "h1", Format: format})
			first := "login failed"
			if format == "syslog" {
				first = lines[0]
			}
			evs := waitRaws(t, sink, first, lines[1], lines[2], lines[3], lines[4])
			for i, line := range lines {
				if format == "syslog" && line[0] == '{' {
					continue // parsed as syslog, as before
				}
				nevs, _, err := ingest.DecodeLines(strings.NewReader(line+"\n"),
					ingest.LineOptions{Now: func() int64 { return evs[i].Received }})
				if err != nil || len(nevs) != 1 {
					t.Fatalf("DecodeLines(%q): %v", line, err)
				}
				want, ev := nevs[0], evs[i]
				if format == "syslog" && line[0] != '<' {
					continue // not syslog: kept raw with _parse_error
				}
				var own []event.Field
				for _, f := range ev.Fields {
					if f.Name != FieldPath {
						own = append(own, f)
					}
				}
				if diff := cmp.Diff(want.Fields, own, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%q: fields differ from native (-native +tail):\n%s", line, diff)
				}
				if ev.Time != want.Time || ev.Raw != want.Raw {
					t.Errorf("%q: time/raw %d %q, native %d %q", line, ev.Time, ev.Raw, want.Time, want.Raw)
				}
				wantHost := "h1"
				if format == "syslog" && want.Host != "" {
					wantHost = want.Host
				}
				if ev.Host != wantHost || ev.Source != "file" {
					t.Errorf("%q: host %q source %q, want %q file", line, ev.Host, ev.Source, wantHost)
				}
			}
			if v, _ := evs[1].Get("source.ip"); format == "" && v != "10.0.0.1" {
				t.Errorf("CEF line not parsed: %+v", evs[1])
			}
		})
	}
}

// FuzzEvents checks that any line gives one event, never a panic, and
// keeps the line (or, for JSON, its message) and the file path.
func FuzzEvents(f *testing.F) {
	for _, s := range []string{`{"message":"m","user":"u"}`, `{"broken`, `<999>x`, `CEF:0|a|b|1|2|n|3|src=1.2.3.4`, "plain \xff"} {
		f.Add([]byte(s), uint8(0))
	}
	formats := []string{"", "syslog", "text"}
	f.Fuzz(func(t *testing.T, line []byte, format uint8) {
		tl, err := New(t.Context(), &ingesttest.Sink{}, ingesttest.Auth{token: {TokenID: "t1"}},
			Options{Paths: []string{"/nonexistent/*"}, Token: token, Host: "h1", Format: formats[int(format)%len(formats)]})
		if err != nil {
			t.Fatal(err)
		}
		evs := tl.events([][]byte{line}, "/p", ingest.Principal{})
		if len(evs) != 1 || evs[0].Time == 0 || evs[0].Host == "" {
			t.Fatalf("%q: events %+v", line, evs)
		}
		if v, _ := evs[0].Get(FieldPath); v != "/p" {
			t.Fatalf("%q: no path: %+v", line, evs[0])
		}
	})
}
