package query

import (
	"fmt"

	"github.com/mamori/mamori/internal/event"
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
