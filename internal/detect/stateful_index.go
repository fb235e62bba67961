package detect

import (
	"slices"
	"sort"
	"strings"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
)

// ruleIndex lets Observe skip the stateful rules that cannot act on an
// event, the way the Sigma prefilter skips rules: most rules look only at
// events with one value of one field (event.action=withdrawal_request,
// event.code=4624), and evaluating every rule's filter on every event
// (each field test a scan of the event's fields, each glob a regexp) cost
// more than the rest of Observe.
//
// A filter's top-level conjuncts that read one plain field each
// (field=value, field IN (...), field MATCHES ..., and NOT, OR and AND
// of tests of that same field) are grouped by field. Such a group depends
// on nothing but the field's first value (what e.Get returns), so its
// result is memoized per value, and all the groups on one field cost one
// e.Get per event, taken only when a rule needs it. A filter can match
// only if each of its groups passes, and when it has no other conjunct
// (exact), that is its result. A rule may act on an event when one of its
// filters may match, when a rule a step refers to matched the event, or
// always when a filter has no group; the others are skipped, with the same
// result as evaluating them.
type ruleIndex struct {
	fields []*gateField
	plans  []rulePlan // per rule of Stateful.rules
	// base marks the rules every event is a candidate for (a filter
	// without a group, or steps on rules); keyed lists the fields that
	// hold the first group of some filter. An event's candidates are base
	// plus the rules whose first group of some filter passes on it.
	base  []uint64
	keyed []int
	cand  []uint64 // scratch: the event's candidates
	ev    *event.Event
	gen   uint32
	seen  []uint32      // per field: gen when res holds the event's results
	res   []*gateResult // per field: its groups' results on the event
	// names finds the fields' values in one pass over the event (start):
	// vals holds a field's first value when has is gen.
	names *fieldNames
	has   []uint32
	vals  []string
}

// rulePlan says when a rule may act on an event.
type rulePlan struct {
	always  bool         // a filter without a group: evaluate on every event
	filters []filterPlan // ... or when one of these filters may match
	refs    []string     // ... or when one of these rules matched the event
	// direct: the rule is a plain filter rule whose filter is exact, so
	// Observe goes straight to evalKeyed when the groups pass.
	direct bool
	// steps holds, per step of a rule with steps, the index in filters of
	// the step's filter, or -1 (no filter, or one without a group): a step
	// whose filter cannot match is not evaluated (stepMay).
	steps []int
}

// filterPlan is the groups of one filter, most selective first.
type filterPlan struct {
	groups []groupRef
	exact  bool // the filter is the AND of its groups
}

// groupRef names a group: field index and the group's index in it.
type groupRef struct{ field, group int }

// gateField is the groups on one field and the memo of their results.
type gateField struct {
	name   string
	groups []*query.Matcher
	keys   []keyRef               // the filters whose first group is on this field
	memo   map[string]*gateResult // by field value
	none   *gateResult            // the results when the field is missing
	lastV  string                 // the value looked up last, and its results
	last   *gateResult
	nRules int
}

// keyRef is the first group of a filter of a rule.
type keyRef struct{ group, rule int }

// gateResult is what one value of a field gives: each group's result, and
// the rules with a filter whose first group passes (a bit set).
type gateResult struct {
	value string // the field value (the memo's own copy)
	pass  []bool
	cand  []uint64
}

// maxGateMemo bounds the values memoized per field (a field like
// dns.question.name has many); the memo starts over when full.
const maxGateMemo = 4096

