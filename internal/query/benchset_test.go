package query

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// TestBenchSet runs the benchmark query set (../shared/bench/README.md) on
// a generated NDJSON file ingested into the real store, checks the 1M
// answers and logs the times. It is opt-in, since ingesting takes a while:
//
//	go run ../shared/bench/gen/main.go -n 1000000 -seed 42 -out /tmp/sec-1m.ndjson
//	MAMORI_BENCH_NDJSON=/tmp/sec-1m.ndjson go test ./internal/query -run TestBenchSet -v
func TestBenchSet(t *testing.T) {
	path := os.Getenv("MAMORI_BENCH_NDJSON")
	if path == "" {
		t.Skip("set MAMORI_BENCH_NDJSON to a file from ../shared/bench/gen to run the benchmark query set")
	}
	s, n := benchSetStore(t, path)
	snap := s.Snapshot()
	defer snap.Release()
	type benchCase struct {
		name, query string
		rows        int
		first       string // "field=value" of the first row, when known
	}
	cases := []benchCase{
		{"needle_term", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 5, ""},
		{"needle_ip", `"203.0.113.77"`, 10, ""},
		{"field_eq_needle", "src_ip=203.0.113.77", 10, ""},
		{"field_eq_count", "user=zack.hill | count", 1, "_count=19339"},
		{"phrase_count", `"Failed password for invalid user" | count`, 1, "_count=71820"},
		{"regex_count", `_raw matches /Failed password for invalid user (root|admin) from 1[0-9]{2}\./ | count`, 1, "_count=5145"},
		{"count_by_host", "| count by host", 200, ""},
		{"count_by_1m", "| timeslice 1m | count by _timeslice", 1440, ""},
		{"top_users", "| top 10 user", 10, "_count=83651"},
		{"distinct_src_ip", "| count_distinct(src_ip)", 1, "_count_distinct=64673"},
		{"ssh_bruteforce_top", "app=sshd outcome=failure | count by src_ip | sort by _count desc | limit 10", 10, "src_ip=22.45.4.114"},
		{"host_tail_100", "host=web-001.fra1.corp | limit 100", 100, ""},
	}
	only := os.Getenv("MAMORI_BENCH_ONLY") // one case by name
	for _, c := range cases {
		if only != "" && c.name != only {
			continue
		}
		q := MustParse(c.query)
		var best time.Duration
		var rows []Row
		cpu0 := cpuTime()
		for range 3 {
			rows = rows[:0]
			start := time.Now()
			if _, err := Run(context.Background(), snap, q, Options{}, func(r Row) error { rows = append(rows, r); return nil }); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if d := time.Since(start); best == 0 || d < best {
				best = d
			}
		}
		cpu := float64(cpuTime()-cpu0) / 3 / 1e6
		t.Logf("%-20s %8.1f ms wall (best of 3), %8.1f ms CPU (mean)  %d rows", c.name, float64(best.Microseconds())/1000, cpu, len(rows))
		if n != 1000000 {
			continue // the answers below are for the 1M set
		}
		if len(rows) != c.rows {
			t.Errorf("%s: %d rows, want %d", c.name, len(rows), c.rows)
		}
		if c.first != "" && len(rows) > 0 {
			found := false
			for _, f := range rows[0] {
				if f.Name+"="+f.Value == c.first {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: first row %v, want %s", c.name, rows[0], c.first)
			}
		}
	}
}

func ingestNDJSON(t *testing.T, s *store.Store, path string) int {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	var batch []event.Event
	n := 0
	start := time.Now()
	ctx := context.Background()
	for sc.Scan() {
		e, err := benchEvent(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		batch = append(batch, e)
		n++
		if len(batch) == 10000 {
			if err := s.Append(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0:0]
		}
	}
	if len(batch) > 0 {
		if err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("ingested %d records in %v", n, time.Since(start))
	return n
}

// benchEvent maps a generator record: _time, _msg (the raw line), fields;
// the host field is also the stream host.
func benchEvent(line []byte) (event.Event, error) {
	dec := json.NewDecoder(bytesReader(line))
	var e event.Event
	if _, err := dec.Token(); err != nil {
		return e, err
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return e, err
		}
		vt, err := dec.Token()
		if err != nil {
			return e, err
		}
		k, v := kt.(string), fmt.Sprint(vt)
		switch k {
		case "_time":
			e.Time, _ = event.ParseTime(v)
		case "_msg":
			e.Raw = v
		default:
			if k == "host" {
				e.Host = v
			}
			e.Fields = append(e.Fields, event.Field{Name: k, Value: v})
		}
	}
	e.Source = "bench"
	return e, nil
}

type byteReader struct {
	b []byte
	i int
}

func bytesReader(b []byte) *byteReader { return &byteReader{b: b} }

func (r *byteReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

// benchSetStore opens a real store holding the NDJSON file at path and
// returns it with the number of records (1M when reused). MAMORI_BENCH_DIR
// keeps the ingested store between runs; the store closes with the test.
func benchSetStore(t *testing.T, path string) (*store.Store, int) {
	t.Helper()
	dir := os.Getenv("MAMORI_BENCH_DIR")
	reuse := dir != ""
	if !reuse {
		dir = t.TempDir()
	}
	_, statErr := os.Stat(dir + "/.ingested")
	s, err := store.Open(store.Options{Dir: dir, MaintainInterval: -1, Sync: store.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	n := 1000000
	if !reuse || statErr != nil {
		n = ingestNDJSON(t, s, path)
		if reuse {
			if err := os.WriteFile(dir+"/.ingested", nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s, n
}
