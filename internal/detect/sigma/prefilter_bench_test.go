package sigma

import (
	"testing"
)

// BenchmarkPrefilterScan measures the prefilter alone over the lower-cased values
// of the dev events, with every Windows rule's needles.
func BenchmarkPrefilterScan(b *testing.B) {
	e := loadWindowsEngine(b)
	lines := loadDevLines(b)
	var fl jsonFlattener
	var texts []string
	var n int64
	for _, l := range lines[:100] {
		fs, _ := fl.flatten(l, nil)
		for _, f := range fs {
			texts = append(texts, toLower(f.Value))
			n += int64(len(f.Value))
		}
	}
	b.SetBytes(n)
	b.ResetTimer()
	var hits []int32
	checked := make([]uint32, len(e.pats))
	tok := uint32(0)
	for i := 0; i < b.N; i++ {
		for _, t := range texts {
			tok++
			hits = e.ac.scan(t, hits[:0], checked, tok)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
