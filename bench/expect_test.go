package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestContainsToken(t *testing.T) {
	f := func(s, tok string, want bool) {
		t.Helper()
		if got := containsToken(s, tok); got != want {
			t.Fatalf("containsToken(%q, %q) = %v, want %v", s, tok, got, want)
		}
	}
	f("from 203.0.113.77 port 22", needleIP, true)
	f("SSH_CLIENT=203.0.113.77", needleIP, true)
	f(`{"ip":"203.0.113.77"}`, needleIP, true)
	f("203.0.113.77", needleIP, true)
	f("sentence ends at 203.0.113.77.", needleIP, true)
	f("1203.0.113.77", needleIP, false)
	f("203.0.113.771", needleIP, false)
	f("1.203.0.113.77", needleIP, false)
	f("203.0.113.77.5", needleIP, false)
	f("203.0.113.7 and 203.0.113.77x then 203.0.113.77", needleIP, true) // a later occurrence counts
	f("Hashes=SHA256="+needleHash+" ParentImage", needleHash, true)
	f("a"+needleHash, needleHash, false)
	f("", needleIP, false)
}

func TestPushNewest(t *testing.T) {
	var d []int64
	for _, v := range []int64{5, 1, 9, 7, 3, 9} {
		d = pushNewest(d, v, 4)
	}
	if want := []int64{9, 9, 7, 5}; !slices.Equal(d, want) {
		t.Fatalf("pushNewest = %v, want %v", d, want)
	}
}

const sampleData = `{"_time":"2026-01-01T00:00:01Z","_msg":"Jan  1 00:00:01 web-001.fra1.corp sshd[1]: Failed password for invalid user root from 150.1.2.3 port 22 ssh2","host":"web-001.fra1.corp","app":"sshd","user":"root","src_ip":"150.1.2.3","outcome":"failure"}
{"_time":"2026-01-01T00:00:30Z","_msg":"Failed password for invalid user admin from 99.1.2.3 port 22 ssh2","host":"web-001.fra1.corp","app":"sshd","user":"admin","src_ip":"99.1.2.3","outcome":"failure"}
this line is not JSON
{"_time":"2026-01-01T00:01:00Z","_msg":"203.0.113.77 - zack.hill [01/Jan/2026:00:01:00 +0000] \"GET / HTTP/1.1\" 200","host":"web-002.sgp1.corp","app":"exchange-api","user":"zack.hill","src_ip":"203.0.113.77"}
{"_time":"2026-01-01T00:02:00Z","_msg":"EventID=1 Hashes=SHA256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 DestinationIp=203.0.113.77","host":"ws-001.fra1.corp","app":"sysmon","user":"CORP\\zack.hill","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
{"_time":"bad time","_msg":"Failed password for invalid user root from 150.9.9.9 port 1","host":"web-001.fra1.corp","app":"sshd","src_ip":"150.1.2.3","outcome":"failure"}
`

func TestScanExpected(t *testing.T) {
	e, err := scanExpected(strings.NewReader(sampleData))
	if err != nil {
		t.Fatalf("scanExpected: %v", err)
	}
	checks := []struct {
		name      string
		got, want int64
	}{
		{"records", e.Records, 5},
		{"malformed", e.Malformed, 1},
		{"bytes", e.Bytes, int64(len(sampleData))},
		{"needle_term", e.NeedleTerm, 1},
		{"needle_ip", e.NeedleIP, 2},
		{"field_eq_needle", e.FieldEqNeedle, 1},
		{"field_eq_count", e.FieldEqCount, 1}, // CORP\zack.hill is another value
		{"phrase_count", e.PhraseCount, 3},
		{"regex_count", e.RegexCount, 2}, // root/150. and root/150. (bad time still counts); admin/99. does not
		{"distinct_src_ip", e.DistinctSrcIP, 3},
		{"hosts", int64(len(e.ByHost)), 3},
		{"host web-001", e.ByHost["web-001.fra1.corp"], 3},
		{"minutes", int64(len(e.ByMinute)), 3},
		{"minute 0", e.ByMinute["1767225600"], 2},
		{"ssh fail 150.1.2.3", e.SSHFailBySrc["150.1.2.3"], 2},
		{"tail", int64(len(e.TailTimes)), 2}, // the record with a bad time has no place in the order
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if e.TailTimes[0] < e.TailTimes[1] {
		t.Errorf("tail times %v not newest first", e.TailTimes)
	}
}

func TestTop(t *testing.T) {
	got := top(map[string]int64{"b": 2, "a": 2, "c": 5, "d": 1}, 3)
	want := []group{{"c", 5}, {"a", 2}, {"b", 2}}
	if !slices.Equal(got, want) {
		t.Fatalf("top = %v, want %v", got, want)
	}
}

func TestCrossCheck(t *testing.T) {
	e := &expected{Records: 1_000_000, NeedleTerm: 5}
	probs := crossCheck(e, 42)
	if len(probs) == 0 || !strings.Contains(strings.Join(probs, ";"), "needle_ip: scan 0, README 10") {
		t.Fatalf("crossCheck = %q", probs)
	}
	if probs := crossCheck(e, 7); probs != nil {
		t.Fatalf("crossCheck for another seed = %q, want none", probs)
	}
	if probs := crossCheck(&expected{Records: 123}, 42); probs != nil {
		t.Fatalf("crossCheck for another size = %q, want none", probs)
	}
}

func TestLoadExpectedCache(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "d.ndjson")
	if err := os.WriteFile(file, []byte(sampleData), 0o644); err != nil {
		t.Fatal(err)
	}
	e1, cached, err := loadExpected(file)
	if err != nil || cached {
		t.Fatalf("loadExpected first = cached %v, err %v", cached, err)
	}
	e2, cached, err := loadExpected(file)
	if err != nil || !cached {
		t.Fatalf("loadExpected second = cached %v, err %v", cached, err)
	}
	if e1.PhraseCount != e2.PhraseCount || len(e1.ByHost) != len(e2.ByHost) {
		t.Fatalf("cached answers differ: %+v vs %+v", e1, e2)
	}
	// A changed dataset invalidates the cache.
	if err := os.WriteFile(file, []byte(sampleData+sampleData), 0o644); err != nil {
		t.Fatal(err)
	}
	e3, cached, err := loadExpected(file)
	if err != nil || cached || e3.Records != 2*e1.Records {
		t.Fatalf("loadExpected after change = cached %v, records %d, err %v", cached, e3.Records, err)
	}
	if _, _, err := loadExpected(filepath.Join(dir, "missing.ndjson")); err == nil {
		t.Fatal("loadExpected(missing): no error")
	}
}

