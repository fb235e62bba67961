package sigma

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// BenchmarkHuntWinlogbeat is BenchmarkHuntJSON over the generated
// scenario's Winlogbeat events (SIGMA_SCENARIO: a scenariogen -out
// directory): ~54,000 distinct Sysmon and Security events whose values
// repeat as a network's do (image paths, users, parents) or not (GUIDs,
// times, most command lines and file names), where the dev events, cycled,
// repeat every value. -benchtime 53613x is one pass over them.
func BenchmarkHuntWinlogbeat(b *testing.B) {
	dir := os.Getenv("SIGMA_SCENARIO")
	if dir == "" {
		b.Skip("set SIGMA_SCENARIO to a scenariogen -out directory (see ../shared/testdata/scenario/README.md)")
	}
	lines := scenarioWinlogbeat(b, dir)
	e := loadWindowsEngine(b)
	var fl jsonFlattener
	var fields []event.Field
	var bytes int64
	for _, l := range lines {
		bytes += int64(len(l))
	}
	b.ReportAllocs()
	runtime.GC()
	b.ResetTimer()
	cpu0 := processCPU()
	n := 0
	for i := 0; i < b.N; i++ {
		var err error
		if fields, err = fl.flatten(lines[i%len(lines)], fields); err != nil {
			b.Fatal(err)
		}
		ev := event.Event{Fields: fields}
		e.Match(&ev, func(Match) { n++ })
	}
	reportCPU(b, processCPU()-cpu0)
	b.SetBytes(bytes / int64(len(lines)))
	b.ReportMetric(float64(n)/float64(b.N), "matches/op")
}

// scenarioWinlogbeat reads the non-blank lines of the Winlogbeat files of
// a scenariogen -out directory (Sysmon, then Security).
func scenarioWinlogbeat(tb testing.TB, dir string) []string {
	tb.Helper()
	var lines []string
	for _, name := range []string{"winlogbeat_sysmon.ndjson", "winlogbeat_security.ndjson"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				lines = append(lines, l)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	return lines
}
