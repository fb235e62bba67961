package detect

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/query"
	"github.com/mamori/mamori/internal/store"
)

// Monitor is a scheduled check: a query run every Every over the last
// Window whose result is compared with a threshold, or a "quiet" check
// that raises a signal when a source that was sending stops.
type Monitor struct {
	ID    string   `yaml:"id" json:"id"`
	Title string   `yaml:"title" json:"title"`
	Level string   `yaml:"level" json:"level"` // severity of the signal (default medium)
	Tags  []string `yaml:"tags" json:"tags,omitempty"`
	// Type is "query" (default) or "quiet".
	Type string `yaml:"type" json:"type"`
	// Query (type query): any query of the language. The value compared is
	// Field of the first result row (default _count), or the number of
	// rows when the query has no aggregation.
	Query string `yaml:"query" json:"query,omitempty"`
	Field string `yaml:"field" json:"field,omitempty"`
	// Op and Value form the condition, e.g. ">" 100 (default "> 0").
	Op    string  `yaml:"op" json:"op,omitempty"`
	Value float64 `yaml:"value" json:"value"`
	// Every is the schedule and Window the time range searched (default
	// Every; for quiet monitors, how long a source may be silent).
	Every  time.Duration `yaml:"every" json:"every"`
	Window time.Duration `yaml:"window" json:"window"`
	// Sources (type quiet) are the sources watched; empty means every
	// source seen in the last Lookback (default 24h).
	Sources  []string      `yaml:"sources" json:"sources,omitempty"`
	Lookback time.Duration `yaml:"lookback" json:"lookback,omitempty"`
}

// Validate reports every problem of a monitor definition.
func (m *Monitor) Validate() error {
	var probs []string
	if m.ID == "" {
		probs = append(probs, "id: required")
	}
	switch m.Type {
	case "", "query":
		if _, err := query.Parse(m.Query); err != nil {
			probs = append(probs, "query: "+err.Error())
		}
	case "quiet":
	default:
		probs = append(probs, fmt.Sprintf("type %q: want query or quiet", m.Type))
	}
	switch m.Op {
	case "", ">", ">=", "<", "<=", "==", "!=":
	default:
		probs = append(probs, fmt.Sprintf("op %q: want >, >=, <, <=, == or !=", m.Op))
	}
	if m.Every < 0 || m.Window < 0 {
		probs = append(probs, "every and window: must be positive")
	}
	if len(probs) > 0 {
		return fmt.Errorf("monitor %s: %s", m.ID, strings.Join(probs, "; "))
	}
	return nil
}

func (m *Monitor) defaults() {
	if m.Every <= 0 {
		m.Every = 5 * time.Minute
	}
	if m.Window <= 0 {
		m.Window = m.Every
	}
	if m.Lookback <= 0 {
		m.Lookback = 24 * time.Hour
	}
	if m.Level == "" {
		m.Level = "medium"
	}
	if m.Op == "" {
		m.Op = ">"
	}
	if m.Title == "" {
		m.Title = m.ID
	}
}

func compare(v float64, op string, t float64) bool {
	switch op {
	case ">":
		return v > t
	case ">=":
		return v >= t
	case "<":
		return v < t
	case "<=":
		return v <= t
	case "==":
		return v == t
	case "!=":
		return v != t
	}
	return false
}

// Monitors runs scheduled monitors against the store.
type Monitors struct {
	list []Monitor
	snap func() store.Snapshot
	log  *slog.Logger
	now  func() time.Time
}

