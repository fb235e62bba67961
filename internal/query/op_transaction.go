package query

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// Transaction groups rows into transactions by key fields and follows
// them through ordered states (Sumo Logic's transaction operator):
//
//	| transaction on session with states login, cart, pay in step results by transactions
//	| transaction on session fringe=10m with "*login*" as login, with "*pay*" as pay results by flow
//
// A row's state is the value of the In field when it is one of States,
// or else the first pattern (a matches glob over _raw, or over the field
// named after "in") it matches; rows without a state are ignored.
// Fringe ends a transaction after that long without a row of it, and
// MaxSpan when it would last longer (Splunk's maxpause and maxspan): the
// next row with the same keys starts a new transaction.
// "results by transactions" gives one row per transaction: the keys,
// _start_time, _end_time, _duration (ms), _count, _states (the path of
// distinct consecutive states), _complete (whether the States occurred
// in their order), a count per state, and the Showing aggregates. "results by states" gives one
// row per state: state, _count (rows in that state), _transactions
// (transactions that reached it). "results by flow" gives one row per
// transition: fromstate, tostate, _count, most frequent first.
type Transaction struct {
	On        []string
	States    []string // in order
	In        string   // field holding the state name ("with states ... in f")
	Patterns  []string // by state, for "with "glob" as state"; nil with In
	PatternIn []string // by pattern: the field it matches ("" for _raw)
	Fringe    time.Duration
	MaxSpan   time.Duration
	Results   string   // "transactions", "states" or "flow"
	Showing   []TxnAgg // extra columns of "results by transactions"
}

// The values of Transaction.Results.
const (
	txnResultsTransactions = "transactions"
	txnResultsStates       = "states"
	txnResultsFlow         = "flow"
)

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
	if !t.parseLimits(p) {
		return nil
	}
	if !p.acceptKeyword("with") {
		p.errorf(p.pos, "expected with states a, b, ... in <field> or with \"pattern\" as <state>")
		return nil
	}
	if p.acceptKeyword("states") {
		if !t.parseStates(p) {
			return nil
		}
	} else if !t.parsePatterns(p) {
		return nil
	}
	if seen := dupName(t.States); seen != "" {
		p.errorf(p.pos, "state %s is listed twice", quote(seen))
		return nil
	}
	if !t.parseResults(p) {
		return nil
	}
	if p.acceptKeyword("showing") && !t.parseShowing(p) {
		return nil
	}
	if !t.parseLimits(p) {
		return nil
	}
	return t
}

// parseLimits parses any of fringe=<span> and maxspan=<span> (Sumo puts
// fringe before with; both are also accepted after the results clause).
func (t *Transaction) parseLimits(p *parser) bool {
	for {
		var dst *time.Duration
		name := p.peekWord()
		switch name {
		case "fringe", "maxpause":
			dst = &t.Fringe
		case "maxspan":
			dst = &t.MaxSpan
		default:
			return true
		}
		p.acceptKeyword(name)
		if !p.accept("=") {
			p.errorf(p.pos, "expected = after %s", name)
			return false
		}
		p.skipSpace()
		at := p.pos
		d, err := parseSpan(p.word())
		if err != nil {
			p.errorf(at, "transaction %s: %v", name, err)
			return false
		}
		*dst = d
	}
}

// parseStates parses `a, b, c in <field>` after "with states".
func (t *Transaction) parseStates(p *parser) bool {
	if t.States = p.fieldNames("transaction states"); t.States == nil {
		return false
	}
	if !p.acceptKeyword("in") {
		p.errorf(p.pos, "expected in <field> after the states")
		return false
	}
	at := p.pos
	f, ok := p.ident()
	if !ok {
		p.errorf(at, "expected the field that holds the state")
		return false
	}
	t.In = canonicalField(f)
	return true
}

// parseResults parses `results by transactions|states|flow` (singular and
// plural both).
func (t *Transaction) parseResults(p *parser) bool {
	if !p.acceptKeyword("results") || !p.acceptKeyword("by") {
		p.errorf(p.pos, "expected results by transactions or results by flow (or by states)")
		return false
	}
	switch p.peekWord() {
	case "transactions", "transaction":
		t.Results = txnResultsTransactions
	case "states", "state":
		t.Results = txnResultsStates
	case "flow", "flows":
		t.Results = txnResultsFlow
	default:
		p.errorf(p.pos, "expected results by transactions or results by flow (or by states), got %s", p.describeNext())
		return false
	}
	p.acceptKeyword(p.peekWord())
	return true
}

