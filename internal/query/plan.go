package query

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/token"
)

// plan is a compiled query ready to run.
type plan struct {
	q     *Query
	c     *compiler
	m     matcher
	sq    store.Query
	empty bool // provably no result (e.g. a partition outside the scope)

	matchNeed colNeed // columns the search expression reads
	stageNeed colNeed // columns the row stages and the aggregation read
	outAll    bool    // event rows are emitted: load every column

	prefix []rowOp // row stages before the first aggregation
	agg    aggOp   // nil: the query returns event rows
	post   []tableOp

	// Event rows: order and how many are needed.
	asc    bool
	limit  int     // 0: no limit
	stream bool    // post is empty: rows stream in time order with early stop
	after  []rowOp // row stages after the limit, applied to emitted rows

	fast     string // "count", "stream" or "minutes": answered from block metadata
	fastSpan int64

	dict dictPlan // decisions by dictionary code (run_dict.go)
	// rawTemplates: the search has terms, decided on the _raw templates
	// mostly without expanding them (tmpl_view.go).
	rawTemplates bool
	// ipTerms: the search's terms are decided on IPv4 columns by number
	// (run_needle.go).
	ipTerms bool
}

func newPlan(q *Query, opts *Options) (*plan, error) {
	p := &plan{q: q, c: newCompiler(opts)}
	c := p.c
	c.need = &p.matchNeed
	m, err := c.compileMatcher(q.Search)
	if err != nil {
		return nil, fmt.Errorf("compile search: %w", err)
	}
	p.m = m
	p.rawTemplates = hasTemplateTerm(m)
	p.ipTerms = ipTerms(m)
	c.need = &p.stageNeed
	var tail []op
	for _, st := range q.Stages {
		ops, err := st.compile(c)
		if err != nil {
			return nil, err
		}
		for _, o := range ops {
			switch o := o.(type) {
			case aggOp:
				if p.agg == nil && len(tail) == 0 {
					p.agg = o
					c.need = nil
					continue
				}
				tail = append(tail, o)
			case rowOp:
				if p.agg == nil && len(tail) == 0 {
					p.prefix = append(p.prefix, o)
					continue
				}
				tail = append(tail, o)
			case tableOp:
				tail = append(tail, o)
				c.need = nil
			default:
				return nil, fmt.Errorf("BUG: stage %s compiled to %T", st, o)
			}
		}
	}
	budget := &budget{maxBytes: opts.MaxMemoryBytes, maxRows: opts.MaxRows}
	for _, o := range tail {
		switch o := o.(type) {
		case aggOp:
			p.post = append(p.post, aggTableOp{o: o, b: budget})
		case tableOp:
			p.post = append(p.post, o)
		case rowOp:
			p.post = append(p.post, rowTableOp{o})
		}
	}
	p.prepare(len(c.names))
	p.fuseSortLimit()
	p.planRows(opts)
	p.planFast()
	p.planDict()
	p.planNeedle()
	p.planStore(opts)
	return p, nil
}

// fuseSortLimit lets a sort followed by a limit select the top rows
// with a heap, and lets an aggregation skip ordering its groups when a
// sort follows (the sort breaks ties by the group columns instead).
func (p *plan) fuseSortLimit() {
	for i := 0; i+1 < len(p.post); i++ {
		s, ok := p.post[i].(*sortOp)
		if !ok {
			continue
		}
		if l, ok := p.post[i+1].(limitOp); ok {
			s.limit = l.n
		}
	}
	if a, ok := p.agg.(*aggregateOp); ok && len(p.post) > 0 {
		if s, ok := p.post[0].(*sortOp); ok {
			a.unordered = true
			s.tiebreak = true
		}
	}
}

// prepare finishes operators that need the final slot count.
func (p *plan) prepare(nslots int) {
	prep := func(o any) {
		if f, ok := o.(*fieldsOp); ok {
			f.prepare(nslots)
		}
		if f, ok := o.(rowTableOp); ok {
			if f, ok := f.r.(*fieldsOp); ok {
				f.prepare(nslots)
			}
		}
	}
	for _, o := range p.prefix {
		prep(o)
	}
	for _, o := range p.post {
		prep(o)
	}
}

