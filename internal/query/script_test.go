package query

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// TestScripts runs testdata/*.txt. A script is a list of directives, each
// on its own line:
//
//	events:            then one JSON object per line (_time, _raw, _source,
//	                   _host, _category, _partition, then fields in order)
//	blockrows: N       rows per block of the following events (default 3)
//	query: TEXT        the query of the next case
//	option: k=v        from, to, limit, workers, partitions (comma list),
//	                   maxmemory, maxrows, scope (a search expression)
//	want:              then one JSON row per line (keys in order)
//	error: TEXT        the run or parse must fail with an error containing TEXT
//	---                ends a case (options reset; events stay)
//
// Lines starting with # are comments.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.txt scripts")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runScript(t, f, memSnapshot) })
	}
}

// snapshotFunc builds the store view a script runs against.
type snapshotFunc func(t *testing.T, events []event.Event, blockRows int) store.Snapshot

func memSnapshot(_ *testing.T, events []event.Event, blockRows int) store.Snapshot {
	return NewMemSource(events, MemOptions{BlockRows: blockRows})
}

type scriptCase struct {
	line    int
	query   string
	opts    Options
	want    []string
	wantErr string
}

func runScript(t *testing.T, path string, mk snapshotFunc) {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var (
		events    []event.Event
		src       store.Snapshot
		blockRows = 3
		mode      string
		cur       = &scriptCase{}
		n         int
	)
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	flush := func() {
		if cur.query == "" && cur.want == nil {
			return
		}
		if src == nil {
			src = mk(t, events, blockRows)
		}
		c := cur
		t.Run(fmt.Sprintf("line%d", c.line), func(t *testing.T) {
			c.opts.Now = func() time.Time { return now }
			checkCase(t, src, c)
		})
		cur = &scriptCase{}
	}
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n++
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		switch {
		case trim == "events:":
			flush()
			events, src, mode = nil, nil, "events"
		case strings.HasPrefix(trim, "blockrows:"):
			fmt.Sscanf(strings.TrimSpace(trim[len("blockrows:"):]), "%d", &blockRows)
			src = nil
		case strings.HasPrefix(trim, "query:"):
			if cur.query != "" {
				flush()
			}
			cur.query, cur.line, mode = strings.TrimSpace(trim[len("query:"):]), n, ""
		case strings.HasPrefix(trim, "option:"):
			setOption(t, &cur.opts, strings.TrimSpace(trim[len("option:"):]), now)
		case trim == "want:":
			mode, cur.want = "want", []string{}
		case strings.HasPrefix(trim, "error:"):
			cur.wantErr = strings.TrimSpace(trim[len("error:"):])
		case trim == "---":
			flush()
			mode = ""
		case mode == "events":
			events = append(events, parseScriptEvent(t, path, n, trim))
		case mode == "want":
			cur.want = append(cur.want, canonJSON(t, trim))
		default:
			t.Fatalf("%s:%d: unexpected line %q", path, n, line)
		}
	}
	flush()
}

func setOption(t *testing.T, o *Options, kv string, now time.Time) {
	k, v, _ := strings.Cut(kv, "=")
	switch k {
	case "from", "to":
		ns, err := ParseTimeArg(v, now)
		if err != nil {
			t.Fatal(err)
		}
		if k == "from" {
			o.From = ns
		} else {
			o.To = ns
		}
	case "limit":
		fmt.Sscanf(v, "%d", &o.Limit)
	case "workers":
		fmt.Sscanf(v, "%d", &o.Workers)
	case "maxmemory":
		fmt.Sscanf(v, "%d", &o.MaxMemoryBytes)
	case "maxrows":
		fmt.Sscanf(v, "%d", &o.MaxRows)
	case "partitions":
		o.Partitions = strings.Split(v, ",")
	case "scope":
		q, err := Parse(v)
		if err != nil {
			t.Fatalf("scope %q: %v", v, err)
		}
		o.Scope = q.Search
	default:
		t.Fatalf("unknown option %q", k)
	}
}

func checkCase(t *testing.T, src store.Snapshot, c *scriptCase) {
	t.Helper()
	q, err := Parse(c.query)
	if err != nil {
		if c.wantErr != "" && strings.Contains(err.Error(), c.wantErr) {
			return
		}
		t.Fatalf("line %d: Parse(%q): %v", c.line, c.query, err)
	}
	// Every script query also checks the round trip.
	q2, err := Parse(q.String())
	if err != nil {
		t.Fatalf("line %d: Parse(%q) of String(): %v", c.line, q.String(), err)
	}
	if d := cmp.Diff(q, q2); d != "" {
		t.Errorf("line %d: round trip of %q via %q (-first +second):\n%s", c.line, c.query, q.String(), d)
	}
	for _, workers := range []int{1, 3} {
		opts := c.opts
		if opts.Workers == 0 {
			opts.Workers = workers
		}
		got := []string{}
		_, err = Run(context.Background(), src, q, opts, func(r Row) error {
			b, _ := r.MarshalJSON()
			got = append(got, string(b))
			return nil
		})
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("line %d: Run(%q) error = %v, want one containing %q", c.line, c.query, err, c.wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("line %d: Run(%q): %v", c.line, c.query, err)
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Fatalf("line %d: Run(%q) workers=%d (-want +got):\n%s\ngot:\n%s", c.line, c.query, opts.Workers, d, strings.Join(got, "\n"))
		}
	}
}

// parseScriptEvent reads an event from a JSON object, keeping field order.
func parseScriptEvent(t *testing.T, path string, line int, s string) event.Event {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var e event.Event
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s:%d: want a JSON object", path, line)
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		k := kt.(string)
		sv := fmt.Sprint(v)
		switch k {
		case "_time":
			ns, ok := event.ParseTime(sv)
			if !ok {
				t.Fatalf("%s:%d: bad _time %q", path, line, sv)
			}
			e.Time = ns
		case "_raw":
			e.Raw = sv
		case "_source":
			e.Source = sv
		case "_host":
			e.Host = sv
		case "_category":
			e.Category = sv
		case "_partition":
			e.Partition = sv
		default:
			e.Fields = append(e.Fields, event.Field{Name: k, Value: sv})
		}
	}
	return e
}

// canonJSON re-encodes a JSON object with string values, keys in order.
func canonJSON(t *testing.T, s string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var r Row
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("want line %q: want a JSON object", s)
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			t.Fatalf("want line %q: %v", s, err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("want line %q: %v", s, err)
		}
		r = append(r, event.Field{Name: kt.(string), Value: fmt.Sprint(v)})
	}
	b, _ := r.MarshalJSON()
	return string(b)
}
