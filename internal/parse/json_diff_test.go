package parse

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mamori/mamori/internal/event"
)

// Differential tests of the JSON decoder: the current one against the
// decoder as it was before session 6 (json_ref_test.go), over real JSON
// lines: the benchmark dataset (MAMORI_BENCH_NDJSON, its first 100k lines),
// the shared Winlogbeat/evtx test logs, the fuzz corpora and edge cases.
// Fields must be byte-equal, errors equal.

// diffCorpus returns the JSON lines the differential tests run over.
func diffCorpus(t testing.TB) [][]byte {
	t.Helper()
	var lines [][]byte
	add := func(path string, max int) {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 4<<20)
		for n := 0; (max <= 0 || n < max) && sc.Scan(); n++ {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
	}
	if p := os.Getenv("MAMORI_BENCH_NDJSON"); p != "" {
		add(p, 100_000)
	}
	add("../../../shared/testdata/sigma/dev/logs.jsonl", 0)
	// Fuzz corpora: "go test fuzz v1" files hold []byte("...") literals.
	files, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if v, ok := fuzzCorpusBytes(string(data)); ok {
			lines = append(lines, v)
		}
	}
	for _, s := range diffEdges {
		lines = append(lines, []byte(s))
	}
	return lines
}

// diffEdges are documents the corpora may not have: escapes at every
// position of a word, invalid UTF-8, errors in escaped strings.
var diffEdges = []string{
	`{"_time":"2026-01-01T00:00:00.204747131Z","_msg":"Accepted password for bob from 198.51.100.7 port 61091 ssh2","host":"lnx-024","app":"sshd","user":"CORP\\bob","src_ip":"198.51.100.7","event_id":"ssh_login","pid":"25460"}`,
	`{"a":"\\","b":"x\\","c":"xx\\","d":"xxxxxxx\\","e":"xxxxxxxx\\","f":"xxxxxxxxx\\n","g":"\\\\\\\\\\\\\\\\\\\\"}`,
	"{\"a\":\"C:\\\\Windows\\\\\xff\\\\x\xc3\xa9\\n\",\"b\":\"\xe6\x97\xa5\\t\xe6\x97\",\"c\":\"\\u00e9\xff\xff\xff\xff\xff\xff\xff\xff\xff\"}",
	`{"a":"x\ny"}`, "{\"a\":\"x\\n\x01\"}", `{"a":"x\\q"}`, `{"a":"x\\`, `{"a":"\\u12`, `{"a":"xxxxxxxxxxxxxxxx\\"`,
	`{"a":"\ud83d\ude00xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\\/"}`,
	`{"_time":"","_msg":"m","time":"2026-01-01T00:00:01Z","message":"x","_source":"s","_host":"h","_category":"c","_partition":"p","ts":"1767225600"}`,
	`{"timestamp":"garbage","msg":"m","user":"Bob","src_ip":"10.0.0.1","source.ip":"10.0.0.2","level":"WARN","status":"200","status":"x"}`,
	`{"winlog":{"event_id":4624,"event_data":{"TargetUserName":"bob","IpAddress":"10.1.1.1"}},"@timestamp":"2026-01-01T00:00:00Z"}`,
	`{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2026-01-01T00:00:00Z","sourceIPAddress":"1.2.3.4"}`,
	`{"":"empty","a":{"":{"b":1}},"host":"","hostname":"hn","host.name":"x"}`,
	`{"a":1,"_msg":"2026-01-01T00:00:00Z","b":2,"ts":"2026-01-01T00:00:01Z","c":3}`,
	`{"ts":"2026-01-01T00:00:01Z","_msg":"2026-01-01T00:00:00Z"}`, `{"_msg":"2026-01-01T00:00:00Z","ts":"1767225600"}`,
}

// fuzzCorpusBytes extracts the first []byte("...") or string("...")
// literal of a fuzz corpus file.
func fuzzCorpusBytes(data string) ([]byte, bool) {
	for _, line := range strings.Split(data, "\n") {
		for _, pre := range []string{"[]byte(", "string("} {
			if strings.HasPrefix(line, pre) && strings.HasSuffix(line, ")") {
				if v, err := strconv.Unquote(line[len(pre) : len(line)-1]); err == nil {
					return []byte(v), true
				}
			}
		}
	}
	return nil, false
}

func TestFlattenJSONDiff(t *testing.T) {
	lines := diffCorpus(t)
	t.Logf("%d lines", len(lines))
	for _, line := range lines {
		checkFlattenDiff(t, line)
	}
}

