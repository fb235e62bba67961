package query

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// Join is Sumo Logic's join: two subqueries run over the rows that reach
// the stage (so within the outer time range, partitions and scope), and
// their rows are paired on equal keys:
//
//	| join (parse "login * from *" as user, ip) as a,
//	       (parse "logout *" as user) as b
//	  on a.user = b.user timewindow 5m
//
// Each output row has the fields of both rows, prefixed with the table
// name and '_' (a_user, a_ip, b_user), and the later of the two times.
// With a timewindow, only rows at most that far apart are paired.
type Join struct {
	Subs   []JoinSub
	On     []JoinOn
	Window time.Duration // 0: any distance
}

// JoinSub is one subquery of a join and its table name.
type JoinSub struct {
	Query *Query
	Alias string
}

// JoinOn is one key equality: Left and Right are "table.field".
type JoinOn struct {
	Left, Right string
}

// maxJoinRows bounds the rows of one join result when no memory budget
// is set, so a key present in every row cannot square the data silently.
const maxJoinRows = 1_000_000

func init() { registerStage(parseJoin, "join") }

func parseJoin(p *parser, _ string, _ int) Stage {
	j := &Join{}
	for {
		p.skipSpace()
		if p.peek() != '(' {
			p.errorf(p.pos, "expected (subquery) in join, got %s", p.describeNext())
			return nil
		}
		q, ok := p.nestedQuery(0)
		if !ok {
			return nil
		}
		if !p.acceptKeyword("as") {
			p.errorf(p.pos, "expected as <table> after the join subquery")
			return nil
		}
		at := p.pos
		alias, ok := p.ident()
		if !ok || strings.Contains(alias, ".") {
			p.errorf(at, "expected a table name after as")
			return nil
		}
		j.Subs = append(j.Subs, JoinSub{Query: q, Alias: alias})
		if !p.accept(",") {
			break
		}
	}
	if len(j.Subs) != 2 {
		p.errorf(p.pos, "join takes exactly two subqueries, got %d", len(j.Subs))
		return nil
	}
	if strings.EqualFold(j.Subs[0].Alias, j.Subs[1].Alias) {
		p.errorf(p.pos, "the join tables need different names")
		return nil
	}
	if !p.acceptKeyword("on") {
		p.errorf(p.pos, "expected on <table>.<field> = <table>.<field> in join")
		return nil
	}
	for {
		at := p.pos
		l, ok1 := p.ident()
		if !ok1 || !p.accept("=") {
			p.errorf(at, "expected <table>.<field> = <table>.<field> in join")
			return nil
		}
		r, ok2 := p.ident()
		if !ok2 {
			p.errorf(at, "expected <table>.<field> = <table>.<field> in join")
			return nil
		}
		on, msg := j.keyPair(l, r)
		if msg != "" {
			p.errorf(at, "%s", msg)
			return nil
		}
		j.On = append(j.On, on)
		if !p.acceptKeyword("and") && !p.accept(",") {
			break
		}
	}
	if p.acceptKeyword("timewindow") {
		p.skipSpace()
		at := p.pos
		d, err := parseSpan(p.word())
		if err != nil {
			p.errorf(at, "join timewindow: %v", err)
			return nil
		}
		j.Window = d
	}
	return j
}

// keyPair orders a key equality as (first table, second table).
func (j *Join) keyPair(l, r string) (JoinOn, string) {
	lt, _, ok1 := strings.Cut(l, ".")
	rt, _, ok2 := strings.Cut(r, ".")
	a, b := j.Subs[0].Alias, j.Subs[1].Alias
	switch {
	case !ok1 || !ok2:
		return JoinOn{}, "join keys are written <table>.<field>"
	case lt == a && rt == b:
		return JoinOn{Left: l, Right: r}, ""
	case lt == b && rt == a:
		return JoinOn{Left: r, Right: l}, ""
	}
	return JoinOn{}, fmt.Sprintf("join keys must compare a field of %s with one of %s", quote(a), quote(b))
}

