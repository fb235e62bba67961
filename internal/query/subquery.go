package query

import (
	"context"
	"fmt"
	"strings"

	"github.com/mamori/mamori/internal/store"
)

// Subquery is Sumo Logic's subquery filter in a search expression:
// "[subquery: _source=auth failed | count by user | where _count > 5 |
// compose user]". The child query runs first, over the same time range,
// partitions and scope as the parent; its rows become the filter
// (user="a" OR user="b"), or with Keywords the bare terms ("a" OR "b").
type Subquery struct {
	Query    *Query // the child query, without its compose stage
	Fields   []string
	Keywords bool
	Max      int // maxresults; 0 means defaultSubqueryMax
}

// Compose ends a subquery: "compose user, src_ip [keywords] [maxresults=N]".
// It is valid only as the last stage inside [subquery: ...].
type Compose struct {
	Fields   []string
	Keywords bool
	Max      int
}

const (
	defaultSubqueryMax = 10000
	maxSubqueryMax     = 100000
)

func (*Subquery) isExpr() {}

func (s *Subquery) String() string {
	return "[subquery: " + s.Query.String() + " | " + (&Compose{Fields: s.Fields, Keywords: s.Keywords, Max: s.Max}).String() + "]"
}

func init() { registerStage(parseCompose, "compose") }

func parseCompose(p *parser, _ string, _ int) Stage {
	c := &Compose{}
	if c.Fields = p.fieldNames("compose"); c.Fields == nil {
		return nil
	}
	for {
		switch {
		case p.acceptKeyword("keywords"):
			c.Keywords = true
			continue
		case p.peekWord() == "maxresults":
			p.ident()
			if !p.accept("=") {
				p.errorf(p.pos, "expected = after maxresults")
				return nil
			}
			n, ok := p.intArg("maxresults")
			if !ok {
				return nil
			}
			if n < 1 || n > maxSubqueryMax {
				p.errorf(p.pos, "maxresults must be between 1 and %d", maxSubqueryMax)
				return nil
			}
			c.Max = n
			continue
		}
		return c
	}
}

func (c *Compose) String() string {
	s := "compose " + fieldList(c.Fields)
	if c.Keywords {
		s += " keywords"
	}
	if c.Max > 0 {
		s += " maxresults=" + itoa(c.Max)
	}
	return s
}

func (c *Compose) compile(*compiler) ([]op, error) {
	return nil, fmt.Errorf("compose is only valid as the last stage of a [subquery: ...]")
}

// nestedQuery parses the query between the bracket at the position and
// the bracket that closes it; the query text starts skip bytes after the
// opening bracket. Errors carry offsets in the outer text.
func (p *parser) nestedQuery(skip int) (*Query, bool) {
	p.skipSpace()
	open := p.pos
	end := p.matchClose(open)
	if end < 0 {
		p.errorf(open, "%s is not closed", quote(p.src[open:open+1]))
		p.pos = len(p.src)
		return nil, false
	}
	base := open + 1 + skip
	text := p.src[base : end-1]
	if startsWithStage(text) {
		// Sumo Logic writes join subqueries as bare operators:
		// "(parse "a=*" as a)" runs on the rows reaching the join.
		text, base = "|"+text, base-1
	}
	sub := &parser{scanner: scanner{src: text}}
	q := sub.parseQuery()
	for _, e := range sub.errs {
		p.errs = append(p.errs, &SyntaxError{Offset: e.Offset + base, Msg: e.Msg})
	}
	p.pos = end
	return q, len(sub.errs) == 0
}

// parseSubquery parses "[subquery: ... | compose f]" at the position.
func (p *parser) parseSubquery() Expr {
	start := p.pos
	q, ok := p.nestedQuery(len("subquery:"))
	if !ok {
		return nil
	}
	n := len(q.Stages)
	var c *Compose
	if n > 0 {
		c, _ = q.Stages[n-1].(*Compose)
	}
	if c == nil {
		p.errorf(start, "a subquery must end with | compose <fields>")
		return nil
	}
	for _, st := range q.Stages[:n-1] {
		if _, ok := st.(*Compose); ok {
			p.errorf(start, "compose must be the last stage of a subquery")
			return nil
		}
	}
	q.Stages = q.Stages[:n-1]
	return &Subquery{Query: q, Fields: c.Fields, Keywords: c.Keywords, Max: c.Max}
}

func isSubqueryStart(s string) bool {
	return len(s) >= len("[subquery:") && strings.EqualFold(s[:len("[subquery:")], "[subquery:")
}

// scoped returns q with the caller's scope AND-ed into its search.
func (o *Options) scoped(q *Query) *Query {
	if o.Scope == nil {
		return q
	}
	out := *q
	if q.Search == nil {
		out.Search = o.Scope
	} else {
		out.Search = &And{Kids: []Expr{o.Scope, q.Search}}
	}
	return &out
}

