package query

import (
	"fmt"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// Matcher is a compiled search expression for matching single events (live
// tail, detection). It is safe for concurrent use.
type Matcher struct{ m matcher }

// Matcher compiles the search expression of q.
func (q *Query) Matcher() (*Matcher, error) {
	c := newCompiler(&Options{})
	m, err := c.compileMatcher(q.Search)
	if err != nil {
		return nil, fmt.Errorf("compile search: %w", err)
	}
	return &Matcher{m: m}, nil
}

// Match reports whether e matches.
func (m *Matcher) Match(e *event.Event) bool { return m.m.matchEvent(e) }

// MatchEvent reports whether e matches the search expression of q (the
// stages are ignored). It compiles on every call; use Matcher for many
// events. A search that does not compile (a bad regexp) matches nothing.
func (q *Query) MatchEvent(e *event.Event) bool {
	m, err := q.Matcher()
	if err != nil {
		return false
	}
	return m.Match(e)
}

// Tail runs a query's search expression and row stages (parse, json,
// where, assignments, fields, ...) on single events, for live tail. It is
// safe for concurrent use.
type Tail struct {
	p *plan
}

// Tail compiles q for Process. Queries with aggregations or table stages
// (count, sort, dedup, ...) cannot run event by event and are refused.
func (q *Query) Tail(opts Options) (*Tail, error) {
	p, err := newPlan(q, &opts)
	if err != nil {
		return nil, fmt.Errorf("compile query: %w", err)
	}
	if p.agg != nil || len(p.post) > 0 || len(p.after) > 0 {
		return nil, fmt.Errorf("live tail runs only the search and row stages (parse, json, kv, where, fields, assignments); %q aggregates or sorts", q.String())
	}
	return &Tail{p: p}, nil
}

// Process returns the event's output row and whether it passes the search
// and the row stages.
func (t *Tail) Process(e *event.Event) (Row, bool) {
	if !t.p.m.matchEvent(e) {
		return nil, false
	}
	b := blockOf(e)
	var bv blockView
	bv.reset(b, t.p.c.names, t.p.c.slots)
	rc := newRowCtx(&bv, len(t.p.c.names))
	rc.reset(0)
	for _, o := range t.p.prefix {
		if !o.apply(rc) {
			return nil, false
		}
	}
	return rc.materialize().toRow(t.p.c.names), true
}

// blockOf makes a one-row block of an event.
func blockOf(e *event.Event) *store.Block {
	part := e.Partition
	if part == "" {
		part = event.DefaultPartition
	}
	b := &store.Block{Partition: part, Source: e.Source, Host: e.Host, Times: []int64{e.Time}}
	b.Cols = append(b.Cols, store.Column{Name: event.FieldRaw, Values: []string{e.Raw}})
	if e.Category != "" {
		b.Cols = append(b.Cols, store.Column{Name: event.FieldCategory, Values: []string{e.Category}})
	}
	for _, f := range e.Fields {
		if b.Column(f.Name) == nil {
			b.Cols = append(b.Cols, store.Column{Name: f.Name, Values: []string{f.Value}})
		}
	}
	return b
}