func (j *Join) String() string {
	var b strings.Builder
	b.WriteString("join ")
	for i, s := range j.Subs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + s.Query.String() + ") as " + s.Alias)
	}
	b.WriteString(" on ")
	for i, o := range j.On {
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(o.Left + " = " + o.Right)
	}
	if j.Window > 0 {
		b.WriteString(" timewindow " + formatSpan(j.Window))
	}
	return b.String()
}

func (j *Join) compile(c *compiler) ([]op, error) {
	o := &joinOp{j: j, c: c, budget: &budget{maxBytes: c.opts.MaxMemoryBytes}}
	for _, on := range j.On {
		_, lf, _ := strings.Cut(on.Left, ".")
		_, rf, _ := strings.Cut(on.Right, ".")
		o.lkeys = append(o.lkeys, lf)
		o.rkeys = append(o.rkeys, rf)
	}
	// A sort or limit before the join would only cut the tables short.
	c.need = nil
	return []op{o}, nil
}

type joinOp struct {
	j            *Join
	c            *compiler // names and slots, final when the query runs
	lkeys, rkeys []string
	budget       *budget
}

func (o *joinOp) run(ctx context.Context, rows []*tableRow) ([]*tableRow, error) {
	var tables [2][]Row
	for i, s := range o.j.Subs {
		t, err := runOnRows(ctx, s.Query, rows, o.c.names, o.c.opts)
		if err != nil {
			return nil, fmt.Errorf("join table %s: %w", s.Alias, err)
		}
		tables[i] = t
	}
	index := map[string][]int{}
	for i, r := range tables[1] {
		if k, ok := joinKey(r, o.rkeys); ok {
			index[k] = append(index[k], i)
		}
	}
	win := int64(o.j.Window)
	var out []*tableRow
	var fields []event.Field
	for n, a := range tables[0] {
		if n&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		k, ok := joinKey(a, o.lkeys)
		if !ok {
			continue
		}
		ta := rowTime(a)
		for _, bi := range index[k] {
			b := tables[1][bi]
			tb := rowTime(b)
			if win > 0 && (ta-tb > win || tb-ta > win) {
				continue
			}
			fields = appendPrefixed(appendPrefixed(fields[:0], o.j.Subs[0].Alias, a), o.j.Subs[1].Alias, b)
			r := newTableRow(o.c, max(ta, tb), fields)
			out = append(out, r)
			if err := o.budget.add(r.approxBytes()); err != nil {
				return nil, fmt.Errorf("join: %w", err)
			}
			if o.budget.maxBytes <= 0 && len(out) > maxJoinRows {
				return nil, fmt.Errorf("join: more than %d joined rows; add keys or a timewindow: %w", maxJoinRows, ErrBudget)
			}
		}
	}
	return out, nil
}

func joinKey(r Row, keys []string) (string, bool) {
	if len(keys) == 1 {
		v, ok := r.Get(keys[0])
		return v, ok && v != ""
	}
	var b strings.Builder
	for _, k := range keys {
		v, ok := r.Get(k)
		if !ok || v == "" {
			return "", false
		}
		b.WriteString(v)
		b.WriteByte(0)
	}
	return b.String(), true
}

// appendPrefixed appends the row's fields as alias_field, leaving out the
// event metadata (_time, _raw, _source, ...).
func appendPrefixed(dst []event.Field, alias string, r Row) []event.Field {
	for _, f := range r {
		if isEventMeta(f.Name) {
			continue
		}
		dst = append(dst, event.Field{Name: alias + "_" + f.Name, Value: f.Value})
	}
	return dst
}

// isEventMeta reports whether name is event metadata (not, say, _count).
func isEventMeta(name string) bool {
	for _, m := range metaSlotNames {
		if name == m {
			return true
		}
	}
	return false
}
