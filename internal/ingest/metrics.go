package ingest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// maxMetricSources bounds the number of (receiver, source) series so a
// sender inventing source names cannot grow memory or /metrics without
// bound; later sources are counted under OtherSource.
const maxMetricSources = 1000

// OtherSource is the source name that collects the counts of sources seen
// after the series limit was reached.
const OtherSource = "_other"

// Counters are the counts of one (receiver, source) pair.
type Counters struct {
	Received atomic.Uint64 // events acknowledged (appended to the Sink)
	Rejected atomic.Uint64 // events refused: malformed framing, auth, overload, sink errors
	Bytes    atomic.Uint64 // payload bytes received (after decompression)
}

// Metrics counts received, rejected and bytes per receiver and source. The
// zero value is ready to use and safe for concurrent use; a nil *Metrics
// discards counts, so receivers may be built without one.
type Metrics struct {
	mu     sync.RWMutex // guards series
	series map[metricKey]*Counters
}

type metricKey struct{ receiver, source string }

// For returns the counters of receiver and source, creating them.
func (m *Metrics) For(receiver, source string) *Counters {
	if m == nil {
		return &Counters{}
	}
	k := metricKey{receiver, source}
	m.mu.RLock()
	c := m.series[k]
	m.mu.RUnlock()
	if c != nil {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c = m.series[k]; c != nil {
		return c
	}
	if m.series == nil {
		m.series = make(map[metricKey]*Counters)
	}
	if len(m.series) >= maxMetricSources {
		k.source = OtherSource
		if c = m.series[k]; c != nil {
			return c
		}
	}
	c = &Counters{}
	m.series[k] = c
	return c
}

// Add adds counts for receiver and source.
func (m *Metrics) Add(receiver, source string, received, rejected, bytes int) {
	if m == nil {
		return
	}
	c := m.For(receiver, source)
	if received > 0 {
		c.Received.Add(uint64(received))
	}
	if rejected > 0 {
		c.Rejected.Add(uint64(rejected))
	}
	if bytes > 0 {
		c.Bytes.Add(uint64(bytes))
	}
}

// Sample is a snapshot of one series.
type Sample struct {
	Receiver, Source          string
	Received, Rejected, Bytes uint64
}

// Snapshot returns the current counts sorted by receiver and source.
func (m *Metrics) Snapshot() []Sample {
	if m == nil {
		return nil
	}
	m.mu.RLock()
	out := make([]Sample, 0, len(m.series))
	for k, c := range m.series {
		out = append(out, Sample{
			Receiver: k.receiver, Source: k.source,
			Received: c.Received.Load(), Rejected: c.Rejected.Load(), Bytes: c.Bytes.Load(),
		})
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Receiver != out[j].Receiver {
			return out[i].Receiver < out[j].Receiver
		}
		return out[i].Source < out[j].Source
	})
	return out
}

// WritePrometheus writes the counts in the Prometheus text format as
// mamori_ingest_{events_received,events_rejected,bytes}_total.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	snap := m.Snapshot()
	for _, metric := range []struct {
		name, help string
		get        func(Sample) uint64
	}{
		{"mamori_ingest_events_received_total", "Events accepted by a receiver.", func(s Sample) uint64 { return s.Received }},
		{"mamori_ingest_events_rejected_total", "Events refused by a receiver.", func(s Sample) uint64 { return s.Rejected }},
		{"mamori_ingest_bytes_total", "Payload bytes received.", func(s Sample) uint64 { return s.Bytes }},
	} {
		if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", metric.name, metric.help, metric.name); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
		for _, s := range snap {
			if _, err := fmt.Fprintf(w, "%s{receiver=\"%s\",source=\"%s\"} %d\n",
				metric.name, promEscape(s.Receiver), promEscape(s.Source), metric.get(s)); err != nil {
				return fmt.Errorf("write metrics: %w", err)
			}
		}
	}
	return nil
}

var promReplacer = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func promEscape(s string) string { return promReplacer.Replace(s) }