// newRuleIndex plans rules (in Stateful.rules order).
func newRuleIndex(rules []*StatefulRule) *ruleIndex {
	ix := &ruleIndex{plans: make([]rulePlan, len(rules))}
	byField := map[string]int{}
	cur := 0 // the rule being planned
	// plan adds a filter's plan to p; false when it has no group.
	plan := func(p *rulePlan, filter string) (exact, ok bool) {
		groups, exact := groupsOf(filter)
		if len(groups) == 0 {
			return false, false
		}
		var fp filterPlan
		fp.exact = exact
		for _, g := range groups {
			fi, ok := byField[g.field]
			if !ok {
				fi = len(ix.fields)
				byField[g.field] = fi
				ix.fields = append(ix.fields, &gateField{name: g.field, memo: map[string]*gateResult{}})
			}
			gf := ix.fields[fi]
			if len(fp.groups) == 0 {
				gf.keys = append(gf.keys, keyRef{group: len(gf.groups), rule: cur})
			}
			fp.groups = append(fp.groups, groupRef{field: fi, group: len(gf.groups)})
			gf.groups = append(gf.groups, g.m)
		}
		p.filters = append(p.filters, fp)
		return exact, true
	}
	for i, r := range rules {
		cur = i
		p := &ix.plans[i]
		switch {
		case r.Type == TypeAbsence:
			// Both filters act: expect records, trigger fires.
			_, okT := plan(p, r.Trigger)
			_, okE := plan(p, r.Expect)
			p.always = !okT || !okE
		case len(r.Steps) > 0 || r.Type == TypeChain || r.Type == TypeTemporal || r.Type == TypeTemporalOrdered:
			for _, st := range r.Steps {
				k := -1
				if st.m != nil {
					if _, ok := plan(p, st.Filter); ok {
						k = len(p.filters) - 1
					} else {
						p.always = true
					}
				}
				p.steps = append(p.steps, k)
				p.refs = append(p.refs, st.Rules...)
			}
		case r.filter == nil:
			p.always = true
		default:
			exact, ok := plan(p, r.Filter)
			p.always, p.direct = !ok, exact
		}
	}
	words := (len(rules) + 63) / 64
	ix.base, ix.cand = make([]uint64, words), make([]uint64, words)
	for i, p := range ix.plans {
		if p.always || len(p.refs) > 0 {
			ix.base[i/64] |= 1 << (i % 64)
		}
	}
	ix.seen = make([]uint32, len(ix.fields))
	ix.res = make([]*gateResult, len(ix.fields))
	// The one pass also finds the threat-intel field Detect asks for
	// (intelValue), at index len(fields).
	ix.has = make([]uint32, len(ix.fields)+1)
	ix.vals = make([]string, len(ix.fields)+1)
	names := make([]string, len(ix.fields)+1)
	for fi, gf := range ix.fields {
		names[fi] = gf.name
	}
	names[len(ix.fields)] = intelValueField
	ix.names = newFieldNames(names)
	for fi, gf := range ix.fields {
		gf.nRules = len(rules)
		gf.none = gf.eval(event.Event{})
		if len(gf.keys) > 0 {
			ix.keyed = append(ix.keyed, fi)
		}
	}
	return ix
}

// group is the conjuncts of a filter on one field, compiled.
type group struct {
	field string
	rank  int
	m     *query.Matcher
}

// groupsOf splits a filter (query text) into its per-field groups, most
// selective first; exact reports that the filter has no other conjunct.
func groupsOf(filter string) (groups []group, exact bool) {
	if strings.TrimSpace(filter) == "" {
		return nil, false
	}
	q, err := query.Parse(filter)
	if err != nil || q.Search == nil || len(q.Stages) > 0 {
		return nil, false
	}
	exact = true
	var order []string
	conj := map[string][]query.Expr{}
	rank := map[string]int{}
	var visit func(x query.Expr)
	visit = func(x query.Expr) {
		if a, ok := x.(*query.And); ok {
			for _, k := range a.Kids {
				visit(k)
			}
			return
		}
		f, ok := fieldOf(x)
		if !ok {
			exact = false
			return
		}
		if _, seen := conj[f]; !seen {
			order = append(order, f)
		}
		conj[f] = append(conj[f], x)
		rank[f] = max(rank[f], selectivity(x))
	}
	visit(q.Search)
	for _, f := range order {
		x := conj[f][0]
		if len(conj[f]) > 1 {
			x = &query.And{Kids: conj[f]}
		}
		m, err := (&query.Query{Search: x}).Matcher()
		if err != nil {
			return nil, false
		}
		groups = append(groups, group{field: f, rank: rank[f], m: m})
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].rank > groups[j].rank })
	return groups, exact
}

// fieldOf returns the one plain field an expression reads, if it reads
// exactly one: tests of a field's value, and NOT, AND and OR of tests of
// the same field. Terms read the whole event; metadata names (_source,
// _time...) come from the event's own members, not its fields.
func fieldOf(x query.Expr) (string, bool) {
	var f string
	switch x := x.(type) {
	case *query.Compare:
		f = x.Field
	case *query.In:
		f = x.Field
	case *query.Matches:
		f = x.Field
	case *query.Not:
		return fieldOf(x.Kid)
	case *query.And:
		return sameField(x.Kids)
	case *query.Or:
		return sameField(x.Kids)
	default:
		return "", false
	}
	return f, f != "" && f[0] != '_'
}

func sameField(kids []query.Expr) (string, bool) {
	var f string
	for i, k := range kids {
		g, ok := fieldOf(k)
		if !ok || (i > 0 && g != f) {
			return "", false
		}
		f = g
	}
	return f, f != ""
}