// checkFlattenDiff compares flattenJSON with the old decoder on one line,
// with and without a source string.
func checkFlattenDiff(t *testing.T, line []byte) {
	t.Helper()
	src := string(line)
	for _, s := range []string{src, ""} {
		keep := []event.Field{{Name: "keep", Value: "me"}}
		want, werr := oldFlattenJSON(line, s, keep[:1:1])
		got, err := flattenJSON(line, s, keep[:1:1])
		if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Fatalf("%q: error %v, the old decoder %v", line, err, werr)
		}
		if fieldsEqual(want, got) {
			continue
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%q (source %v): fields differ from the old decoder (-old +new):\n%s", line, s != "", diff)
		}
	}
}

// fieldsEqual is cmp.Equal for field slices, without reflection (the
// corpus has hundreds of thousands of lines).
func fieldsEqual(a, b []event.Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDecodeJSONLineDiff(t *testing.T) {
	lines := diffCorpus(t)
	for i, line := range lines {
		// Every variant for a tenth of the lines: the corpus is large.
		checkDecodeLineDiff(t, line, i%10 == 0 || len(lines) < 10_000)
	}
}

// checkDecodeLineDiff compares DecodeJSONLine (and DecodeJSONEvent) with
// what the ingest path did before: the old DecodeJSONEvent, NormalizeJSON
// when it succeeded, then the host from the fields; with and without a
// receiver's fields and metadata before the document, and a time field.
func checkDecodeLineDiff(t *testing.T, line []byte, all bool) {
	t.Helper()
	metas := []event.Event{
		{},
		{Source: "src", Host: "preset", Fields: []event.Field{{Name: "host", Value: "m"}, {Name: "user", Value: "meta"}}},
		{Fields: []event.Field{{Name: "x", Value: "y"}, {Name: "hostname", Value: ""}}},
	}
	optss := []JSONEventOptions{{}, {TimeField: "ts"}, {TimeField: "_msg"}}
	if !all {
		metas, optss = metas[:1], optss[:1]
	}
	for _, opts := range optss {
		for _, meta := range metas {
			want := meta.Clone()
			n0 := len(want.Fields)
			werr := oldDecodeJSONEvent(line, &want, opts)
			if werr == nil {
				NormalizeJSON(&want, n0)
			}
			if werr == nil || errors.Is(werr, ErrNoTime) {
				if want.Host == "" {
					for _, k := range [...]string{"host", "hostname", "host.name"} {
						if v, ok := want.Get(k); ok && v != "" {
							want.Host = v
							break
						}
					}
				}
			}
			got := meta.Clone()
			err := DecodeJSONLine(line, "", &got, opts)
			if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
				t.Fatalf("%q %+v: error %v, the old path %v", line, opts, err, werr)
			}
			if !eventsEqual(want, got) {
				t.Fatalf("%q %+v meta %+v: DecodeJSONLine differs from the old path (-old +new):\n%s", line, opts, meta, cmp.Diff(want, got, cmpopts.EquateEmpty()))
			}
			// A JSONLineDecoder kept across every line checked, as a
			// receiver keeps one across a body.
			got = meta.Clone()
			err = diffLineDecoder.Decode(line, "", &got, opts)
			if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) || !eventsEqual(want, got) {
				t.Fatalf("%q %+v meta %+v: JSONLineDecoder err %v differs from the old path (err %v):\n%s", line, opts, meta, err, werr, cmp.Diff(want, got, cmpopts.EquateEmpty()))
			}
			// DecodeJSONEvent alone, and with the line as a string.
			want = meta.Clone()
			werr = oldDecodeJSONEvent(line, &want, opts)
			got = meta.Clone()
			err = DecodeJSONEvent(line, &got, opts)
			if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) || !eventsEqual(want, got) {
				t.Fatalf("%q %+v: DecodeJSONEvent err %v differs from the old one (err %v):\n%s", line, opts, err, werr, cmp.Diff(want, got, cmpopts.EquateEmpty()))
			}
			got = meta.Clone()
			if err = DecodeJSONLine(line, string(line), &got, opts); (err == nil) != (werr == nil) {
				t.Fatalf("%q: with the source string: err %v, want %v", line, err, werr)
			}
		}
	}
}

// diffLineDecoder is the decoder checkDecodeLineDiff keeps across lines.
var diffLineDecoder JSONLineDecoder

