package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// TestAPIEndToEnd covers search, histogram, explain, live tail, metrics and
// the CLI against the real binary.
func TestAPIEndToEnd(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, filepath.Join(dir, "data"))
	defer n.stop()

	var body bytes.Buffer
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 300; i++ {
		user := []string{"alice", "bob", "carol"}[i%3]
		ts := base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339Nano)
		fmt.Fprintf(&body, `{"_time":"%s","_msg":"Failed password for %s from 10.0.0.%d port 22","user":"%s","host":"h%d"}`+"\n", ts, user, i%7, user, i%2)
	}
	st, a := n.ingest(t, "?source=sshd", "", body.Bytes())
	if st != 200 || a.Accepted != 300 {
		t.Fatalf("ingest: %d %+v", st, a)
	}

	search := func(q string) []map[string]any {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"query": q, "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"})
		code, out, _ := n.do("POST", "/api/v1/search", "", b)
		if code != 200 {
			t.Fatalf("search %q: %d %s", q, code, out)
		}
		var rows []map[string]any
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(nil, 1<<20)
		sawStats := false
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("search %q: bad line %q", q, sc.Bytes())
			}
			if _, ok := m["_stats"]; ok {
				sawStats = true
				continue
			}
			rows = append(rows, m)
		}
		if !sawStats {
			t.Fatalf("search %q: no _stats trailer", q)
		}
		return rows
	}
	if rows := search("alice"); len(rows) != 100 {
		t.Errorf("alice: %d rows, want 100", len(rows))
	}
	if rows := search(`"10.0.0.3" | count`); len(rows) != 1 || rows[0]["_count"] != float64(43) {
		t.Errorf(`"10.0.0.3" | count = %v, want 43`, rows)
	}
	if rows := search("* | count by user"); len(rows) != 3 {
		t.Errorf("count by user: %v", rows)
	}
	if rows := search("bob | limit 5"); len(rows) != 5 || rows[0]["_time"].(string) <= rows[4]["_time"].(string) {
		t.Errorf("bob | limit 5 not newest first: %v", rows)
	}
	if rows := search("_source=sshd user=carol | sort by _time asc | limit 1"); len(rows) != 1 || rows[0]["_time"] != "2026-01-01T00:02:00Z" {
		t.Errorf("oldest carol: %v", rows)
	}
	// A syntax error answers 400 with its offset.
	code, out, _ := n.do("POST", "/api/v1/search", "", []byte(`{"query":"alice | cuont"}`))
	var e struct {
		Error  string
		Offset int
	}
	json.Unmarshal(out, &e)
	if code != 400 || e.Offset != 8 || !strings.Contains(e.Error, "count") {
		t.Errorf("bad query: %d %s", code, out)
	}
	// Explain.
	code, out, _ = n.do("POST", "/api/v1/search", "", []byte(`{"query":"alice","explain":true,"from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z"}`))
	if code != 200 || !bytes.Contains(out, []byte(`"store"`)) {
		t.Errorf("explain: %d %s", code, out)
	}
	// Histogram: 300 events over 5 hours in 1h buckets (6h range → 1h? at 60 buckets it is 10m).
	code, out, _ = n.do("POST", "/api/v1/histogram", "", []byte(`{"query":"alice","from":"2026-01-01T00:00:00Z","to":"2026-01-01T06:00:00Z","buckets":6}`))
	var hist struct {
		Bucket  string
		Buckets []struct {
			Time  string
			Count int64
		}
	}
	json.Unmarshal(out, &hist)
	var total int64
	for _, b := range hist.Buckets {
		total += b.Count
	}
	if code != 200 || hist.Bucket != "1h" || len(hist.Buckets) != 6 || total != 100 || hist.Buckets[0].Count != 20 {
		t.Errorf("histogram: %d %s", code, out)
	}
	// Metrics.
	code, out, _ = n.do("GET", "/metrics", "", nil)
	for _, want := range []string{`mamori_ingest_events_received_total{receiver="http",source="sshd"} 300`, "mamori_wal_fsync_seconds_count", "mamori_queries_total", "mamori_store_rows_appended_total"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}

	t.Run("live tail", func(t *testing.T) {
		req, _ := http.NewRequest("GET", n.url("/api/v1/tail?query=tailme"), nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("tail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		br := bufio.NewReader(resp.Body)
		if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, ": tail started") {
			t.Fatalf("first line %q", l)
		}
		n.ingest(t, "?source=live", "", []byte("not this one\ntailme please\n"))
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l, "data: ") {
				if !strings.Contains(l, "tailme please") || strings.Contains(l, "not this one") {
					t.Fatalf("tail data %q", l)
				}
				return
			}
		}
		t.Fatal("no tail event within 10s")
	})

	t.Run("cli", func(t *testing.T) {
		gzPath := filepath.Join(dir, "app.log.gz")
		f, _ := os.Create(gzPath)
		zw := gzip.NewWriter(f)
		for i := 0; i < 1000; i++ {
			fmt.Fprintf(zw, "2026-01-01T10:%02d:%02dZ clitest line %d\n", i/60%60, i%60, i)
		}
		zw.Close()
		f.Close()
		env := []string{"MAMORI_SERVER=" + n.addr, "MAMORI_TOKEN=" + adminToken}
		cmdEnv(t, env, nil, "ingest", "--host", "cli-host", gzPath)
		out := cmdEnv(t, env, nil, "search", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T00:00:00Z", "--output", "csv", "clitest | count by _source")
		if !strings.Contains(out, "app.log,1000") {
			t.Errorf("csv output %q", out)
		}
		out = cmdEnv(t, env, nil, "search", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T00:00:00Z", "--output", "ndjson", "clitest | limit 2")
		if strings.Count(out, "\n") != 2 || !strings.Contains(out, `"_host":"cli-host"`) {
			t.Errorf("ndjson output %q", out)
		}
		out = cmdEnv(t, env, strings.NewReader("stdin clitest2 line\n"), "ingest", "--source", "stdin")
		_ = out
	})
}

func cmdEnv(t *testing.T, env []string, stdin *strings.Reader, args ...string) string {
	t.Helper()
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	var in *strings.Reader = stdin
	if in == nil {
		in = strings.NewReader("")
	}
	out, errOut, err := runCLI(t, in, args...)
	if err != nil {
		t.Fatalf("mamori %v: %v\n%s", args, err, errOut)
	}
	return out
}