func (p *plan) planRows(opts *Options) {
	if p.agg != nil {
		return
	}
	p.outAll = true
	for _, o := range p.prefix {
		if f, ok := o.(*fieldsOp); ok && !f.drop {
			p.outAll = false
		}
	}
	post := p.post
	if len(post) > 0 {
		if s, ok := post[0].(*sortOp); ok {
			if asc, ok := s.byTimeOnly(); ok {
				p.asc = asc
				post = post[1:]
			}
		}
	}
	// Stream when what is left is limits followed by row stages.
	limit := 0
	for len(post) > 0 {
		l, ok := post[0].(limitOp)
		if !ok {
			break
		}
		if limit == 0 || l.n < limit {
			limit = l.n
		}
		post = post[1:]
	}
	var after []rowOp
	for _, o := range post {
		r, ok := o.(rowTableOp)
		if !ok {
			return
		}
		after = append(after, r.r)
	}
	if limit == 0 || (len(after) == 0 && opts.Limit > 0 && opts.Limit < limit) {
		limit = opts.Limit
	}
	p.stream, p.limit, p.after, p.post = true, limit, after, nil
}

// planFast recognises aggregations that block metadata answers: a plain
// count, and counts by a timeslice of whole minutes.
func (p *plan) planFast() {
	a, ok := p.agg.(*aggregateOp)
	if !ok || !isTrue(p.m) || !a.onlyCount() {
		return
	}
	switch {
	case len(p.prefix) == 0 && len(a.by) == 0:
		p.fast = "count"
	case len(p.prefix) == 0 && len(a.by) == 1 && (a.by[0] == slotHost || a.by[0] == slotSource || a.by[0] == slotPartition):
		p.fast = "stream"
	case len(p.prefix) == 1 && len(a.by) == 1:
		ts, ok := p.prefix[0].(*timesliceOp)
		if ok && ts.slot == a.by[0] && ts.span%int64(time.Minute) == 0 {
			p.fast, p.fastSpan = "minutes", ts.span
		}
	}
}

func isTrue(m matcher) bool {
	_, ok := m.(trueMatcher)
	return ok
}

// planStore builds the store query: time range, partitions, streams and the
// token filter.
func (p *plan) planStore(opts *Options) {
	p.sq = store.Query{MinTime: opts.From, MaxTime: opts.To, Partitions: opts.Partitions}
	if opts.To != 0 && opts.From != 0 && opts.To <= opts.From {
		p.empty = true
	}
	for _, e := range conjuncts(p.q.Search) {
		vals, field := exactValues(e)
		if vals == nil {
			continue
		}
		switch field {
		case event.FieldPartition:
			p.sq.Partitions = intersect(p.sq.Partitions, vals)
			if len(p.sq.Partitions) == 0 {
				p.empty = true
			}
		case event.FieldSource:
			p.sq.Sources = intersect(p.sq.Sources, vals)
			if len(p.sq.Sources) == 0 {
				p.empty = true
			}
		case event.FieldHost:
			p.sq.Hosts = intersect(p.sq.Hosts, vals)
			if len(p.sq.Hosts) == 0 {
				p.empty = true
			}
		}
	}
	p.sq.Filter = buildFilter(p.q.Search)
}

// conjuncts returns the terms of a top-level AND, flattening nested ANDs
// (the API ANDs scope guards around the user's search).
func conjuncts(e Expr) []Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *And:
		var out []Expr
		for _, k := range e.Kids {
			out = append(out, conjuncts(k)...)
		}
		return out
	}
	return []Expr{e}
}