// TestGeneratedDataset runs the shared generator on a small set and checks
// the reference scan against the generator's own needle counts.
func TestGeneratedDataset(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	shared, err := findShared(filepath.Join("..", "..", "shared", "bench"))
	if err != nil {
		t.Skipf("shared benchmark tools absent: %v", err)
	}
	file := datasetName(t.TempDir(), 20_000, 42)
	m, err := ensureDataset(context.Background(), shared, file, 20_000, 42, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("ensureDataset: %v", err)
	}
	e, _, err := loadExpected(file)
	if err != nil {
		t.Fatalf("loadExpected: %v", err)
	}
	if e.Records != m.Records || e.Bytes != m.Bytes || e.Malformed != 0 {
		t.Fatalf("scan records %d bytes %d malformed %d, meta records %d bytes %d", e.Records, e.Bytes, e.Malformed, m.Records, m.Bytes)
	}
	if got, want := e.NeedleTerm, m.Needles["sha256"].Records; got != want {
		t.Errorf("needle_term = %d, meta sha256 records %d", got, want)
	}
	if got, want := e.NeedleIP, m.Needles["ip"].Records; got != want {
		t.Errorf("needle_ip = %d, meta ip records %d", got, want)
	}
	if len(e.ByHost) == 0 || len(e.ByHost) > 200 || e.PhraseCount == 0 || e.RegexCount == 0 || len(e.TailTimes) != tailRows {
		t.Errorf("implausible answers: hosts %d phrase %d regex %d tail %d", len(e.ByHost), e.PhraseCount, e.RegexCount, len(e.TailTimes))
	}
	from, to, err := m.timeRange()
	if err != nil || to.Sub(from).Hours() != 24 {
		t.Errorf("timeRange = %v, %v, %v", from, to, err)
	}
	// Cached the second time: no generator run.
	if _, err := ensureDataset(context.Background(), "", file, 20_000, 42, slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("ensureDataset cached: %v", err)
	}
}

// TestReadmeAnswers checks the reference scan against the README's table on
// the 1M set a previous harness run generated, when there is one.
func TestReadmeAnswers(t *testing.T) {
	file := os.Getenv("MAMORI_BENCH_1M")
	if file == "" {
		file = "/tmp/mamori-bench/sec-1m.ndjson"
	}
	if testing.Short() {
		t.Skip("scans the 1M dataset")
	}
	if _, err := os.Stat(file); err != nil {
		t.Skipf("no 1M dataset at %s (go run ./bench generates it): %v", file, err)
	}
	m, err := readMeta(file + ".meta.json")
	if err != nil {
		t.Skipf("no meta: %v", err)
	}
	e, _, err := loadExpected(file)
	if err != nil {
		t.Fatalf("loadExpected: %v", err)
	}
	if probs := crossCheck(e, m.Seed); len(probs) > 0 {
		t.Fatalf("reference scan disagrees with the README: %q", probs)
	}
}

func TestHumanCount(t *testing.T) {
	for n, want := range map[int64]string{1_000_000: "1m", 10_000_000: "10m", 20_000: "20k", 1234: "1234", 1_500_000: "1500k"} {
		if got := humanCount(n); got != want {
			t.Errorf("humanCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func FuzzScanExpected(f *testing.F) {
	f.Add([]byte(sampleData))
	f.Add([]byte("{}\n[]\nnull\n{\"_time\":1}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := scanExpected(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("scanExpected on a reader that cannot fail: %v", err)
		}
		if e.Bytes != int64(len(b)) {
			t.Fatalf("bytes = %d, want %d", e.Bytes, len(b))
		}
	})
}
