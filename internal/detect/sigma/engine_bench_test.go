package sigma

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

const sharedSigma = "../../../../shared/testdata/sigma"

// windowsRuleDirs are every SigmaHQ folder with Windows rules.
var windowsRuleDirs = []string{
	"sigmahq/rules/windows", "sigmahq/rules-emerging-threats", "sigmahq/rules-threat-hunting/windows",
	"sigmahq/rules-placeholder/windows",
}

func loadWindowsEngine(tb testing.TB) *Engine {
	tb.Helper()
	return loadWindowsEngineWith(tb, Options{})
}

func loadWindowsEngineWith(tb testing.TB, opts Options) *Engine {
	tb.Helper()
	var dirs []string
	for _, d := range windowsRuleDirs {
		dirs = append(dirs, filepath.Join(sharedSigma, d))
	}
	if _, err := os.Stat(dirs[0]); err != nil {
		tb.Skipf("SigmaHQ rules absent (%v)", err)
	}
	rs, _, err := LoadDir(dirs...)
	if err != nil {
		tb.Fatal(err)
	}
	var win []*Rule
	for _, r := range rs.Rules {
		if r.LogSource.Product == "windows" {
			win = append(win, r)
		}
	}
	e, _, err := Compile(win, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func loadDevLines(tb testing.TB) []string {
	tb.Helper()
	lines, err := readNonBlankLines(filepath.Join(sharedSigma, "dev/logs.jsonl"))
	if os.IsNotExist(err) {
		tb.Skipf("dev logs absent: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return lines
}

// readNonBlankLines returns the lines of the file at path that are not
// blank, trimmed.
func readNonBlankLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, sc.Err()
}

// BenchmarkHuntJSON measures flattening plus matching with every Windows
// rule of SigmaHQ, on one core.
func BenchmarkHuntJSON(b *testing.B) {
	e := loadWindowsEngine(b)
	b.Logf("%+v", e.Stats())
	benchHunt(b, e, loadDevLines(b))
}

// benchHunt measures flattening plus e.Match, one op per line of lines
// (cycled).
func benchHunt(b *testing.B, e *Engine, lines []string) {
	var fl jsonFlattener
	fl.bind(e)
	var fields []event.Field
	var bytes int64
	for _, l := range lines {
		bytes += int64(len(l))
	}
	b.ReportAllocs()
	runtime.GC() // collect the rule loading's garbage outside the measurement
	b.ResetTimer()
	cpu0 := processCPU()
	n := 0
	for i := 0; i < b.N; i++ {
		var err error
		line := lines[i%len(lines)]
		if fields, err = fl.flatten(line, fields); err != nil {
			b.Fatal(err)
		}
		ev := event.Event{Fields: fields}
		e.matchSlots(&ev, &fl.slots, func(Match) { n++ }) // as the hunter calls it
	}
	reportCPU(b, processCPU()-cpu0)
	b.SetBytes(bytes / int64(len(lines)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(n)/float64(b.N), "matches/op")
}

// reportCPU reports the CPU time per operation and operations per CPU
// second (the figures docs/benchmarks-sigma.md quotes), when measured.
func reportCPU(b *testing.B, cpu time.Duration) {
	if cpu <= 0 {
		return
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
}

// BenchmarkFlattenJSON measures the JSON-lines flattener alone on the dev
// events (the part of `mamori hunt` before Match).
func BenchmarkFlattenJSON(b *testing.B) {
	lines := loadDevLines(b)
	var fl jsonFlattener
	var fields []event.Field
	var bytes int64
	for _, l := range lines {
		bytes += int64(len(l))
	}
	b.SetBytes(bytes / int64(len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		var err error
		if fields, err = fl.flatten(lines[i%len(lines)], fields); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, processCPU()-cpu0)
}