// NewMonitors validates the monitors.
func NewMonitors(list []Monitor, snap func() store.Snapshot, log *slog.Logger, now func() time.Time) (*Monitors, error) {
	var errs []string
	for i := range list {
		if err := list[i].Validate(); err != nil {
			errs = append(errs, err.Error())
		}
		list[i].defaults()
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("monitors: %s", strings.Join(errs, "; "))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Monitors{list: list, snap: snap, log: log, now: now}, nil
}

// Run checks each monitor on its schedule until ctx ends, handing the
// signals raised to emit.
func (ms *Monitors) Run(ctx context.Context, emit func(context.Context, []Signal) error) {
	if len(ms.list) == 0 {
		return
	}
	next := make([]time.Time, len(ms.list))
	start := ms.now()
	for i := range next {
		next[i] = start.Add(ms.list[i].Every)
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := ms.now()
		for i := range ms.list {
			if now.Before(next[i]) {
				continue
			}
			next[i] = now.Add(ms.list[i].Every)
			sigs, err := ms.Check(ctx, &ms.list[i], now)
			if err != nil {
				ms.log.Warn("monitor failed", "monitor", ms.list[i].ID, "err", err)
				continue
			}
			if len(sigs) > 0 {
				if err := emit(ctx, sigs); err != nil {
					ms.log.Error("store monitor signals", "err", err)
				}
			}
		}
	}
}

// Check evaluates one monitor at time now.
func (ms *Monitors) Check(ctx context.Context, m *Monitor, now time.Time) ([]Signal, error) {
	if m.Type == "quiet" {
		return ms.checkQuiet(ctx, m, now)
	}
	q, err := query.Parse(m.Query)
	if err != nil {
		return nil, err
	}
	rows, err := ms.run(ctx, q, now.Add(-m.Window), now)
	if err != nil {
		return nil, err
	}
	v := float64(len(rows))
	field := m.Field
	if field == "" && len(rows) > 0 {
		if _, ok := rows[0].Get("_count"); ok {
			field = "_count"
		}
	}
	if field != "" {
		v = 0
		if len(rows) > 0 {
			s, _ := rows[0].Get(field)
			v, _ = strconv.ParseFloat(s, 64)
		}
	}
	if !compare(v, m.Op, m.Value) {
		return nil, nil
	}
	desc := fmt.Sprintf("%s: %s = %g (%s %g) over the last %s", m.Title, orRows(field), v, m.Op, m.Value, m.Window)
	return []Signal{monitorSignal(m, now, desc, nil)}, nil
}

func orRows(f string) string {
	if f == "" {
		return "rows"
	}
	return f
}

// checkQuiet raises one signal per watched source with no events in the
// last Window (a source that never sent in Lookback is not watched unless
// named).
func (ms *Monitors) checkQuiet(ctx context.Context, m *Monitor, now time.Time) ([]Signal, error) {
	q, _ := query.Parse("* | count by _source") // a constant query always parses
	recent, err := ms.run(ctx, q, now.Add(-m.Window), now)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, r := range recent {
		s, _ := r.Get("_source")
		seen[s] = true
	}
	watch := m.Sources
	if len(watch) == 0 {
		older, err := ms.run(ctx, q, now.Add(-m.Lookback), now.Add(-m.Window))
		if err != nil {
			return nil, err
		}
		for _, r := range older {
			if s, _ := r.Get("_source"); s != "" && !strings.HasPrefix(s, "mamori") {
				watch = append(watch, s)
			}
		}
	}
	sort.Strings(watch)
	var out []Signal
	for _, s := range watch {
		if !seen[s] {
			out = append(out, monitorSignal(m, now, fmt.Sprintf("%s: source %s sent nothing for %s", m.Title, s, m.Window), []Entity{{Type: "source", Value: s}}))
		}
	}
	return out, nil
}

func (ms *Monitors) run(ctx context.Context, q *query.Query, from, to time.Time) ([]query.Row, error) {
	snap := ms.snap()
	defer snap.Release()
	var rows []query.Row
	_, err := query.Run(ctx, snap, q, query.Options{From: from.UnixNano(), To: to.UnixNano() + 1, Timeout: time.Minute, MaxMemoryBytes: 128 << 20, Limit: 10_000}, func(r query.Row) error {
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

func monitorSignal(m *Monitor, now time.Time, desc string, ents []Entity) Signal {
	ruleID := "monitor:" + m.ID
	return Signal{ID: signalID(ruleID, now.UnixNano(), desc), Time: now.UnixNano(), RuleID: ruleID, Title: desc, Level: m.Level, Severity: SeverityOf(m.Level),
		Tags: m.Tags, Tactics: TacticsOf(m.Tags), Entities: ents, EventTime: now.UnixNano(), EventSource: "mamori-monitor", EventRaw: desc, Kind: "monitor"}
}
