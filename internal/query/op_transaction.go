package query

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// Transaction groups rows into transactions by key fields and follows
// them through ordered states (Sumo Logic's transaction operator):
//
//	| transaction on session with states login, cart, pay in step results by transactions
//	| transaction on session with "*login*" as login, with "*pay*" as pay results by flow
//
// A row's state is the value of the In field when it is one of States,
// or else the first pattern (a matches glob over _raw) it matches; rows
// without a state are ignored. "results by transactions" gives one row
// per transaction: the keys, _start_time, _end_time, _duration (ms),
// _count, _states (the path of distinct consecutive states), _complete
// (whether the States occurred in their order), and a count per state.
// "results by flow" gives one row per transition: fromstate, tostate,
// _count, most frequent first.
type Transaction struct {
	On       []string
	States   []string // in order
	In       string   // field holding the state name ("with states ... in f")
	Patterns []string // by state, for "with "glob" as state"; nil with In
	Flow     bool
}

// maxTransactions bounds the open transactions when no memory budget is
// set (Sumo Logic stops at 10,000 groups).
const maxTransactions = 1_000_000

func init() { registerStage(parseTransaction, "transaction") }

func parseTransaction(p *parser, _ string, _ int) Stage {
	t := &Transaction{}
	if !p.acceptKeyword("on") {
		p.errorf(p.pos, "expected on <field> after transaction")
		return nil
	}
	if t.On = p.fieldNames("transaction"); t.On == nil {
		return nil
	}
	if !p.acceptKeyword("with") {
		p.errorf(p.pos, "expected with states a, b, ... in <field> or with \"pattern\" as <state>")
		return nil
	}
	if p.acceptKeyword("states") {
		if t.States = p.fieldNames("transaction states"); t.States == nil {
			return nil
		}
		if !p.acceptKeyword("in") {
			p.errorf(p.pos, "expected in <field> after the states")
			return nil
		}
		at := p.pos
		f, ok := p.ident()
		if !ok {
			p.errorf(at, "expected the field that holds the state")
			return nil
		}
		t.In = canonicalField(f)
	} else if !t.parsePatterns(p) {
		return nil
	}
	if seen := dupName(t.States); seen != "" {
		p.errorf(p.pos, "state %s is listed twice", quote(seen))
		return nil
	}
	if !p.acceptKeyword("results") || !p.acceptKeyword("by") {
		p.errorf(p.pos, "expected results by transactions or results by flow")
		return nil
	}
	switch {
	case p.acceptKeyword("transactions"):
	case p.acceptKeyword("flow"):
		t.Flow = true
	default:
		p.errorf(p.pos, "expected results by transactions or results by flow, got %s", p.describeNext())
		return nil
	}
	return t
}

// parsePatterns parses `"glob" as state, with "glob" as state ...` after
// the first with.
func (t *Transaction) parsePatterns(p *parser) bool {
	for {
		p.skipSpace()
		pat, ok := p.stringArg("the state pattern")
		if !ok {
			return false
		}
		if _, err := globRegexp(pat, true); err != nil {
			p.errorf(p.pos, "state pattern %s: %v", quote(pat), err)
			return false
		}
		if !p.acceptKeyword("as") {
			p.errorf(p.pos, "expected as <state> after the pattern")
			return false
		}
		at := p.pos
		s, ok := p.ident()
		if !ok {
			p.errorf(at, "expected a state name after as")
			return false
		}
		t.Patterns = append(t.Patterns, pat)
		t.States = append(t.States, s)
		save := p.pos
		if p.accept(",") && p.acceptKeyword("with") {
			continue
		}
		p.pos = save
		return true
	}
}

func dupName(names []string) string {
	for i, n := range names {
		for _, m := range names[:i] {
			if n == m {
				return n
			}
		}
	}
	return ""
}

func (t *Transaction) String() string {
	s := "transaction on " + fieldList(t.On) + " with "
	if t.In != "" {
		s += "states " + fieldList(t.States) + " in " + fieldName(t.In)
	} else {
		parts := make([]string, len(t.States))
		for i := range t.States {
			parts[i] = quote(t.Patterns[i]) + " as " + fieldName(t.States[i])
		}
		s += strings.Join(parts, ", with ")
	}
	if t.Flow {
		return s + " results by flow"
	}
	return s + " results by transactions"
}

func (t *Transaction) compile(c *compiler) ([]op, error) {
	o := &transactionOp{t: t, c: c, budget: &budget{maxBytes: c.opts.MaxMemoryBytes}}
	for _, f := range t.On {
		o.on = append(o.on, c.slot(f))
	}
	if t.In != "" {
		o.in = c.slot(t.In)
	} else {
		o.raw = c.slot(event.FieldRaw)
		for _, pat := range t.Patterns {
			re, err := globRegexp(pat, true)
			if err != nil {
				return nil, fmt.Errorf("transaction: %w", err)
			}
			o.res = append(o.res, re)
		}
	}
	return []op{o}, nil
}