// parsePatterns parses `"glob" [in f] as state, with "glob" as state ...`
// after the first with.
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
		in := ""
		if p.acceptKeyword("in") {
			at := p.pos
			f, ok := p.ident()
			if !ok {
				p.errorf(at, "expected the field the pattern matches after in")
				return false
			}
			in = canonicalField(f)
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
		t.PatternIn = append(t.PatternIn, in)
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
	s := "transaction on " + fieldList(t.On)
	if t.Fringe > 0 {
		s += " fringe=" + formatSpan(t.Fringe)
	}
	if t.MaxSpan > 0 {
		s += " maxspan=" + formatSpan(t.MaxSpan)
	}
	s += " with "
	if t.In != "" {
		s += "states " + fieldList(t.States) + " in " + fieldName(t.In)
	} else {
		parts := make([]string, len(t.States))
		for i := range t.States {
			parts[i] = quote(t.Patterns[i])
			if in := t.patternIn(i); in != "" {
				parts[i] += " in " + fieldName(in)
			}
			parts[i] += " as " + fieldName(t.States[i])
		}
		s += strings.Join(parts, ", with ")
	}
	s += " results by " + t.results()
	if len(t.Showing) > 0 {
		parts := make([]string, len(t.Showing))
		for i := range t.Showing {
			parts[i] = t.Showing[i].String()
		}
		s += " showing " + strings.Join(parts, ", ")
	}
	return s
}

func (t *Transaction) results() string {
	if t.Results == "" {
		return txnResultsTransactions
	}
	return t.Results
}

func (t *Transaction) patternIn(i int) string {
	if i < len(t.PatternIn) {
		return t.PatternIn[i]
	}
	return ""
}

func (t *Transaction) compile(c *compiler) ([]op, error) {
	o := &transactionOp{t: t, c: c, budget: &budget{maxBytes: c.opts.MaxMemoryBytes}}
	for _, f := range t.On {
		o.on = append(o.on, c.slot(f))
	}
	o.compileShowing(c)
	if t.In != "" {
		o.in = c.slot(t.In)
		return []op{o}, nil
	}
	for i, pat := range t.Patterns {
		re, err := globRegexp(pat, true)
		if err != nil {
			return nil, fmt.Errorf("transaction: %w", err)
		}
		f := t.patternIn(i)
		if f == "" {
			f = event.FieldRaw
		}
		o.res = append(o.res, re)
		o.resIn = append(o.resIn, c.slot(f))
	}
	return []op{o}, nil
}

type transactionOp struct {
	t      *Transaction
	c      *compiler
	on     []int
	in     int
	res    []*regexp.Regexp
	resIn  []int // by pattern: the slot it matches
	budget *budget
	// By Showing aggregate: the slot of its field (-1: none or _time)
	// and the index of its state (-1: all).
	aggSlot, aggState []int
}

// txn is one transaction.
type txn struct {
	keys       []val
	start, end int64
	count      int
	perState   []int
	path       []int // distinct consecutive states
	reached    int   // States reached in order
	aggs       []txnAggState
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
	for i, re := range o.res {
		v := r.get(o.resIn[i])
		if !v.isNull() && re.MatchString(v.str()) {
			return i
		}
	}
	return -1
}