// resolve runs the subqueries of q (in its search and in the subqueries
// of its join stages) and returns q with each replaced by its filter.
// Child queries get the same snapshot, time range, partitions and scope.
func resolve(ctx context.Context, snap store.Snapshot, q *Query, opts *Options) (*Query, error) {
	if !hasSubquery(q) {
		return q, nil
	}
	out := *q
	var err error
	if out.Search, err = resolveExpr(ctx, snap, q.Search, opts); err != nil {
		return nil, err
	}
	out.Stages = append([]Stage(nil), q.Stages...)
	for i, st := range out.Stages {
		j, ok := st.(*Join)
		if !ok {
			continue
		}
		j2 := *j
		j2.Subs = append([]JoinSub(nil), j.Subs...)
		for k := range j2.Subs {
			if j2.Subs[k].Query, err = resolve(ctx, snap, j2.Subs[k].Query, opts); err != nil {
				return nil, err
			}
		}
		out.Stages[i] = &j2
	}
	return &out, nil
}

func hasSubquery(q *Query) bool {
	if exprHasSubquery(q.Search) {
		return true
	}
	for _, st := range q.Stages {
		if j, ok := st.(*Join); ok {
			for _, s := range j.Subs {
				if hasSubquery(s.Query) {
					return true
				}
			}
		}
	}
	return false
}

func exprHasSubquery(e Expr) bool {
	switch e := e.(type) {
	case *Subquery:
		return true
	case *And:
		for _, k := range e.Kids {
			if exprHasSubquery(k) {
				return true
			}
		}
	case *Or:
		for _, k := range e.Kids {
			if exprHasSubquery(k) {
				return true
			}
		}
	case *Not:
		return exprHasSubquery(e.Kid)
	}
	return false
}

func resolveExpr(ctx context.Context, snap store.Snapshot, e Expr, opts *Options) (Expr, error) {
	var err error
	switch e := e.(type) {
	case *Subquery:
		return runSubquery(ctx, snap, e, opts)
	case *And:
		out := &And{Kids: make([]Expr, len(e.Kids))}
		for i, k := range e.Kids {
			if out.Kids[i], err = resolveExpr(ctx, snap, k, opts); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *Or:
		out := &Or{Kids: make([]Expr, len(e.Kids))}
		for i, k := range e.Kids {
			if out.Kids[i], err = resolveExpr(ctx, snap, k, opts); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *Not:
		k, err := resolveExpr(ctx, snap, e.Kid, opts)
		if err != nil {
			return nil, err
		}
		return &Not{Kid: k}, nil
	}
	return e, nil
}

// runSubquery runs the child query and builds its filter. At most Max
// distinct value tuples are used (Sumo Logic's maxresults).
func runSubquery(ctx context.Context, snap store.Snapshot, s *Subquery, opts *Options) (Expr, error) {
	limit := s.Max
	if limit <= 0 {
		limit = defaultSubqueryMax
	}
	seen := map[string]bool{}
	var tuples [][]string
	errEnough := fmt.Errorf("enough")
	child := *opts
	child.Limit = 0
	_, err := Run(ctx, snap, s.Query, child, func(r Row) error {
		vals := make([]string, len(s.Fields))
		for i, f := range s.Fields {
			v, ok := r.Get(f)
			if !ok || v == "" {
				return nil
			}
			vals[i] = v
		}
		k := strings.Join(vals, "\x00")
		if seen[k] {
			return nil
		}
		seen[k] = true
		tuples = append(tuples, vals)
		if len(tuples) >= limit {
			return errEnough
		}
		return nil
	})
	if err != nil && err != errEnough { //nolint:errorlint // our own sentinel, never wrapped
		return nil, fmt.Errorf("subquery %s: %w", s.Query, err)
	}
	return composeFilter(s, tuples), nil
}

// composeFilter turns the child rows into the parent's filter. No rows
// give a filter that matches nothing.
func composeFilter(s *Subquery, tuples [][]string) Expr {
	if len(s.Fields) == 1 && !s.Keywords {
		vals := make([]string, len(tuples))
		for i, t := range tuples {
			vals[i] = t[0]
		}
		return &In{Field: s.Fields[0], Values: vals}
	}
	if len(tuples) == 0 {
		return &In{Field: s.Fields[0]}
	}
	or := &Or{}
	for _, t := range tuples {
		and := &And{}
		for i, v := range t {
			if s.Keywords {
				and.Kids = append(and.Kids, &Term{Text: v, Quoted: true})
			} else {
				and.Kids = append(and.Kids, &Compare{Field: s.Fields[i], Op: "=", Value: v, Quoted: true})
			}
		}
		if len(and.Kids) == 1 {
			or.Kids = append(or.Kids, and.Kids[0])
		} else {
			or.Kids = append(or.Kids, and)
		}
	}
	if len(or.Kids) == 1 {
		return or.Kids[0]
	}
	return or
}

// startsWithStage reports whether text starts with an operator name
// followed by something that is not a comparison ("parse ...", "count
// by x"), rather than with a search term ("parse=x", "login").
func startsWithStage(text string) bool {
	sc := scanner{src: text}
	name, ok := sc.ident()
	if !ok {
		return false
	}
	lname := strings.ToLower(name)
	_, isStage := stageParsers[lname]
	_, isAgg := aggFuncs[lname]
	if !isStage && !isAgg {
		return false
	}
	switch c := sc.peek(); c {
	case '=', '!', '<', '>':
		return false
	case 0, '|':
		return isAgg // "(count)"
	}
	return true
}
