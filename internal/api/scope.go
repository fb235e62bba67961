package api

import (
	"fmt"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/detect"
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

// restricted reports whether sc limits what its principal may read
// (partitions or role filters).
func restricted(sc auth.Scope) bool { return sc.Partitions != nil || len(sc.Filters) > 0 }

// applyScope restricts q and opts to what p may read: the partitions of
// its roles (pushed down to the store) and its role filters (AND-ed into
// the search expression, so every operator and subquery sees only scoped
// rows). The audit partition is hidden from principals without the audit
// capability even when the query names it. The signals partition is
// hidden from restricted principals: a signal copies its event (raw text,
// host, source) from whatever partition it came from, so neither the
// partition list nor a role filter would hide a wallet event's signal.
// They see signals and incidents through their views, which check the
// event behind each signal (signalScope).
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
	if restricted(sc) {
		g, err := parseScopeFilter("NOT _partition=" + detect.SignalsPartition)
		if err != nil {
			return nil, fmt.Errorf("BUG: signals guard: %w", err)
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

// signalScope checks the events behind signals against p's scope: a
// signal is visible when p may read the event that raised it (its
// partition and role filters, evaluated on the event's partition, source,
// host and raw text as kept on the signal). A nil signalScope (returned
// for unrestricted principals) shows everything.
type signalScope func(partition, source, host, raw string) bool

func newSignalScope(p auth.Principal) (signalScope, error) {
	if !restricted(p.Scope) {
		return nil, nil
	}
	match, err := scopeMatcher(p, true)
	if err != nil {
		return nil, err
	}
	return func(partition, source, host, raw string) bool {
		if partition == "" {
			partition = event.DefaultPartition
		}
		e := event.Event{Partition: partition, Source: source, Host: host, Raw: raw}
		return match(&e)
	}, nil
}

func (s signalScope) visible(sig *detect.Signal) bool {
	return s == nil || s(sig.EventPartition, sig.EventSource, sig.EventHost, sig.EventRaw)
}
