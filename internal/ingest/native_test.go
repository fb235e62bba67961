package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

func decode(t *testing.T, body string, opts LineOptions) ([]event.Event, Result, error) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() int64 { return 1767225600000000000 }
	}
	return DecodeLines(strings.NewReader(body), opts)
}

func TestDecodeLinesMixed(t *testing.T) {
	body := `{"_time":"2026-01-01T00:00:01Z","_msg":"ok one","user":"a"}
{"broken json
plain text line
2026-01-02T00:00:00Z text with time

{"message":"two","host":"h9"}` // no final newline
	evs, res, err := decode(t, body, LineOptions{Meta: event.Event{Source: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 5 || res.Rejected != 0 || res.ParseErrors != 1 || len(evs) != 5 {
		t.Fatalf("res = %+v, %d events", res, len(evs))
	}
	if evs[0].Raw != "ok one" || evs[0].Time != 1767225601000000000 || evs[0].Source != "s" {
		t.Errorf("event 0 = %+v", evs[0])
	}
	if v, ok := evs[1].Get(event.FieldParseError); !ok || !strings.Contains(v, "invalid JSON") || evs[1].Raw != `{"broken json` {
		t.Errorf("event 1 = %+v", evs[1])
	}
	if evs[2].Time != 1767225600000000000 || evs[2].Raw != "plain text line" {
		t.Errorf("event 2 = %+v (want receive time)", evs[2])
	}
	if evs[3].Time != 1767312000000000000 {
		t.Errorf("event 3 time = %d", evs[3].Time)
	}
	if evs[4].Host != "h9" || evs[4].Raw != "two" {
		t.Errorf("event 4 = %+v", evs[4])
	}
	if len(res.Errors) != 1 || res.Errors[0].Line != 2 {
		t.Errorf("errors = %+v", res.Errors)
	}
}

func TestDecodeLinesLongLine(t *testing.T) {
	long := strings.Repeat("x", 10<<20)
	body := "first\n" + long + "\nlast\n"
	evs, res, err := decode(t, body, LineOptions{MaxLineBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Raw != "first" || evs[1].Raw != "last" || res.Rejected != 1 {
		t.Fatalf("got %d events, res %+v", len(evs), res)
	}
	if res.Errors[0].Line != 2 {
		t.Errorf("long line reported at %d, want 2", res.Errors[0].Line)
	}
	// A line just under the limit but longer than the read buffer is kept.
	mid := strings.Repeat("y", 200<<10)
	evs, _, _ = decode(t, mid+"\n", LineOptions{MaxLineBytes: 1 << 20})
	if len(evs) != 1 || evs[0].Raw != mid {
		t.Fatalf("200 KiB line not kept whole")
	}
}

func TestDecodeLinesGarbage(t *testing.T) {
	garbage := string([]byte{0, 1, 2, 0xff, 0xfe, '\n', 'o', 'k', '\n', 0xc3, 0x28, '\n'})
	evs, res, err := decode(t, garbage, LineOptions{})
	if err != nil || len(evs) != 3 || res.Accepted != 3 {
		t.Fatalf("garbage: %d events, %+v, %v", len(evs), res, err)
	}
	if evs[0].Raw != string([]byte{0, 1, 2, 0xff, 0xfe}) {
		t.Errorf("binary line not kept byte-exact: %q", evs[0].Raw)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestDecodeLinesReadError(t *testing.T) {
	rd := &failingReader{data: []byte("a\nb\npart"), err: io.ErrUnexpectedEOF}
	evs, _, err := DecodeLines(rd, LineOptions{Now: func() int64 { return 1 }})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
	if len(evs) < 2 || evs[0].Raw != "a" || evs[1].Raw != "b" {
		t.Fatalf("events before the error lost: %+v", evs)
	}
}

func TestDecodeLinesBudget(t *testing.T) {
	b := NewBudget(1000)
	b.TryAcquire(900)
	_, res, err := decode(t, strings.Repeat("line of text\n", 10), LineOptions{Budget: b})
	if !errors.Is(err, ErrOverloaded) {
		t.Fatalf("err = %v, want overloaded", err)
	}
	if b.Used() != 900 || res.Charged != 0 {
		t.Fatalf("budget not returned: used %d charged %d", b.Used(), res.Charged)
	}
}

func FuzzDecodeLines(f *testing.F) {
	f.Add([]byte("{\"_time\":\"2026-01-01T00:00:00Z\",\"msg\":\"x\"}\nplain\n{bad\n"))
	f.Add([]byte("Mar  1 00:00:00 h app: hi\r\n\n\x00\xff"))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, res, err := DecodeLines(bytes.NewReader(body), LineOptions{Now: func() int64 { return 1 }, MaxLineBytes: 64})
		if err != nil {
			t.Fatalf("DecodeLines from memory failed: %v", err)
		}
		if res.Accepted != len(evs) {
			t.Fatalf("accepted %d != %d events", res.Accepted, len(evs))
		}
		// Every non-empty line that fits is kept, in order.
		var want []string
		for _, l := range bytes.Split(body, []byte("\n")) {
			l = bytes.TrimRight(l, "\r")
			if len(bytes.TrimSpace(l)) > 0 && len(l) <= 64 {
				want = append(want, string(l))
			}
		}
		if len(want) != len(evs) {
			t.Fatalf("kept %d lines, want %d", len(evs), len(want))
		}
		for i, e := range evs {
			if e.Time == 0 {
				t.Fatalf("event %d has no time", i)
			}
			if v, bad := e.Get(event.FieldParseError); bad && strings.HasPrefix(v, "invalid JSON") && e.Raw != want[i] {
				t.Fatalf("parse-error event %d raw %q, want %q", i, e.Raw, want[i])
			}
		}
	})
}

func TestDecodeLinesEOLAndBlank(t *testing.T) {
	body := "a\r\n" + // CRLF
		"b\r\r\n" + // stray CRs
		"\r\n" + // blank
		" \t \n" + // white space only
		"\u00a0\u2003\n" + // Unicode white space only: blank too
		"  {\"_msg\":\"sp\"}\n" + // JSON after spaces
		"\t{\"_msg\":\"tab\"}\r\n" +
		"\u00a0{\"_msg\":\"nbsp\"}\n" + // not JSON: NBSP is not skipped
		"{\"_msg\":\"last\"}\r" // no final newline, a CR
	evs, res, err := decode(t, body, LineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var raws []string
	for _, ev := range evs {
		raws = append(raws, ev.Raw)
	}
	want := []string{"a", "b", "sp", "tab", "\u00a0{\"_msg\":\"nbsp\"}", "last"}
	if strings.Join(raws, "|") != strings.Join(want, "|") || res.Accepted != 6 || res.ParseErrors != 0 {
		t.Fatalf("raws %q, res %+v", raws, res)
	}
	// Line numbers in errors count every line, blank ones included.
	_, res, _ = decode(t, "\r\n\n{bad\r\n", LineOptions{})
	if len(res.Errors) != 1 || res.Errors[0].Line != 3 {
		t.Fatalf("errors %+v, want line 3", res.Errors)
	}
	// The limit applies to the line without its CRLF.
	evs, res, _ = decode(t, "1234\r\n12345\r\n", LineOptions{MaxLineBytes: 4})
	if len(evs) != 1 || evs[0].Raw != "1234" || res.Rejected != 1 {
		t.Fatalf("limit: %d events, %+v", len(evs), res)
	}
}

// TestDecodeLinesValuesOwned decodes a body much larger than the read
// buffer, so the buffer is refilled many times: every value must still be
// the one of its own line (values are substrings of a per-line copy, never
// of the reused buffer).
func TestDecodeLinesValuesOwned(t *testing.T) {
	var body strings.Builder
	const n = 5000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&body, `{"_time":"2026-01-01T00:00:%02d.%09dZ","_msg":"line %d","user":"u%d","path":"C:\\dir%d\\f","s":"\u00e9%d","arr":[%d, 1],"o":{"n":%d}}`+"\n", i%60, i, i, i, i, i, i, i)
	}
	evs, res, err := decode(t, body.String(), LineOptions{})
	if err != nil || len(evs) != n || res.ParseErrors != 0 {
		t.Fatalf("%d events, %+v, %v", len(evs), res, err)
	}
	for i, ev := range evs {
		want := []string{
			fmt.Sprintf("user=u%d", i), fmt.Sprintf(`path=C:\dir%d\f`, i), fmt.Sprintf("s=é%d", i),
			fmt.Sprintf("arr=[%d,1]", i), fmt.Sprintf("o.n=%d", i), fmt.Sprintf("user.name=u%d", i),
		}
		var got []string
		for _, f := range ev.Fields {
			got = append(got, f.Name+"="+f.Value)
		}
		if ev.Raw != fmt.Sprintf("line %d", i) || strings.Join(got, " ") != strings.Join(want, " ") ||
			ev.Time != 1767225600000000000+int64(i%60)*1e9+int64(i) {
			t.Fatalf("event %d: raw %q time %d fields %q", i, ev.Raw, ev.Time, got)
		}
	}
}