// expired reports whether a row at time ts starts a new transaction
// instead of joining tx (fringe or maxspan passed).
func (o *transactionOp) expired(tx *txn, ts int64) bool {
	return (o.t.Fringe > 0 && ts-tx.end > int64(o.t.Fringe)) ||
		(o.t.MaxSpan > 0 && ts-tx.start > int64(o.t.MaxSpan))
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
		if tx == nil || o.expired(tx, r.t) {
			tx = &txn{keys: vals, start: r.t, perState: make([]int, len(o.t.States)), aggs: make([]txnAggState, len(o.t.Showing))}
			byKey[string(key)] = tx
			order = append(order, tx)
			if err := o.budget.add(int64(96 + len(key) + 8*len(o.t.States) + 64*len(o.t.Showing))); err != nil {
				return nil, fmt.Errorf("transaction: %w", err)
			}
			if o.budget.maxBytes <= 0 && len(order) > maxTransactions {
				return nil, fmt.Errorf("transaction: more than %d transactions: %w", maxTransactions, ErrBudget)
			}
		}
		tx.add(r.t, st, len(o.t.States))
		o.accumulate(tx, r, st)
	}
	switch o.t.results() {
	case txnResultsFlow:
		return o.flowRows(order), nil
	case txnResultsStates:
		return o.stateRows(order), nil
	}
	return o.txnRows(order), nil
}

// add records a row at time ts in state st of n states.
func (tx *txn) add(ts int64, st, n int) {
	tx.end = ts
	tx.count++
	tx.perState[st]++
	if len(tx.path) == 0 || tx.path[len(tx.path)-1] != st {
		tx.path = append(tx.path, st)
	}
	if tx.reached < n && st == tx.reached {
		tx.reached++
	}
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
		for i, a := range o.t.Showing {
			if v, ok := tx.aggs[i].value(a.Func); ok {
				fields = append(fields, event.Field{Name: a.Alias, Value: v})
			}
		}
		nr := newTableRow(o.c, tx.start, fields)
		r.cols = append(r.cols, nr.cols[1:]...) // without _time: a transaction is a group row
		out = append(out, r)
	}
	return out
}

