package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleReport() *report {
	return &report{
		Date: "2026-11-25T23:00:00Z", Machine: machine{CPUs: 2, CPUModel: "AMD EPYC", MemBytes: 24 << 30, Kernel: "6.1", Go: "go1.26"},
		Dataset: "sec-1m.ndjson", Records: 1_000_000, DatasetBytes: 431e6, Fsync: "always", Load1: []loadSample{{"ingest_start", 3.5}, {"queries_start", 2}},
		Ingest: &ingestReport{ingestResult: ingestResult{Records: 1_000_000, Wall: 10 * time.Second, PeakRSS: 300 << 20},
			Conns: 4, BatchBytes: 2 << 20, RecordsPerSec: 100_000, MBPerSec: 43, CPUPerRecord: 7.5, CPUWithSettle: 9},
		Disk: &diskReport{StoreBytes: 50e6, WALBytes: 10e6, BytesPerRecord: 50},
		Queries: []queryReport{
			{Name: "needle_term", Query: "x", MedianMs: 3, TargetMs: 20, RefMs: 104, Answer: verdict{OK: true, Want: "5 rows", Got: "5 rows"}},
			{Name: "regex_count", Query: "_raw matches /(root|admin)/ | count", MedianMs: 300, TargetMs: 166, RefMs: 208, Answer: verdict{OK: true, Want: "1", Got: "1"}},
			{Name: "top_users", Query: "t", MedianMs: 1, TargetMs: 220, Answer: verdict{Want: "first -", Got: "first x"}},
			{Name: "count_by_host", Query: "c", TargetMs: 5, Error: "search: HTTP 400: nope", Answer: verdict{Want: "200 rows", Got: "error"}},
		},
	}
}

func TestReportFigures(t *testing.T) {
	r := sampleReport()
	want := map[string]string{
		"server CPU µs/record (ingest)":      "ok",
		"server CPU µs/record (with merges)": "over target",
		"peak RSS while ingesting":           "ok",
		"bytes/record on disk (store dir)":   "over target",
		"bytes/record on disk (without WAL)": "ok",
		"needle_term (median)":               "ok",
		"regex_count (median)":               "over target",
		"top_users (median)":                 "FAIL: wrong answer",
		"count_by_host (median)":             "FAIL: search: HTTP 400: nope",
		"ingest records/s (4 conns)":         "under target",
	}
	got := map[string]string{}
	for _, f := range r.figures() {
		got[f.name] = f.verdict
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("figure %q verdict = %q, want %q", name, got[name], v)
		}
	}
	if !r.failed() {
		t.Error("failed() = false with a wrong answer")
	}
	r.Queries = r.Queries[:2]
	if r.failed() {
		t.Error("failed() = true with right answers (a slow query is not a failure)")
	}
}

func TestReportOutputs(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	if err := r.writeTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "needle_term (median)") || !strings.Contains(b.String(), "verdict") {
		t.Fatalf("table:\n%s", b.String())
	}
	md := r.markdown()
	for _, s := range []string{"### 1M records (2026-11-25T23:00:00Z)", "Load average (1 min) on the 2 cores: ingest start 3.5, queries start 2.0.", "2 cores (AMD EPYC), 24 GiB RAM", `(root\|admin)`, "| top_users | `t` | FAIL | first - | first x |"} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	file := filepath.Join(t.TempDir(), "r.json")
	if err := r.writeJSON(file); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("report JSON: %v", err)
	}
	if back["records"].(float64) != 1e6 || back["ingest"].(map[string]any)["server_cpu_us_per_record"].(float64) != 7.5 {
		t.Fatalf("report JSON lacks figures: %s", data)
	}
}

func TestParseLoad1(t *testing.T) {
	if v, ok := parseLoad1([]byte("19.54 17.15 10.30 14/199 23569\n")); !ok || v != 19.54 {
		t.Fatalf("parseLoad1 = %v, %v", v, ok)
	}
	for _, in := range []string{"", "x 1 2"} {
		if _, ok := parseLoad1([]byte(in)); ok {
			t.Fatalf("parseLoad1(%q) ok", in)
		}
	}
	r := &report{}
	r.noteLoad("x")
	if _, err := os.Stat("/proc/loadavg"); err == nil && len(r.Load1) != 1 {
		t.Fatalf("noteLoad: %v", r.Load1)
	}
}