type transactionOp struct {
	t      *Transaction
	c      *compiler
	on     []int
	in     int
	raw    int
	res    []*regexp.Regexp
	budget *budget
}

// txn is one open transaction.
type txn struct {
	keys       []val
	start, end int64
	count      int
	perState   []int
	path       []int // distinct consecutive states
	reached    int   // States reached in order
}

// state returns the index of the row's state, or -1.
func (o *transactionOp) state(r *tableRow) int {
	if o.res == nil {
		v := r.get(o.in)
		if v.isNull() {
			return -1
		}
		s := v.str()
		for i, n := range o.t.States {
			if n == s {
				return i
			}
		}
		return -1
	}
	v := r.get(o.raw)
	if v.isNull() {
		return -1
	}
	s := v.str()
	for i, re := range o.res {
		if re.MatchString(s) {
			return i
		}
	}
	return -1
}

func (o *transactionOp) run(ctx context.Context, rows []*tableRow) ([]*tableRow, error) {
	sorted := append([]*tableRow(nil), rows...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].t < sorted[j].t })
	byKey := map[string]*txn{}
	var order []*txn
	var key []byte
	for n, r := range sorted {
		if n&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		st := o.state(r)
		if st < 0 {
			continue
		}
		key = key[:0]
		vals := make([]val, 0, len(o.on))
		missing := false
		for _, s := range o.on {
			v := r.get(s)
			if v.isNull() {
				missing = true
				break
			}
			vals = append(vals, v)
			key = appendKey(key, v)
		}
		if missing {
			continue
		}
		tx := byKey[string(key)]
		if tx == nil {
			tx = &txn{keys: vals, start: r.t, perState: make([]int, len(o.t.States))}
			byKey[string(key)] = tx
			order = append(order, tx)
			if err := o.budget.add(int64(96 + len(key) + 8*len(o.t.States))); err != nil {
				return nil, fmt.Errorf("transaction: %w", err)
			}
			if o.budget.maxBytes <= 0 && len(order) > maxTransactions {
				return nil, fmt.Errorf("transaction: more than %d transactions: %w", maxTransactions, ErrBudget)
			}
		}
		tx.end = r.t
		tx.count++
		tx.perState[st]++
		if len(tx.path) == 0 || tx.path[len(tx.path)-1] != st {
			tx.path = append(tx.path, st)
		}
		if tx.reached < len(o.t.States) && st == tx.reached {
			tx.reached++
		}
	}
	if o.t.Flow {
		return o.flowRows(order), nil
	}
	return o.txnRows(order), nil
}

func (o *transactionOp) txnRows(order []*txn) []*tableRow {
	out := make([]*tableRow, 0, len(order))
	for _, tx := range order {
		r := &tableRow{t: tx.start}
		for i, s := range o.on {
			r.cols = append(r.cols, tcol{slot: s, v: tx.keys[i]})
		}
		path := make([]string, len(tx.path))
		for i, s := range tx.path {
			path[i] = o.t.States[s]
		}
		fields := []event.Field{
			{Name: "_start_time", Value: event.FormatTime(tx.start)},
			{Name: "_end_time", Value: event.FormatTime(tx.end)},
			{Name: "_duration", Value: itoa(int((tx.end - tx.start) / 1e6))},
			{Name: "_count", Value: itoa(tx.count)},
			{Name: "_states", Value: strings.Join(path, ",")},
			{Name: "_complete", Value: fmt.Sprint(tx.reached == len(o.t.States))},
		}
		for i, n := range o.t.States {
			fields = append(fields, event.Field{Name: n, Value: itoa(tx.perState[i])})
		}
		nr := newTableRow(o.c, tx.start, fields)
		r.cols = append(r.cols, nr.cols[1:]...) // without _time: a transaction is a group row
		out = append(out, r)
	}
	return out
}

func (o *transactionOp) flowRows(order []*txn) []*tableRow {
	type edge struct{ from, to int }
	counts := map[edge]int{}
	for _, tx := range order {
		for i := 1; i < len(tx.path); i++ {
			counts[edge{tx.path[i-1], tx.path[i]}]++
		}
	}
	edges := make([]edge, 0, len(counts))
	for e := range counts {
		edges = append(edges, e)
	}
	sort.Slice(edges, func(i, j int) bool {
		a, b := edges[i], edges[j]
		if counts[a] != counts[b] {
			return counts[a] > counts[b]
		}
		if a.from != b.from {
			return a.from < b.from
		}
		return a.to < b.to
	})
	out := make([]*tableRow, 0, len(edges))
	for _, e := range edges {
		nr := newTableRow(o.c, 0, []event.Field{
			{Name: "fromstate", Value: o.t.States[e.from]},
			{Name: "tostate", Value: o.t.States[e.to]},
			{Name: "_count", Value: itoa(counts[e])},
		})
		nr.cols = nr.cols[1:]
		out = append(out, nr)
	}
	return out
}