// stateRows gives one row per state, in the listed order: the rows in
// that state and the transactions that reached it.
func (o *transactionOp) stateRows(order []*txn) []*tableRow {
	rowsIn := make([]int, len(o.t.States))
	txnsIn := make([]int, len(o.t.States))
	for _, tx := range order {
		for i, n := range tx.perState {
			rowsIn[i] += n
			if n > 0 {
				txnsIn[i]++
			}
		}
	}
	out := make([]*tableRow, 0, len(o.t.States))
	for i, name := range o.t.States {
		nr := newTableRow(o.c, 0, []event.Field{
			{Name: "state", Value: name},
			{Name: "_count", Value: itoa(rowsIn[i])},
			{Name: "_transactions", Value: itoa(txnsIn[i])},
		})
		nr.cols = nr.cols[1:]
		out = append(out, nr)
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

// TxnAgg is one aggregate of Sumo Logic's "results by transactions
// showing ...": Func(Arg) [for State] as Alias, over the rows of each
// transaction ("showing max(_messagetime), sum("1") for init as inits").
// Arg is a field (_time gives epoch milliseconds), a quoted constant
// (Quoted: sum("1") counts rows), or empty for count.
type TxnAgg struct {
	Func   string // count, sum, avg, min, max, first, last
	Arg    string
	Quoted bool
	State  string // only rows in this state; "" for all
	Alias  string
}

var txnAggFuncs = []string{"count", "sum", "avg", "min", "max", "first", "last"}

func (a *TxnAgg) String() string {
	arg := fieldName(a.Arg)
	if a.Quoted {
		arg = quote(a.Arg)
	}
	s := a.Func + "(" + arg + ")"
	if a.State != "" {
		s += " for " + fieldName(a.State)
	}
	return s + " as " + fieldName(a.Alias)
}

// parseShowing parses the aggregates after "showing".
func (t *Transaction) parseShowing(p *parser) bool {
	if t.results() != txnResultsTransactions {
		p.errorf(p.pos, "transaction: showing goes with results by transactions")
		return false
	}
	taken := append([]string{"_start_time", "_end_time", "_duration", "_count", "_states", "_complete"}, t.On...)
	taken = append(taken, t.States...)
	for {
		at := p.pos
		a, ok := t.parseTxnAgg(p)
		if !ok {
			return false
		}
		if slices.Contains(taken, a.Alias) {
			p.errorf(at, "transaction showing: the output field %s is taken; name it with as <field>", quote(a.Alias))
			return false
		}
		taken = append(taken, a.Alias)
		t.Showing = append(t.Showing, a)
		if !p.accept(",") {
			return true
		}
	}
}

func (t *Transaction) parseTxnAgg(p *parser) (TxnAgg, bool) {
	at := p.pos
	name, _ := p.ident()
	a := TxnAgg{Func: strings.ToLower(name)}
	if !slices.Contains(txnAggFuncs, a.Func) {
		p.errorf(at, "transaction showing: expected one of %s, got %s", strings.Join(txnAggFuncs, ", "), quote(name))
		return a, false
	}
	if p.accept("(") && !p.accept(")") {
		switch c := p.peek(); {
		case c == '"' || c == '\'':
			v, ok := p.stringArg("the constant")
			if !ok {
				return a, false
			}
			a.Arg, a.Quoted = v, true
		case p.accept("*"):
		default:
			at := p.pos
			f, ok := p.ident()
			if !ok {
				p.errorf(at, "transaction showing: expected a field in %s(...)", a.Func)
				return a, false
			}
			a.Arg = canonicalField(f)
		}
		if !p.accept(")") {
			p.errorf(p.pos, "transaction showing: expected ')' after the argument of %s", a.Func)
			return a, false
		}
	}
	if a.Func != "count" && a.Arg == "" && !a.Quoted {
		p.errorf(at, "transaction showing: %s needs a field, as in %s(bytes)", a.Func, a.Func)
		return a, false
	}
	if p.acceptKeyword("for") {
		at := p.pos
		st, ok := p.ident()
		if !ok || !slices.Contains(t.States, st) {
			p.errorf(at, "transaction showing: expected one of the states after for")
			return a, false
		}
		a.State = st
	}
	a.Alias = "_" + a.Func
	if p.acceptKeyword("as") {
		at := p.pos
		f, ok := p.ident()
		if !ok {
			p.errorf(at, "transaction showing: expected a field name after as")
			return a, false
		}
		a.Alias = canonicalField(f)
	}
	return a, true
}

func (o *transactionOp) compileShowing(c *compiler) {
	for _, a := range o.t.Showing {
		slot := -1
		if a.Arg != "" && !a.Quoted && a.Arg != event.FieldTime {
			slot = c.slot(a.Arg)
		}
		o.aggSlot = append(o.aggSlot, slot)
		o.aggState = append(o.aggState, slices.Index(o.t.States, a.State)) // -1 for ""
	}
}

// accumulate adds row r, in state st, to the Showing aggregates of tx.
func (o *transactionOp) accumulate(tx *txn, r *tableRow, st int) {
	for i, a := range o.t.Showing {
		if o.aggState[i] >= 0 && o.aggState[i] != st {
			continue
		}
		var s string
		switch {
		case a.Quoted:
			s = a.Arg
		case a.Arg == event.FieldTime:
			s = strconv.FormatInt(r.t/1e6, 10)
		case o.aggSlot[i] >= 0:
			v := r.get(o.aggSlot[i])
			if v.isNull() {
				continue
			}
			s = v.str()
		}
		tx.aggs[i].add(a.Func, s)
	}
}

// txnAggState is the running value of one Showing aggregate.
type txnAggState struct {
	n           int
	sum         float64
	min, max    float64
	first, last string
}

func (s *txnAggState) add(fn, v string) {
	switch fn {
	case "count":
		s.n++
		return
	case "first", "last":
		if s.n == 0 {
			s.first = v
		}
		s.last = v
		s.n++
		return
	}
	f, ok := parseNum(v)
	if !ok {
		return
	}
	if s.n == 0 || f < s.min {
		s.min = f
	}
	if s.n == 0 || f > s.max {
		s.max = f
	}
	s.n++
	s.sum += f
}

// value is the aggregate's result; ok is false when no row counted
// (the field stays missing), except for count and sum, which are 0.
func (s *txnAggState) value(fn string) (string, bool) {
	switch fn {
	case "count":
		return itoa(s.n), true
	case "sum":
		return formatNum(s.sum), true
	}
	if s.n == 0 {
		return "", false
	}
	switch fn {
	case "avg":
		return formatNum(s.sum / float64(s.n)), true
	case "min":
		return formatNum(s.min), true
	case "max":
		return formatNum(s.max), true
	case "first":
		return s.first, true
	}
	return s.last, true
}
