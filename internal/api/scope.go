package api

import (
	"fmt"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
)

// parseScopeFilter parses a role filter: a search expression without pipes.
func parseScopeFilter(text string) (query.Expr, error) {
	q, err := query.Parse(text)
	if err != nil {
		return nil, err
	}
	if len(q.Stages) > 0 || q.Search == nil {
		return nil, fmt.Errorf("a role filter is a search expression without | operators")
	}
	return q.Search, nil
}

// applyScope restricts q and opts to what p may read: the partitions of
// its roles (pushed down to the store) and its role filters (AND-ed into
// the search expression, so every operator and subquery sees only scoped
// rows). The audit partition is hidden from principals without the audit
// capability even when the query names it.
func applyScope(p auth.Principal, q *query.Query, opts *query.Options) (*query.Query, error) {
	sc := p.Scope
	if sc.Partitions != nil {
		opts.Partitions = sc.Partitions
		if len(sc.Partitions) == 0 {
			opts.Partitions = []string{"\x00none"} // no partition at all
		}
	}
	var guards []query.Expr
	if !sc.AllowsPartition(auth.AuditPartition) {
		g, err := parseScopeFilter("NOT _partition=" + auth.AuditPartition)
		if err != nil {
			return nil, fmt.Errorf("BUG: audit guard: %w", err)
		}
		guards = append(guards, g)
	}
	if len(sc.Filters) > 0 {
		var or []query.Expr
		for _, f := range sc.Filters {
			e, err := parseScopeFilter(f)
			if err != nil {
				return nil, fmt.Errorf("role filter %q: %w", f, err)
			}
			or = append(or, e)
		}
		if len(or) == 1 {
			guards = append(guards, or[0])
		} else {
			guards = append(guards, &query.Or{Kids: or})
		}
	}
	if len(guards) == 0 {
		return q, nil
	}
	var scope query.Expr = guards[0]
	if len(guards) > 1 {
		scope = &query.And{Kids: guards}
	}
	// The engine ANDs Scope into the main search and into every subquery.
	opts.Scope = scope
	out := *q
	if q.Search == nil {
		out.Search = scope
	} else {
		out.Search = &query.And{Kids: []query.Expr{scope, q.Search}}
	}
	return &out, nil
}

// scopeMatcher returns a per-event check of p's scope, for live tail.
// Internal partitions (names starting with '_') are left out unless the
// query names a partition, as in search.
func scopeMatcher(p auth.Principal, namesPartition bool) (func(*event.Event) bool, error) {
	q, err := applyScope(p, &query.Query{}, &query.Options{})
	if err != nil {
		return nil, err
	}
	var m *query.Matcher
	if q.Search != nil {
		if m, err = q.Matcher(); err != nil {
			return nil, err
		}
	}
	sc := p.Scope
	return func(e *event.Event) bool {
		part := e.Partition
		if part == "" {
			part = event.DefaultPartition
		}
		if sc.Partitions != nil && !sc.AllowsPartition(part) {
			return false
		}
		if sc.Partitions == nil && !namesPartition && part[0] == '_' {
			return false
		}
		return m == nil || m.Match(e)
	}, nil
}
