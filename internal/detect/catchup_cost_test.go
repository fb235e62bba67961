//go:build unix

package detect

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
	"github.com/mamori/mamori/internal/scenario"
	"github.com/mamori/mamori/internal/store"
)

// TestDiagCatchUpCost compares, on the scenario (SIGMA_SCENARIO) decoded
// as the server decodes it (source = the file's name, its format), the
// CPU per event of live detection (Detect on the decoded batches) with
// that of a catch-up of the same events read back from a real store
// (CatchUp with a gap of every event), both with every SigmaHQ rule and
// the content pack, and the catch-up's read alone (a detector without
// rules). Set CATCHUP_DIAG=1; CATCHUP_LINES bounds the lines per file
// (default 5,000), CATCHUP_PART=k keeps the gap to the middle k-th of the
// batches. Run with -cpuprofile for where the catch-up goes.
func TestDiagCatchUpCost(t *testing.T) {
	dir := os.Getenv("SIGMA_SCENARIO")
	if os.Getenv("CATCHUP_DIAG") == "" || dir == "" {
		t.Skip("set CATCHUP_DIAG=1 and SIGMA_SCENARIO")
	}
	batches := serverBatches(t, dir, 5000)
	fresh := os.Getenv("CATCHUP_FRESH") != ""
	opts := store.Options{Dir: t.TempDir(), Sync: store.SyncInterval}
	if fresh {
		opts.MaintainInterval = time.Hour // no merges: the flushes' cheap parts stay
	}
	st, err := store.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// CATCHUP_PART=k puts only the middle k-th of the batches (in receive
	// order) in the gap, as a server's gap holds a window of receive time
	// while the blocks hold the rows of every window.
	part := 1
	if v := os.Getenv("CATCHUP_PART"); v != "" {
		if part, err = strconv.Atoi(v); err != nil || part < 1 {
			t.Fatalf("CATCHUP_PART=%q", v)
		}
	}
	lo := len(batches) * (part - 1) / (2 * part)
	hi := lo + max(1, len(batches)/part)
	recv := time.Now().UnixNano()
	g := NewGap()
	total := 0
	for k, evs := range batches {
		recv++
		for i := range evs {
			evs[i].Received = recv
		}
		if err := st.Append(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
		if k >= lo && k < hi {
			g.Add(evs)
			total += len(evs)
		}
	}
	// Measure on an idle store: flushed, merges done (they would count in
	// the process CPU); CATCHUP_FRESH=1 measures on the flushes' cheap
	// parts, unmerged, as a server's catch-up meets them after a burst.
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for last, stable := uint64(1<<63), 0; stable < 4 && !fresh; time.Sleep(500 * time.Millisecond) {
		if m := st.Metrics().MergesDone; m == last {
			stable++
		} else {
			last, stable = m, 0
		}
	}
	live := openSigmaHQDetector(t)
	c0 := processCPU()
	sigs := 0
	for _, evs := range batches[lo:hi] {
		for rest := evs; len(rest) > 0; rest = rest[min(len(rest), detectChunk):] {
			sigs += len(live.Detect(rest[:min(len(rest), detectChunk)]))
		}
	}
	liveCPU := processCPU() - c0
	catchUp := func(d *Detector) (time.Duration, CatchUpStats) {
		snap := st.Snapshot()
		defer snap.Release()
		c0 := processCPU()
		cs, err := d.CatchUp(context.Background(), snap, g, func([]Signal) {})
		if err != nil {
			t.Fatal(err)
		}
		return processCPU() - c0, cs
	}
	bare, err := Open(Options{SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	cuCPU, cs := catchUp(openSigmaHQDetector(t))
	// The read alone, with and without row loads (loadReceived), three
	// times each, interleaved; the minimum of each.
	readCPU, wholeCPU := time.Duration(1<<62), time.Duration(1<<62)
	var rs CatchUpStats
	defer func() { rowLoads = true }()
	for range 3 {
		rowLoads = false
		c, _ := catchUp(bare)
		wholeCPU = min(wholeCPU, c)
		rowLoads = true
		c, rs = catchUp(bare)
		readCPU = min(readCPU, c)
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(total) }
	t.Logf("%d events in %d batches (of %d): live Detect %.1f µs/event (%d signals); catch-up %.1f µs/event (%d events, %d blocks, %d signals, %d missing); catch-up read alone %.1f µs/event (%d events; %.1f loading whole blocks)",
		total, hi-lo, len(batches), per(liveCPU), sigs, per(cuCPU), cs.Events, cs.Blocks, cs.Signals, cs.Missing, per(readCPU), rs.Events, per(wholeCPU))
}

// serverBatches decodes up to limit lines of each scenario file
// (CATCHUP_LINES overrides it) as POST /api/v1/ingest does with the
// source and format the shippers send (internal/scenario.Files), in
// batches of 1,000 lines, the files' batches interleaved.
func serverBatches(t testing.TB, dir string, limit int) [][]event.Event {
	t.Helper()
	if v := os.Getenv("CATCHUP_LINES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		limit = n
	}
	perFile := map[string][][]event.Event{}
	now := func() int64 { return time.Now().UnixNano() }
	names := slices.Sorted(maps.Keys(scenario.Files))
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.SplitAfterN(data, []byte("\n"), limit+1)
		lines = lines[:min(len(lines), limit)]
		format, p := "json", parse.Parser(nil)
		if pn := scenario.Files[name]; pn != "json" {
			p, _ = parse.Lookup(pn)
			format = "text"
		}
		source := strings.TrimSuffix(strings.TrimSuffix(name, ".ndjson"), ".log")
		for len(lines) > 0 {
			k := min(1000, len(lines))
			evs, _, err := ingest.DecodeLines(bytes.NewReader(bytes.Join(lines[:k], nil)), ingest.LineOptions{
				Format: format, Parser: p, Meta: event.Event{Source: source}, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			perFile[name] = append(perFile[name], evs)
			lines = lines[k:]
		}
	}
	var out [][]event.Event
	for i := 0; ; i++ {
		more := false
		for _, name := range names {
			if i < len(perFile[name]) {
				out, more = append(out, perFile[name][i]), true
			}
		}
		if !more {
			return out
		}
	}
}

// BenchmarkDetectServerBatches runs Detect (every SigmaHQ rule and the
// content pack) over the scenario decoded as the server decodes it
// (serverBatches: SIGMA_SCENARIO, CATCHUP_LINES lines per file), in the
// live path's chunks; one op is one pass. With -benchmem and -memprofile
// it shows what detection allocates (the server's GC pays for it).
func BenchmarkDetectServerBatches(b *testing.B) {
	dir := os.Getenv("SIGMA_SCENARIO")
	if dir == "" {
		b.Skip("set SIGMA_SCENARIO")
	}
	batches := serverBatches(b, dir, 2000)
	d := openSigmaHQDetector(b)
	events := 0
	for _, evs := range batches {
		events += len(evs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	c0 := processCPU()
	for b.Loop() {
		for _, evs := range batches {
			for rest := evs; len(rest) > 0; rest = rest[min(len(rest), detectChunk):] {
				d.Detect(rest[:min(len(rest), detectChunk)])
			}
		}
	}
	b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(b.N*events), "cpu-ns/event")
}
