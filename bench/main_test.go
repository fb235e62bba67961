package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFreshDataDir(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(data, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := freshDataDir(data, true); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("freshDataDir(explicit, non-empty) error = %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "store")); err != nil {
		t.Fatalf("explicit data dir was touched: %v", err)
	}
	if err := freshDataDir(data, false); err != nil {
		t.Fatalf("freshDataDir(default): %v", err)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("default data dir not removed: %v", err)
	}
	if err := freshDataDir(filepath.Join(dir, "new"), true); err != nil {
		t.Fatalf("freshDataDir(explicit, missing): %v", err)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags(nil)
	if err != nil || c.n != 1_000_000 || c.conns != 4 || c.runs != 5 || c.token != "bench-token" {
		t.Fatalf("parseFlags(nil) = %+v, %v", c, err)
	}
	f := func(args []string, wantErr string) {
		t.Helper()
		_, err := parseFlags(args)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("parseFlags(%q) error = %v, want %q", args, err, wantErr)
		}
	}
	f([]string{"-n", "0"}, "-n must be positive")
	f([]string{"-c", "0", "-q", "("}, "-q") // every problem at once
	f([]string{"-c", "0", "-q", "("}, "-c, -batch and -runs")
	f([]string{"extra"}, "unexpected arguments")
	f([]string{"-ingest-params", "a=%zz"}, "-ingest-params")
	f([]string{"-detect-pairs", "2"}, "-detect-pairs needs -rules")
	f([]string{"-limit", "5"}, "-limit needs -skip-queries")
	c, err = parseFlags([]string{"-rules", "a", "-rules", "b", "-detect-pairs", "3", "-limit", "10", "-detect-queue", "1GiB"})
	if err != nil || len(c.rules) != 2 || c.rules.String() != "a,b" || !c.skipQueries || c.detectPairs != 3 || c.limit != 10 {
		t.Fatalf("parseFlags(detection) = %+v, %v", c, err)
	}
	if c, err = parseFlags([]string{"-scenario", "/x", "-limit", "5"}); err != nil || !c.skipQueries {
		t.Fatalf("parseFlags(-scenario) = %+v, %v; want queries skipped", c, err)
	}
}