// eventsEqual compares two events field by field.
func eventsEqual(a, b event.Event) bool {
	return a.Time == b.Time && a.Received == b.Received && a.Raw == b.Raw && a.Source == b.Source && a.Host == b.Host &&
		a.Category == b.Category && a.Partition == b.Partition && fieldsEqual(a.Fields, b.Fields)
}

func FuzzDecodeJSONLineDiff(f *testing.F) {
	for _, s := range diffEdges {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkDecodeLineDiff(t, in, true) })
}

func FuzzFlattenJSONDiff(f *testing.F) {
	for _, s := range diffEdges {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkFlattenDiff(t, in) })
}

// TestDecodeJSONLineConcurrent decodes documents of different member
// orders from several goroutines at once: the name guesses (nameInfo.next,
// its guess and alt, firstName) are shared hints, so they are rewritten all the time, and
// every event must still equal the old decoder's.
func TestDecodeJSONLineConcurrent(t *testing.T) {
	docs := []string{
		`{"_time":"2026-01-01T00:00:01Z","_msg":"a","host":"h1","user":"u","src_ip":"10.0.0.1"}`,
		`{"_msg":"b","_time":"2026-01-01T00:00:02Z","src_ip":"10.0.0.2","host":"h2","x":{"y":1}}`,
		`{"host":"h3","user":"CORP\\v","_time":"2026-01-01T00:00:03Z","level":"WARN","_msg":"c"}`,
		`{"user":{"name":"n"},"host":"h4","_time":"2026-01-01T00:00:04Z","user.name":"dup","hostname":"hn"}`,
		`{"a":1,"ab":2,"abc":3,"abcd":4,"abcdefgh":5,"abcdefghijklmnop":6,"abcdefghijklmnopq":7,"_msg":"d"}`,
		`{"_time":"2026-01-01T00:00:05Z","_msg":"C:\\Windows\\x.exe","host":"h5","user":"CORP\\w","image":"café \u00e9","src_ip":"10.0.0.5"}`,
		// Nested names that are top-level guesses (nameHint.alt is
		// only for the top level).
		`{"user":"u6","x":{"host":"n","_time":"m","user":"n","src_ip":"10.0.0.6","":[]},"_time":"2026-01-01T00:00:06Z","":"e"}`,
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				line := []byte(docs[(i*(g+1)+g)%len(docs)])
				var want event.Event
				if err := oldDecodeJSONEvent(line, &want, JSONEventOptions{}); err != nil {
					t.Error(err)
					return
				}
				NormalizeJSON(&want, 0)
				if want.Host == "" {
					want.Host = hostField(&want)
				}
				var got event.Event
				if err := DecodeJSONLine(line, "", &got, JSONEventOptions{}); err != nil || !eventsEqual(want, got) {
					t.Errorf("%s: got %+v (%v), want %+v", line, got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestParseJSONDiff(t *testing.T) {
	for _, line := range diffCorpus(t) {
		checkParseJSONDiff(t, line)
	}
}

func FuzzParseJSONDiff(f *testing.F) {
	for _, s := range diffEdges {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkParseJSONDiff(t, in) })
}

// checkParseJSONDiff compares the "json" parser, which normalizes from the
// names its decoder classified, with the path it took before: flatten,
// then normalizeJSON by name, then fillHost; with and without fields and a
// host before the document.
func checkParseJSONDiff(t *testing.T, line []byte) {
	t.Helper()
	p := jsonParser{"json", parseJSON}
	ref := jsonParser{"json", func(line []byte, ev *event.Event) error {
		n0 := len(ev.Fields)
		if err := flattenInto(line, ev, "json"); err != nil {
			return err
		}
		if h := normalizeJSON(ev, n0); h != "" && ev.Host == "" {
			ev.Host = h
		}
		return nil
	}}
	metas := []event.Event{
		{},
		{Host: "preset", Fields: []event.Field{{Name: "user.name", Value: "m"}, {Name: "source.ip", Value: "10.9.9.9"}}},
		{Fields: []event.Field{{Name: "host.name", Value: "pre"}, {Name: "x", Value: "y"}}},
	}
	for _, meta := range metas {
		want, got := meta.Clone(), meta.Clone()
		werr := ref.Parse(line, &want)
		err := p.Parse(line, &got)
		if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Fatalf("%q: error %v, the old path %v", line, err, werr)
		}
		if !eventsEqual(want, got) {
			t.Fatalf("%q meta %+v: the json parser differs from the old path (-old +new):\n%s", line, meta, cmp.Diff(want, got, cmpopts.EquateEmpty()))
		}
	}
}
