package sigma

import (
	"os"
	"path/filepath"
	"testing"
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
	benchHunt(b, loadWindowsEngine(b), lines)
}

// scenarioWinlogbeat reads the non-blank lines of the Winlogbeat files of
// a scenariogen -out directory (Sysmon, then Security).
func scenarioWinlogbeat(tb testing.TB, dir string) []string {
	tb.Helper()
	var lines []string
	for _, name := range []string{"winlogbeat_sysmon.ndjson", "winlogbeat_security.ndjson"} {
		l, err := readNonBlankLines(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, l...)
	}
	return lines
}
