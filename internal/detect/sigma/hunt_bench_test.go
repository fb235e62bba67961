package sigma

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkHuntFile runs Hunt (one worker) over the dev events repeated 20
// times, with every Windows rule of SigmaHQ: the `mamori hunt` path.
func BenchmarkHuntFile(b *testing.B) {
	e := loadWindowsEngine(b)
	lines := loadDevLines(b)
	path := filepath.Join(b.TempDir(), "events.jsonl")
	text := strings.Repeat(strings.Join(lines, "\n")+"\n", 20)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	var events int64
	for i := 0; i < b.N; i++ {
		st, err := Hunt(context.Background(), e, []string{path}, HuntOptions{Workers: 1}, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		events += st.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
