package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// errNoShared means the shared benchmark folder is missing.
var errNoShared = errors.New("benchmark dataset tools not found")

// meta is the generator's FILE.meta.json.
type meta struct {
	Records int64  `json:"records"`
	Bytes   int64  `json:"bytes"`
	Seed    uint64 `json:"seed"`
	Start   string `json:"start"`
	Span    string `json:"span"`
	Needles map[string]struct {
		Value   string `json:"value"`
		Records int64  `json:"records"`
	} `json:"needles"`
}

// timeRange is the [from, to) the dataset covers, from its meta.
func (m meta) timeRange() (from, to time.Time, err error) {
	from, err = time.Parse(time.RFC3339Nano, m.Start)
	if err != nil {
		return from, to, fmt.Errorf("meta start: %w", err)
	}
	span, err := time.ParseDuration(m.Span)
	if err != nil {
		return from, to, fmt.Errorf("meta span: %w", err)
	}
	return from, from.Add(span), nil
}

// findShared returns the shared bench folder: dir when given, else
// ../shared/bench relative to the working directory (the repository root).
func findShared(dir string) (string, error) {
	if dir == "" {
		dir = filepath.Join("..", "shared", "bench")
	}
	if _, err := os.Stat(filepath.Join(dir, "gen", "main.go")); err != nil {
		return "", fmt.Errorf("%w in %s (run from the repository root, or pass -shared DIR): %v", errNoShared, dir, err)
	}
	return filepath.Abs(dir)
}

// datasetName is the cache file for n records and seed.
func datasetName(work string, n int64, seed uint64) string {
	name := "sec-" + humanCount(n) + ".ndjson"
	if seed != 42 {
		name = "sec-" + humanCount(n) + "-seed" + strconv.FormatUint(seed, 10) + ".ndjson"
	}
	return filepath.Join(work, name)
}

// humanCount writes 1000000 as 1m and 10000 as 10k; other counts as digits.
func humanCount(n int64) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return strconv.FormatInt(n/1e6, 10) + "m"
	case n >= 1e3 && n%1e3 == 0:
		return strconv.FormatInt(n/1e3, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// ensureDataset generates file with the shared generator unless it and
// its meta already exist, then returns the meta.
func ensureDataset(ctx context.Context, shared, file string, n int64, seed uint64, log *slog.Logger) (meta, error) {
	metaFile := file + ".meta.json"
	_, ferr := os.Stat(file)
	_, merr := os.Stat(metaFile)
	if ferr == nil && merr == nil {
		log.Info("dataset cached", "file", file)
		return readMeta(metaFile)
	}
	if !errors.Is(ferr, fs.ErrNotExist) && ferr != nil {
		return meta{}, fmt.Errorf("dataset: %w", ferr)
	}
	if shared == "" {
		return meta{}, fmt.Errorf("dataset %s: %w", file, errNoShared)
	}
	log.Info("generating dataset", "records", n, "seed", seed, "file", file)
	start := time.Now()
	tmp := file + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "run", filepath.Join(shared, "gen", "main.go"),
		"-n", strconv.FormatInt(n, 10), "-seed", strconv.FormatUint(seed, 10), "-out", tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return meta{}, fmt.Errorf("generate dataset: %w\n%s", err, short(out))
	}
	// Rename the meta first: a dataset without meta is regenerated.
	if err := os.Rename(tmp+".meta.json", metaFile); err != nil {
		return meta{}, fmt.Errorf("generate dataset: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return meta{}, fmt.Errorf("generate dataset: %w", err)
	}
	log.Info("dataset generated", "took", time.Since(start).Round(time.Millisecond))
	return readMeta(metaFile)
}

func readMeta(file string) (meta, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return meta{}, fmt.Errorf("read meta: %w", err)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return meta{}, fmt.Errorf("read meta %s: %w", file, err)
	}
	if m.Records <= 0 {
		return meta{}, fmt.Errorf("read meta %s: no record count", file)
	}
	return m, nil
}
