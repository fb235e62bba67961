package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/parse"
)

// TestDecodeLinesDiff compares DecodeLines with the per-line decoding it
// did before session 6 (refDecodeLine: DecodeJSONEvent, NormalizeJSON and
// the host members, or the text parser) over the benchmark dataset
// (MAMORI_BENCH_NDJSON, its first 50k lines), the Loghub corpora and the
// shared JSON test logs: events must be byte-equal. (internal/parse's
// TestDecodeJSONLineDiff holds DecodeJSONEvent to the old decoder.)
func TestDecodeLinesDiff(t *testing.T) {
	var bodies [][]byte
	read := func(path string, max int) {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		var body bytes.Buffer
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 0; (max <= 0 || n < max) && sc.Scan(); n++ {
			body.Write(sc.Bytes())
			body.WriteByte('\n')
		}
		bodies = append(bodies, body.Bytes())
	}
	if p := os.Getenv("MAMORI_BENCH_NDJSON"); p != "" {
		read(p, 50_000)
	}
	files, _ := filepath.Glob("../../../shared/testdata/loghub/dev/*/*_2k.log")
	files = append(files, "../../../shared/testdata/sigma/dev/logs.jsonl")
	for _, p := range files {
		read(p, 0)
	}
	if len(bodies) == 0 {
		t.Skip("no shared test data and MAMORI_BENCH_NDJSON unset")
	}
	bodies = append(bodies, []byte(`{"_time":"2026-01-01T00:00:01Z","_msg":"m","host":"","hostname":"hn"}
{"broken
{"time":"yesterday","user":"Bob","host":"h"}
{"Event":{"System":{"EventID":4624,"Computer":"dc1"}},"@timestamp":"2026-01-01T00:00:00Z"}
plain text
`))
	metas := []event.Event{{Source: "s"}, {Host: "preset", Fields: []event.Field{{Name: "host", Value: "m"}, {Name: "src_ip", Value: "10.0.0.1"}}}}
	for _, body := range bodies {
		for _, meta := range metas {
			opts := LineOptions{Meta: meta, Now: func() int64 { return 1767225600000000000 }}
			got, _, err := DecodeLines(bytes.NewReader(body), opts)
			if err != nil {
				t.Fatal(err)
			}
			opts.Parser = parse.NewAuto(parse.Options{})
			opts.MaxErrors = 100
			var res Result
			i := 0
			for n, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
				if isBlank(line) {
					continue
				}
				ev := meta.Clone()
				ev.Received = 1767225600000000000
				refDecodeLine(line, &ev, opts, &res, n+1)
				if i >= len(got) {
					t.Fatalf("line %d: DecodeLines returned only %d events", n+1, len(got))
				}
				if !eventsEqual(ev, got[i]) {
					t.Fatalf("line %d %q: DecodeLines differs from the old decoding (-old +new):\n%s", n+1, line, cmp.Diff(ev, got[i], cmpopts.EquateEmpty()))
				}
				i++
			}
			if i != len(got) {
				t.Fatalf("%d events, want %d", len(got), i)
			}
		}
	}
}

// eventsEqual compares two events field by field (without reflection:
// the corpus is large).
func eventsEqual(a, b event.Event) bool {
	if a.Time != b.Time || a.Received != b.Received || a.Raw != b.Raw || a.Source != b.Source || a.Host != b.Host ||
		a.Category != b.Category || a.Partition != b.Partition || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i] != b.Fields[i] {
			return false
		}
	}
	return true
}

// refDecodeLine is decodeLine as it was before session 6.
func refDecodeLine(line []byte, ev *event.Event, opts LineOptions, res *Result, lineNo int) {
	isJSON := opts.Format == "json" || (opts.Format == "" && len(line) > 0 && (line[0] == '{' || bytes.TrimLeft(line, " \t")[0] == '{'))
	if opts.Format != "text" && isJSON {
		n0 := len(ev.Fields)
		err := parse.DecodeJSONEvent(line, ev, parse.JSONEventOptions{TimeField: opts.TimeField})
		if err == nil {
			parse.NormalizeJSON(ev, n0) // ECS names beside the original ones
		}
		switch {
		case err == nil:
		case isJSONError(err):
			ev.Raw = string(line)
			ev.Fields = append(ev.Fields[:0], event.Field{Name: event.FieldParseError, Value: err.Error()})
			res.ParseErrors++
			res.addError(opts.MaxErrors, lineNo, err.Error()+": kept raw")
		default: // the time was not understood: keep the event, note it
			ev.Fields = append(ev.Fields, event.Field{Name: event.FieldParseError, Value: err.Error()})
			res.ParseErrors++
			res.addError(opts.MaxErrors, lineNo, err.Error())
		}
		if ev.Host == "" {
			for _, k := range [...]string{"host", "hostname", "host.name"} {
				if v, ok := ev.Get(k); ok && v != "" {
					ev.Host = v
					break
				}
			}
		}
	} else {
		p := opts.Parser
		if err := parse.ParseLine(p, line, ev); err != nil {
			res.ParseErrors++
			res.addError(opts.MaxErrors, lineNo, fmt.Sprintf("%s: %v: kept raw", p.Name(), err))
		}
		ev.Raw = string(line) // byte-exact, whatever the parser did
		if !utf8.Valid(line) {
			// Kept byte-exact; searches and JSON output see U+FFFD.
			ev.Fields = append(ev.Fields, event.Field{Name: "_invalid_utf8", Value: "true"})
		}
		if ev.Time == 0 {
			if ns, ok := parse.DetectTimeIn(ev.Raw, opts.TimeOptions); ok {
				ev.Time = ns
			}
		}
	}
	if ev.Time == 0 {
		ev.Time = ev.Received
	}
}