// exactValues returns the values an expression requires of a field
// exactly, or nil.
func exactValues(e Expr) ([]string, string) {
	switch e := e.(type) {
	case *Compare:
		if e.Op == "=" && (e.Quoted || !hasWildcard(e.Value)) && !isCIDR(e.Value) {
			return []string{e.Value}, e.Field
		}
	case *In:
		return e.Values, e.Field
	}
	return nil, ""
}

func isCIDR(v string) bool { return strings.IndexByte(v, '/') > 0 }

// intersect returns the values of b allowed by a (nil a allows all).
func intersect(a, b []string) []string {
	if a == nil {
		return slices.Clone(b)
	}
	out := []string{}
	for _, x := range b {
		if slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	return out
}

// buildFilter turns a search expression into a store pruning filter
// (necessary, never sufficient). nil means no pruning.
func buildFilter(e Expr) *store.Filter {
	switch e := e.(type) {
	case *Term:
		return tokenFilter("", e.Text)
	case *Compare:
		if e.Op != "=" || isCIDR(e.Value) {
			return nil
		}
		if !e.Quoted && hasWildcard(e.Value) {
			return tokenFilter(e.Field, e.Value)
		}
		eq := &store.Filter{Op: store.FilterEqual, Field: e.Field, Value: e.Value}
		if event.IsMeta(e.Field) && e.Field != event.FieldRaw {
			return eq
		}
		if tf := tokenFilter(e.Field, e.Value); tf != nil {
			return andFilter([]*store.Filter{eq, tf})
		}
		return eq
	case *In:
		if len(e.Values) == 0 {
			return nil // matches nothing; the matcher drops every row
		}
		kids := make([]*store.Filter, len(e.Values))
		for i, v := range e.Values {
			kids[i] = &store.Filter{Op: store.FilterEqual, Field: e.Field, Value: v}
		}
		return &store.Filter{Op: store.FilterOr, Kids: kids}
	case *Matches:
		if e.Regex {
			if lit := requiredLiteral(e.Pattern); lit != "" {
				return tokenFilter(e.Field, "*"+lit+"*")
			}
		}
		return nil
	case *And:
		var kids []*store.Filter
		for _, k := range e.Kids {
			if f := buildFilter(k); f != nil {
				kids = append(kids, f)
			}
		}
		return andFilter(kids)
	case *Or:
		kids := make([]*store.Filter, 0, len(e.Kids))
		for _, k := range e.Kids {
			f := buildFilter(k)
			if f == nil {
				return nil
			}
			kids = append(kids, f)
		}
		return &store.Filter{Op: store.FilterOr, Kids: kids}
	}
	return nil // NOT and anything else cannot prune
}

func andFilter(kids []*store.Filter) *store.Filter {
	switch len(kids) {
	case 0:
		return nil
	case 1:
		return kids[0]
	}
	var flat []*store.Filter
	for _, k := range kids {
		if k.Op == store.FilterAnd {
			flat = append(flat, k.Kids...)
		} else {
			flat = append(flat, k)
		}
	}
	return &store.Filter{Op: store.FilterAnd, Kids: flat}
}

// tokenFilter requires every prune token of text in field ("" = any).
func tokenFilter(field, text string) *store.Filter {
	toks := token.PruneTokens(text)
	kids := make([]*store.Filter, 0, len(toks))
	for _, t := range toks {
		kids = append(kids, &store.Filter{Op: store.FilterToken, Field: field, Token: t})
	}
	return andFilter(kids)
}

// requiredLiteral returns the longest literal text every match of the
// case-sensitive regexp contains, or "".
func requiredLiteral(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	lit := func(r *syntax.Regexp) string {
		if r.Op == syntax.OpLiteral && r.Flags&syntax.FoldCase == 0 {
			return string(r.Rune)
		}
		return ""
	}
	if s := lit(re); s != "" {
		return s
	}
	if re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	best := ""
	if re.Op == syntax.OpConcat {
		cur := ""
		for _, sub := range re.Sub {
			if s := lit(sub); s != "" {
				cur += s
				if len(cur) > len(best) {
					best = cur
				}
				continue
			}
			cur = ""
		}
	}
	return best
}