// selectivity rates a group member: higher when fewer values pass (an
// equality before a list, a list before globs, patterns and negations),
// so a filter's likeliest failing group is tested first.
func selectivity(x query.Expr) int {
	switch x := x.(type) {
	case *query.Compare:
		if x.Op != "=" {
			return 0
		}
		if !x.Quoted && strings.ContainsAny(x.Value, "*?") {
			return 1
		}
		return 3
	case *query.In:
		return 2
	case *query.Matches:
		return 1
	}
	return 0
}

// eval runs the groups of gf on an event that holds only e's value of the
// field (the groups read nothing else).
func (gf *gateField) eval(e event.Event) *gateResult {
	r := &gateResult{pass: make([]bool, len(gf.groups)), cand: make([]uint64, (gf.nRules+63)/64)}
	for i, m := range gf.groups {
		r.pass[i] = m.Match(&e)
	}
	for _, k := range gf.keys {
		if r.pass[k.group] {
			r.cand[k.rule/64] |= 1 << (k.rule % 64)
		}
	}
	return r
}

// intelValueField is the field of the indicator an event contains
// (IntelSet.Enrich).
const intelValueField = "threat.indicator.value"

// intelValue returns the value of intelValueField of the event started
// last (e.Get's answer), found by start's one pass.
func (ix *ruleIndex) intelValue() (string, bool) {
	if n := len(ix.fields); ix.has[n] == ix.gen {
		return ix.vals[n], true
	}
	return "", false
}

// results returns the groups' results on the field's value v (ok: the
// event has the field).
func (gf *gateField) results(v string, ok bool) *gateResult {
	if !ok {
		return gf.none
	}
	if gf.last != nil && v == gf.lastV {
		return gf.last
	}
	r, ok := gf.memo[v]
	if !ok {
		r = gf.eval(event.Event{Fields: []event.Field{{Name: gf.name, Value: v}}})
		r.value = strings.Clone(v) // v may live in a buffer the caller reuses
		if len(gf.memo) >= maxGateMemo {
			clear(gf.memo)
		}
		gf.memo[r.value] = r
	}
	gf.lastV, gf.last = r.value, r
	return r
}

// start begins an event and returns the rules that may act on it (a bit
// set, valid until the next start); mayAct has the final word on each.
func (ix *ruleIndex) start(e *event.Event) []uint64 {
	ix.ev = e
	ix.gen++
	if ix.gen == 0 { // wrapped
		clear(ix.seen)
		clear(ix.has)
		ix.gen = 1
	}
	// The first value of every field the groups read, in one pass (what
	// e.Get returns for each).
	for j := range e.Fields {
		if fi, ok := ix.names.find(e.Fields[j].Name); ok && ix.has[fi] != ix.gen {
			ix.has[fi], ix.vals[fi] = ix.gen, e.Fields[j].Value
		}
	}
	copy(ix.cand, ix.base)
	for _, fi := range ix.keyed {
		r := ix.result(fi)
		for w, bits := range r.cand {
			ix.cand[w] |= bits
		}
	}
	return ix.cand
}

func (ix *ruleIndex) result(fi int) *gateResult {
	if ix.seen[fi] != ix.gen {
		ix.seen[fi] = ix.gen
		gf := ix.fields[fi]
		var v string
		ok := ix.has[fi] == ix.gen
		if ok {
			v = ix.vals[fi]
		} else if !indexable(gf.name) {
			v, ok = ix.ev.Get(gf.name) // a name the one pass does not look for
		}
		ix.res[fi] = gf.results(v, ok)
	}
	return ix.res[fi]
}

func (ix *ruleIndex) pass(g groupRef) bool {
	return ix.result(g.field).pass[g.group]
}

func (ix *ruleIndex) mayMatch(fp *filterPlan) bool {
	for _, g := range fp.groups {
		if !ix.pass(g) {
			return false
		}
	}
	return true
}

// stepMay reports whether the filter of step j of rule i may match the
// started event (false only when one of its groups fails).
func (ix *ruleIndex) stepMay(i, j int) bool {
	p := &ix.plans[i]
	if j >= len(p.steps) || p.steps[j] < 0 {
		return true
	}
	return ix.mayMatch(&p.filters[p.steps[j]])
}

// mayAct reports whether rule i can act on the started event, given the
// rules that matched it so far; direct says the rule's filter matched
// (exactly), so the rule goes straight to evalKeyed.
func (ix *ruleIndex) mayAct(i int, matched []string) (act, direct bool) {
	p := &ix.plans[i]
	if p.direct {
		ok := ix.mayMatch(&p.filters[0])
		return ok, ok
	}
	if p.always {
		return true, false
	}
	for j := range p.filters {
		if ix.mayMatch(&p.filters[j]) {
			return true, false
		}
	}
	for _, ref := range p.refs {
		if slices.Contains(matched, ref) {
			return true, false
		}
	}
	return false, false
}
