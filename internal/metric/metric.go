// Package metric is a small Prometheus text-format registry: counters and
// histograms with labels, and gauges computed at scrape time. It exists so
// that the server needs no metrics dependency; it owns no HTTP handler
// beyond WriteTo. All types are safe for concurrent use.
package metric

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds metric families and renders them.
type Registry struct {
	mu       sync.Mutex // guards families
	families []family
}

type family interface {
	name() string
	write(w io.Writer)
}

// New returns an empty registry.
func New() *Registry { return &Registry{} }

func (r *Registry) add(f family) {
	r.mu.Lock()
	r.families = append(r.families, f)
	r.mu.Unlock()
}

// Write renders every family in the Prometheus text exposition format.
func (r *Registry) Write(w io.Writer) {
	r.mu.Lock()
	fs := append([]family(nil), r.families...)
	r.mu.Unlock()
	sort.Slice(fs, func(i, j int) bool { return fs[i].name() < fs[j].name() })
	for _, f := range fs {
		f.write(w)
	}
}

// CounterVec is a counter family with labels.
type CounterVec struct {
	n, help string
	labels  []string
	mu      sync.RWMutex // guards vals
	vals    map[string]*atomic.Uint64
}

// Counter registers a counter family.
func (r *Registry) Counter(name, help string, labels ...string) *CounterVec {
	c := &CounterVec{n: name, help: help, labels: labels, vals: map[string]*atomic.Uint64{}}
	r.add(c)
	return c
}

func (c *CounterVec) name() string { return c.n }

// Add adds v to the counter with the given label values.
func (c *CounterVec) Add(v uint64, labelValues ...string) {
	key := strings.Join(labelValues, "\xff")
	c.mu.RLock()
	a := c.vals[key]
	c.mu.RUnlock()
	if a == nil {
		c.mu.Lock()
		if a = c.vals[key]; a == nil {
			a = new(atomic.Uint64)
			c.vals[key] = a
		}
		c.mu.Unlock()
	}
	a.Add(v)
}

// Value returns the current value for the label values (for tests).
func (c *CounterVec) Value(labelValues ...string) uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if a := c.vals[strings.Join(labelValues, "\xff")]; a != nil {
		return a.Load()
	}
	return 0
}

func (c *CounterVec) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", c.n, c.help, c.n)
	c.mu.RLock()
	keys := make([]string, 0, len(c.vals))
	for k := range c.vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s%s %d\n", c.n, labelString(c.labels, k), c.vals[k].Load())
	}
	c.mu.RUnlock()
}

// GaugeFunc is a gauge family whose samples are computed at scrape time.
type GaugeFunc struct {
	n, help string
	labels  []string
	fn      func(emit func(v float64, labelValues ...string))
}

// Gauge registers a gauge family computed by fn at scrape time.
func (r *Registry) Gauge(name, help string, labels []string, fn func(emit func(v float64, labelValues ...string))) {
	r.add(&GaugeFunc{n: name, help: help, labels: labels, fn: fn})
}

func (g *GaugeFunc) name() string { return g.n }

func (g *GaugeFunc) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", g.n, g.help, g.n)
	g.fn(func(v float64, lv ...string) {
		fmt.Fprintf(w, "%s%s %s\n", g.n, labelString(g.labels, strings.Join(lv, "\xff")), formatFloat(v))
	})
}

// Histogram is a histogram without labels.
type Histogram struct {
	n, help string
	bounds  []float64
	mu      sync.Mutex // guards counts, sum, count
	counts  []uint64
	sum     float64
	count   uint64
}

// Histogram registers a histogram with the given upper bounds (ascending).
func (r *Registry) Histogram(name, help string, bounds []float64) *Histogram {
	h := &Histogram{n: name, help: help, bounds: bounds, counts: make([]uint64, len(bounds))}
	r.add(h)
	return h
}

func (h *Histogram) name() string { return h.n }

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	h.mu.Lock()
	for i, b := range h.bounds {
		if v <= b {
			h.counts[i]++
		}
	}
	h.sum += v
	h.count++
	h.mu.Unlock()
}

func (h *Histogram) write(w io.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", h.n, h.help, h.n)
	for i, b := range h.bounds {
		fmt.Fprintf(w, "%s_bucket{le=\"%s\"} %d\n", h.n, formatFloat(b), h.counts[i])
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", h.n, h.count, h.n, formatFloat(h.sum), h.n, h.count)
}

func labelString(names []string, key string) string {
	if len(names) == 0 {
		return ""
	}
	vals := strings.Split(key, "\xff")
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		v := ""
		if i < len(vals) {
			v = vals[i]
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(v))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func escapeLabel(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func formatFloat(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// funcFamily writes its own samples at scrape time.
type funcFamily struct {
	n  string
	fn func(w io.Writer)
}

func (f *funcFamily) name() string      { return f.n }
func (f *funcFamily) write(w io.Writer) { f.fn(w) }

// Func registers a family (or several, sorted under name) that renders
// itself in the text format at scrape time, for values owned elsewhere.
func (r *Registry) Func(name string, fn func(w io.Writer)) {
	r.add(&funcFamily{n: name, fn: fn})
}

// WriteHistogram renders a cumulative histogram in the text format:
// counts[i] is the number of observations ≤ bounds[i].
func WriteHistogram(w io.Writer, name, help string, bounds []float64, counts []uint64, sum float64, count uint64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	for i, b := range bounds {
		var c uint64
		if i < len(counts) {
			c = counts[i]
		}
		fmt.Fprintf(w, "%s_bucket{le=\"%s\"} %d\n", name, formatFloat(b), c)
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", name, count, name, formatFloat(sum), name, count)
}

// WriteSimple renders one unlabeled sample of a counter or gauge.
func WriteSimple(w io.Writer, name, typ, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, typ, name, formatFloat(v))
}

// Label formats one label pair for hand-written samples.
func Label(name, value string) string { return name + `="` + escapeLabel(value) + `"` }
