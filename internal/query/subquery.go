package query

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// Subquery is Sumo Logic's subquery filter in a search expression:
// "[subquery: _source=auth failed | count by user | where _count > 5 |
// compose user]". The child query runs first, over the same time range,
// partitions and scope as the parent; its rows become the filter
// (user="a" OR user="b"), or with Keywords the bare terms ("a" OR "b").
//
// From and To ("[subquery from=(-15m) to=(now): ...]") give the child its
// own time range, as written (see ParseTimeArg; Sumo's yyyy/MM/dd dates
// too); empty means the parent's.
type Subquery struct {
	Query    *Query // the child query, without its compose stage
	Fields   []string
	Keywords bool
	Max      int // maxresults; 0 means defaultSubqueryMax
	From, To string
}

// SubqueryCond is a subquery as a condition of a value expression (Sumo
// Logic's "| where [subquery: ... | compose f]" and "| if([subquery: ...
// | compose f], 1, 0) as hit"): true for rows whose fields equal all
// values of one of the child's rows. compose keywords is not allowed here
// (Sumo Logic neither): a value expression compares fields.
type SubqueryCond struct{ Sub *Subquery }

func (*SubqueryCond) isValue() {}

func (s *SubqueryCond) String() string { return s.Sub.String() }

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
	head := "[subquery"
	if s.From != "" {
		head += " from=(" + s.From + ")"
	}
	if s.To != "" {
		head += " to=(" + s.To + ")"
	}
	return head + ": " + s.Query.String() + " | " + (&Compose{Fields: s.Fields, Keywords: s.Keywords, Max: s.Max}).String() + "]"
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

// parseSubquery parses "[subquery [from=(t)] [to=(t)]: ... | compose f]"
// at the position.
func (p *parser) parseSubquery() Expr {
	p.skipSpace()
	start := p.pos
	from, to, skip, ok := p.subqueryHead()
	if !ok {
		p.skipSubquery(start)
		return nil
	}
	q, ok := p.nestedQuery(skip)
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
	return &Subquery{Query: q, Fields: c.Fields, Keywords: c.Keywords, Max: c.Max, From: from, To: to}
}

// subqueryHead reads "[subquery from=(t) to=(t):" without moving the
// position; skip is the length of the text between "[" and the query.
func (p *parser) subqueryHead() (from, to string, skip int, ok bool) {
	open := p.pos
	sc := &parser{scanner: scanner{src: p.src, pos: open + len("[subquery")}}
	for {
		if sc.accept(":") {
			return from, to, sc.pos - open - 1, true
		}
		name := sc.peekWord()
		if name != "from" && name != "to" {
			p.errorf(sc.pos, "expected : or from=(time) to=(time) after [subquery, got %s", sc.describeNext())
			return "", "", 0, false
		}
		sc.acceptKeyword(name)
		at := sc.pos
		if !sc.accept("=") || !sc.accept("(") {
			p.errorf(at, "expected %s=(<time>) in [subquery ...]", name)
			return "", "", 0, false
		}
		end := strings.IndexByte(sc.src[sc.pos:], ')')
		if end < 0 {
			p.errorf(at, "subquery %s=( is not closed", name)
			return "", "", 0, false
		}
		v := strings.TrimSpace(sc.src[sc.pos : sc.pos+end])
		if _, err := subqueryTime(v, time.Now()); err != nil {
			p.errorf(sc.pos, "subquery %s: %v", name, err)
			return "", "", 0, false
		}
		sc.pos += end + 1
		if name == "from" {
			from = v
		} else {
			to = v
		}
	}
}

// skipSubquery moves past the subquery starting at open after an error.
func (p *parser) skipSubquery(open int) {
	if end := p.matchClose(open); end > 0 {
		p.pos = end
		return
	}
	p.pos = len(p.src)
}

// subqueryTime parses a subquery's from/to: ParseTimeArg's forms, or
// Sumo Logic's "yyyy/MM/dd HH:mm:ss".
func subqueryTime(s string, now time.Time) (int64, error) {
	ns, err := ParseTimeArg(s, now)
	if err != nil && strings.Contains(s, "/") {
		if ns2, err2 := ParseTimeArg(strings.ReplaceAll(s, "/", "-"), now); err2 == nil {
			return ns2, nil
		}
	}
	return ns, err
}

