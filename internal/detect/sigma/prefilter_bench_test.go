package sigma

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// BenchmarkPrefilterScan measures the prefilter alone (the scan of the
// lower-cased values) over the dev events, with every Windows rule's needles.
func BenchmarkPrefilterScan(b *testing.B) {
	e := loadWindowsEngine(b)
	lines := loadDevLines(b)
	var evs []event.Event
	var n int64
	for _, l := range lines[:100] {
		var fl jsonFlattener // values live until the next call: one per kept line
		fs, _ := fl.flatten(l, nil)
		evs = append(evs, event.Event{Fields: fs})
		for _, f := range fs {
			n += int64(len(f.Value))
		}
	}
	st := e.newState()
	b.SetBytes(n)
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		for j := range evs {
			e.load(st, &evs[j])
			st.lowerAll()
			e.scan(st)
		}
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N*len(evs))/cpu.Seconds(), "events/cpu-s")
	}
}
