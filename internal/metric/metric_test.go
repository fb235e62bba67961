package metric

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	r := New()
	c := r.Counter("mamori_events_total", "Events ingested.", "source")
	c.Add(3, "fw")
	c.Add(2, `we"ird`)
	r.Gauge("mamori_parts", "Parts.", []string{"partition"}, func(emit func(float64, ...string)) { emit(7, "main") })
	h := r.Histogram("mamori_fsync_seconds", "Fsync latency.", []float64{0.001, 0.01})
	h.Observe(0.005)
	var b strings.Builder
	r.Write(&b)
	out := b.String()
	for _, want := range []string{
		`mamori_events_total{source="fw"} 3`,
		`mamori_events_total{source="we\"ird"} 2`,
		`mamori_parts{partition="main"} 7`,
		`mamori_fsync_seconds_bucket{le="0.01"} 1`,
		`mamori_fsync_seconds_bucket{le="0.001"} 0`,
		`mamori_fsync_seconds_count 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