// parseSubqueryValue parses a subquery inside a value expression.
func (p *parser) parseSubqueryValue() ValueExpr {
	at := p.pos
	e := p.parseSubquery()
	s, ok := e.(*Subquery)
	if !ok {
		return nil
	}
	if s.Keywords {
		p.errorf(at, "compose keywords is only allowed in the search expression, not in where or if (the subquery compares fields here)")
		return nil
	}
	return &SubqueryCond{Sub: s}
}

func isSubqueryStart(s string) bool {
	const kw = "[subquery"
	if len(s) <= len(kw) || !strings.EqualFold(s[:len(kw)], kw) {
		return false
	}
	sc := scanner{src: s, pos: len(kw)}
	if sc.peekLit(":") {
		return true
	}
	// "[subquery from=(...)": a space, then <word>=( (a search term
	// "[subquery" followed by other words is no subquery).
	if !isSpace(s[len(kw)]) {
		return false
	}
	w := sc.peekWord()
	return w != "" && sc.acceptKeyword(w) && sc.accept("=") && sc.peekLit("(")
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
		switch st := st.(type) {
		case *Where:
			x, err := resolveValue(ctx, snap, st.Cond, opts)
			if err != nil {
				return nil, err
			}
			out.Stages[i] = &Where{Cond: x}
			continue
		case *Assign:
			x, err := resolveValue(ctx, snap, st.Value, opts)
			if err != nil {
				return nil, err
			}
			out.Stages[i] = &Assign{Field: st.Field, Value: x}
			continue
		}
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

// HasSubquery reports whether q runs a subquery (in its search, a where
// or assignment, or a join), so callers that cannot give it a scope can
// refuse it.
func (q *Query) HasSubquery() bool { return hasSubquery(q) }

func hasSubquery(q *Query) bool {
	if exprHasSubquery(q.Search) {
		return true
	}
	for _, st := range q.Stages {
		switch st := st.(type) {
		case *Join:
			for _, s := range st.Subs {
				if hasSubquery(s.Query) {
					return true
				}
			}
		case *Where:
			if valueHasSubquery(st.Cond) {
				return true
			}
		case *Assign:
			if valueHasSubquery(st.Value) {
				return true
			}
		}
	}
	return false
}

func valueHasSubquery(x ValueExpr) bool {
	switch x := x.(type) {
	case *SubqueryCond:
		return true
	case *Unary:
		return valueHasSubquery(x.X)
	case *Binary:
		return valueHasSubquery(x.L) || valueHasSubquery(x.R)
	case *InList:
		return valueHasSubquery(x.X) || slices.ContainsFunc(x.List, valueHasSubquery)
	case *Call:
		return slices.ContainsFunc(x.Args, valueHasSubquery)
	}
	return false
}

// resolveValue returns x with each SubqueryCond replaced by the
// condition its child rows give.
func resolveValue(ctx context.Context, snap store.Snapshot, x ValueExpr, opts *Options) (ValueExpr, error) {
	if !valueHasSubquery(x) {
		return x, nil
	}
	var err error
	switch x := x.(type) {
	case *SubqueryCond:
		tuples, err := subqueryTuples(ctx, snap, x.Sub, opts)
		if err != nil {
			return nil, err
		}
		return valueFilter(x.Sub.Fields, tuples), nil
	case *Unary:
		out := *x
		out.X, err = resolveValue(ctx, snap, x.X, opts)
		return &out, err
	case *Binary:
		out := *x
		if out.L, err = resolveValue(ctx, snap, x.L, opts); err != nil {
			return nil, err
		}
		out.R, err = resolveValue(ctx, snap, x.R, opts)
		return &out, err
	case *InList:
		out := &InList{List: make([]ValueExpr, len(x.List))}
		if out.X, err = resolveValue(ctx, snap, x.X, opts); err != nil {
			return nil, err
		}
		for i, v := range x.List {
			if out.List[i], err = resolveValue(ctx, snap, v, opts); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *Call:
		out := &Call{Name: x.Name, Args: make([]ValueExpr, len(x.Args))}
		for i, a := range x.Args {
			if out.Args[i], err = resolveValue(ctx, snap, a, opts); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return x, nil
}

// valueFilter is the value-expression form of a compose: a call of
// subqueryInFunc, true for rows whose fields equal one of the tuples.
func valueFilter(fields []string, tuples [][]string) ValueExpr {
	args := make([]ValueExpr, 0, 1+len(fields)+len(fields)*len(tuples))
	args = append(args, &Lit{Value: itoa(len(fields)), Num: true})
	for _, f := range fields {
		args = append(args, &Ref{Name: f})
	}
	for _, t := range tuples {
		for _, v := range t {
			args = append(args, &Lit{Value: v})
		}
	}
	return &Call{Name: subqueryInFunc, Args: args}
}

// subqueryInFunc is the function a where or if subquery becomes once its
// child ran: subqueryInFunc(n, f1, ..., fn, v11, ..., v1n, v21, ...) is
// true when the row's n fields equal one of the value tuples, looked up in
// a set (a chain of comparisons would cost a pass over the child's rows
// per row). Its name cannot be written in a query.
const subqueryInFunc = "subquery in"

func init() {
	if funcs == nil {
		panic("BUG: subquery.go's init ran before the function table was built")
	}
	funcs[subqueryInFunc] = funcDef{minArgs: 1, maxArgs: -1, build: buildSubqueryIn}
}

func buildSubqueryIn(c *compiler, args []ValueExpr) (evalFn, error) {
	n := 0
	if len(args) > 0 {
		if l, ok := args[0].(*Lit); ok {
			n, _ = strconv.Atoi(l.Value)
		}
	}
	if n < 1 || len(args) < 1+n || (len(args)-1-n)%n != 0 {
		return nil, fmt.Errorf("BUG: malformed subquery filter")
	}
	fields := make([]evalFn, n)
	for i := range fields {
		var err error
		if fields[i], err = c.compileExpr(args[1+i]); err != nil {
			return nil, err
		}
	}
	// Values compare as in where: as text, or as numbers when both look
	// numeric ("200" = "200.0"); the loose set holds the numeric forms.
	exact, loose := map[string]bool{}, map[string]bool{}
	vals := args[1+n:]
	tuple := make([]string, n)
	for i := 0; i < len(vals); i += n {
		for j := range tuple {
			l, ok := vals[i+j].(*Lit)
			if !ok {
				return nil, fmt.Errorf("BUG: malformed subquery filter")
			}
			tuple[j] = l.Value
		}
		exact[strings.Join(tuple, "\x00")] = true
		loose[numericKey(tuple)] = true
	}
	return func(r record) val {
		var buf [4]string
		vs := buf[:0]
		for _, f := range fields {
			v := f(r)
			if v.isNull() {
				return boolVal(false)
			}
			vs = append(vs, v.str())
		}
		return boolVal(exact[strings.Join(vs, "\x00")] || loose[numericKey(vs)])
	}, nil
}

// numericKey joins vs with each numeric-looking value in its canonical
// number form.
func numericKey(vs []string) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(0)
		}
		if looksNumeric(v) {
			if f, ok := parseNum(v); ok {
				v = formatNum(f)
			}
		}
		b.WriteString(v)
	}
	return b.String()
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

// runSubquery runs the child query and builds its filter.
func runSubquery(ctx context.Context, snap store.Snapshot, s *Subquery, opts *Options) (Expr, error) {
	tuples, err := subqueryTuples(ctx, snap, s, opts)
	if err != nil {
		return nil, err
	}
	return composeFilter(s, tuples), nil
}

// subqueryTuples runs the child query and returns the distinct value
// tuples of its compose fields, at most Max (Sumo Logic's maxresults).
func subqueryTuples(ctx context.Context, snap store.Snapshot, s *Subquery, opts *Options) ([][]string, error) {
	limit := s.Max
	if limit <= 0 {
		limit = defaultSubqueryMax
	}
	seen := map[string]bool{}
	var tuples [][]string
	errEnough := fmt.Errorf("enough")
	child := *opts
	child.Limit = 0
	if err := s.timeRange(&child); err != nil {
		return nil, err
	}
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
	return tuples, nil
}

// timeRange sets the child's own time range, if the subquery has one.
func (s *Subquery) timeRange(child *Options) error {
	now := time.Now()
	if child.Now != nil {
		now = child.Now()
	}
	for _, t := range []struct {
		text string
		dst  *int64
	}{{s.From, &child.From}, {s.To, &child.To}} {
		if t.text == "" {
			continue
		}
		ns, err := subqueryTime(t.text, now)
		if err != nil {
			return fmt.Errorf("subquery: %w", err)
		}
		*t.dst = ns
	}
	if s.From != "" && s.To == "" {
		child.To = now.UnixNano() + 1 // a relative from runs up to now
	}
	return nil
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
