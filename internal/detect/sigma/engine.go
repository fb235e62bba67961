package sigma

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/mamori/mamori/internal/event"
)

// Options configures Compile. The zero value uses the built-in pipeline.
type Options struct {
	// Pipeline routes log sources and maps field names; nil means
	// DefaultPipeline().
	Pipeline *Pipeline
	// Placeholders adds named value lists for the expand modifier (on top
	// of the pipeline's).
	Placeholders map[string][]string
	// NoPrefilter disables the literal prefilter (for tests and
	// measurements; results are the same).
	NoPrefilter bool
	// ValueCache is the number of entries of the prefilter's value cache
	// per Match scratch space (what the scan found in a value, for values
	// seen again): 0 means the default (twice the number of prefilter
	// needles, from 64 to 8192), a negative number disables it (for tests
	// and measurements; results are the same).
	ValueCache int
	// Logger receives compile messages; nil discards them.
	Logger *slog.Logger
	// SlimRules makes the engine keep copies of the compiled rules without
	// their Detection (every other field kept): Rules and Match.Rule then
	// return those copies (the same pointer for a rule in both), and the
	// parsed detection trees can be collected once the caller drops its
	// rules. A caller that needs a rule's detection (to show it, or to
	// compile the rule again) keeps its own rules, keyed by ID or Path.
	SlimRules bool
	// noCompact leaves the compiled conditions as compiled, one object
	// each (see Engine.compact): the reference of the tests.
	noCompact bool
}

// Match is one rule firing on one event.
type Match struct {
	Rule *Rule
}

// Engine is a compiled rule set. It is safe for concurrent use; Match
// allocates nothing in the common case.
type Engine struct {
	rules   []*compiledRule
	slots   []string         // canonical Sigma field name per slot
	slotIdx map[string]int32 // canonical name -> slot
	resolve fieldResolver
	alts    []*compiledAlt
	byChan  map[string][]int32    // lower-cased channel -> alt ids
	routes  map[string]*chanRoute // lower-cased channel -> routing index
	generic []int32               // alts not indexed by channel
	noChan  []int32               // alts that require the channel to be missing or empty
	// bySlot indexes the alts not indexed by channel by a slot their
	// condition needs to be present (per slot: alt ids); unindexed are
	// the rest (see buildSlotRoutes).
	bySlot    [][]int32
	unindexed []int32
	noChanAlt []bool // per alt: it requires the channel to be missing or empty
	// routeKeys are the routing cache's keys for events without and with
	// a channel; volatileAlt marks the alternatives checked on every event
	// (routecache.go).
	routeKeys [2]routeKeySpec
	// slotFlags marks, per slot, what load lists the slot for when an
	// event sets it: flagKey (in either routing key: state.keySlots),
	// flagNeedles (it has field needles: state.needleSlots).
	slotFlags   []uint8
	volatileAlt []bool
	memos       int // memoNodes (routing conditions) in the alternatives
	chanSlot    int32
	// metaSlots are the slots of the metadata pseudo-fields _source and
	// _category (-1: no rule or pipeline names them), set from the event's
	// Source and Category so routing can use them.
	metaSlots [2]int32
	pf        prefilter
	lits      string // every literal, end to end (see matcher.lit)
	vcEntries int    // value cache entries per state (0: none)
	pool      sync.Pool
}

type compiledRule struct {
	rule      *Rule
	alts      []altRule // routing alternatives with the rule's condition for each
	prefilter bool      // false: always a candidate
	full      uint8     // bit mask of needle groups that must all be hit
}

type compiledAlt struct {
	cond  node      // residual condition; nil means none
	rules []altRule // the rules without a prefilter, always evaluated
}

type altRule struct {
	rule int32
	alt  int32
	cond node
}

// Rules returns the compiled rules, in the order given to Compile.
func (e *Engine) Rules() []*Rule {
	out := make([]*Rule, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.rule
	}
	return out
}

// slimRules replaces the engine's rules by copies without their
// Detection, allocated as one slab (Options.SlimRules).
func (e *Engine) slimRules() {
	slab := make([]Rule, len(e.rules))
	for i, cr := range e.rules {
		slab[i] = *cr.rule
		slab[i].Detection = Detection{}
		cr.rule = &slab[i]
	}
}

// Stats describes the compiled engine.
type Stats struct {
	Rules, Alternatives, Patterns, PrefilteredRules, Fields int
}

// Stats reports sizes, for logs and benchmarks.
func (e *Engine) Stats() Stats {
	s := Stats{Rules: len(e.rules), Alternatives: len(e.alts), Patterns: len(e.pf.keys), Fields: len(e.slots)}
	for _, r := range e.rules {
		if r.prefilter {
			s.PrefilteredRules++
		}
	}

	return s
}

// compiler holds what compiling a rule set shares.
type compiler struct {
	e            *Engine
	placeholders map[string][]string
	rename       map[string]string
	alias        map[string]string // canonical event field name -> canonical Sigma name (Pipeline.Fields)
	routeItems   map[string]*memoNode
}

// canonField is how field names compare: lower case, without spaces.
func canonField(name string) string {
	name = toLower(name)
	if strings.IndexByte(name, ' ') >= 0 {
		name = strings.ReplaceAll(name, " ", "")
	}
	return name
}

func (c *compiler) slot(field string) int32 {
	if r, ok := c.rename[field]; ok {
		field = r
	}
	key := canonField(field)
	if to, ok := c.alias[key]; ok {
		// An event field name the pipeline maps (process.command_line):
		// events carry it in the slot of its Sigma name.
		key = to
	}
	if s, ok := c.e.slotIdx[key]; ok {
		return s
	}
	s := int32(len(c.e.slots))
	c.e.slots = append(c.e.slots, key)
	c.e.slotIdx[key] = s
	return s
}

// Compile compiles rules into one engine: rules are routed by log source,
// prefiltered by literals, then evaluated exactly. Rules that cannot be
// compiled are left out and reported as issues; filters (meta-rules) are
// applied to the rules they name. The error is for an invalid pipeline only.
func Compile(rules []*Rule, opts Options) (*Engine, []LoadIssue, error) {
	p := opts.Pipeline
	if p == nil {
		p = DefaultPipeline()
	}
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{slotIdx: map[string]int32{}, byChan: map[string][]int32{}}
	c := &compiler{e: e, placeholders: map[string][]string{}, alias: map[string]string{}, routeItems: map[string]*memoNode{}}
	for from, to := range p.Fields {
		c.alias[canonField(from)] = canonField(to)
	}
	for k, v := range p.Placeholders {
		c.placeholders[k] = v
	}
	for k, v := range opts.Placeholders {
		c.placeholders[k] = v
	}
	e.chanSlot = c.slot("Channel")
	var issues []LoadIssue
	filters, plain := splitFilters(rules, &issues)
	altIDs := map[string]int32{}
	needles := map[needleKey][]int32{}
	for _, r := range plain {
		if err := c.compileRule(r, p, filters[r.ID], filters[r.Name], altIDs, needles, opts.NoPrefilter); err != nil {
			issues = append(issues, issueFor(r, err))
		}
	}
	for i, name := range [...]string{event.FieldSource, event.FieldCategory} {
		e.metaSlots[i] = -1
		if s, ok := e.slotIdx[name]; ok {
			e.metaSlots[i] = s
		}
	}
	e.memos = len(c.routeItems)
	e.resolve = newFieldResolver(p, e.slotIdx)
	e.buildRoutes()
	e.buildSlotRoutes()
	e.buildRouteCache()
	e.buildPrefilter(needles)
	e.buildSlotFlags()
	e.linkNeedles()
	if opts.noCompact {
		e.packStrings(false)
	} else {
		e.compact()
	}
	switch e.vcEntries = opts.ValueCache; {
	case e.vcEntries == 0:
		// Small rule sets (a rule test, a retro-hunt) scan cheaply: they
		// get a small cache.
		e.vcEntries = min(defaultValueCache, max(64, 2*len(e.pf.keys)))
	case e.vcEntries < 0:
		e.vcEntries = 0
	}
	if opts.SlimRules {
		e.slimRules()
	}
	e.pool.New = func() any { return e.newState() }
	log.Info("sigma rules compiled", "rules", len(e.rules), "skipped", len(issues),
		"alternatives", len(e.alts), "patterns", len(e.pf.keys))
	return e, issues, nil
}

func splitFilters(rules []*Rule, issues *[]LoadIssue) (map[string][]*Rule, []*Rule) {
	filters := map[string][]*Rule{}
	var plain []*Rule
	for _, r := range rules {
		switch {
		case r.Correlation:
			*issues = append(*issues, LoadIssue{Path: r.Path, RuleID: r.ID, Title: r.Title, Line: r.Line,
				Reason: ReasonCorrelation, Detail: "correlation rules run in the stream engine, not offline"})
		case r.Filter != nil:
			for _, target := range r.Filter.Rules {
				if target != "" {
					filters[target] = append(filters[target], r)
				}
			}
		default:
			plain = append(plain, r)
		}
	}
	return filters, plain
}

func (c *compiler) compileRule(r *Rule, p *Pipeline, byID, byName []*Rule, altIDs map[string]int32,
	needles map[needleKey][]int32, noPrefilter bool) error {
	alts, err := p.route(r.LogSource)
	if err != nil {
		return err
	}
	fs := append(append([]*Rule(nil), byID...), byName...)
	// Compile once per distinct rename table (usually one).
	variants := map[string]node{}
	var base node
	var baseKey string
	var order []string
	for _, a := range alts {
		rk := renameKey(a.rename)
		if _, ok := variants[rk]; ok {
			continue
		}
		c.rename = a.rename
		n, err := c.ruleCondition(r, fs)
		c.rename = nil
		if err != nil {
			return err
		}
		variants[rk] = n
		order = append(order, rk)
		if base == nil || len(a.rename) == 0 {
			base, baseKey = n, rk
		}
	}
	idx := int32(len(c.e.rules))
	cr := &compiledRule{rule: r}
	if !noPrefilter {
		var others []node
		for _, rk := range order {
			if rk != baseKey {
				others = append(others, variants[rk])
			}
		}
		if gs, ok := ruleNeedles(base, others); ok {
			cr.prefilter = true
			for g, keys := range gs {
				cr.full |= 1 << g
				ref := idx<<3 | int32(g)
				for _, k := range keys {
					if l2 := needles[k]; len(l2) == 0 || l2[len(l2)-1] != ref {
						needles[k] = append(needles[k], ref)
					}
				}
			}
		}
	}
	c.e.rules = append(c.e.rules, cr)
	for _, a := range alts {
		id, err := c.altID(a, altIDs)
		if err != nil {
			return err
		}
		ar := altRule{rule: idx, alt: id, cond: variants[renameKey(a.rename)]}
		cr.alts = append(cr.alts, ar)
		if !cr.prefilter {
			c.e.alts[id].rules = append(c.e.alts[id].rules, ar)
		}
	}
	return nil
}

func renameKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		keys = append(keys, k+">"+v)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// ruleCondition compiles the rule's condition, with its filters applied.
func (c *compiler) ruleCondition(r *Rule, filters []*Rule) (node, error) {
	n, err := c.detection(&r.Detection)
	if err != nil {
		return nil, err
	}
	if len(filters) == 0 {
		return n, nil
	}
	and := andNode{n}
	for _, f := range filters {
		fn, err := c.detection(&f.Detection)
		if err != nil {
			return nil, fmt.Errorf("filter %s: %w", f.Title, err)
		}
		and = append(and, notNode{fn})
	}
	return and, nil
}

// routeItem compiles one condition of a routing alternative, once per
// distinct condition: alternatives share them (the product's conditions
// appear in every alternative of its services), and a memoNode evaluates
// each at most once per event.
func (c *compiler) routeItem(it *Item) (node, error) {
	vals := make([]string, len(it.Values))
	for i, v := range it.Values {
		vals[i] = v.S
		if v.Null {
			vals[i] = "\x00null"
		}
	}
	k := canonField(it.Field) + "|" + strings.Join(it.Modifiers, "|") + "=" + strings.Join(vals, "\x1f")
	if m, ok := c.routeItems[k]; ok {
		return m, nil
	}
	n, err := c.item(it)
	if err != nil {
		return nil, err
	}
	m := &memoNode{id: int32(len(c.routeItems)), x: n}
	c.routeItems[k] = m
	return m, nil
}

// altID returns the id of a routing alternative, compiling it once.
func (c *compiler) altID(a routeAlt, ids map[string]int32) (int32, error) {
	k := a.key()
	if id, ok := ids[k]; ok {
		return id, nil
	}
	id := int32(len(c.e.alts))
	ca := &compiledAlt{}
	var chans []string
	var rest andNode
	noChan := false
	for _, it := range a.items {
		if canonField(it.Field) == "channel" && len(it.Modifiers) == 0 && len(it.Values) == 1 && it.Values[0].Null {
			noChan = true // kept in the condition too
		}
		if canonField(it.Field) == "channel" && len(it.Modifiers) == 0 && chans == nil && plainValues(it.Values) {
			for _, v := range it.Values {
				chans = append(chans, toLower(v.S))
			}
			continue
		}
		n, err := c.routeItem(it)
		if err != nil {
			return 0, fmt.Errorf("pipeline condition %s: %w", it.Field, err)
		}
		rest = append(rest, n)
	}
	if len(rest) > 0 {
		ca.cond = rest
	}
	c.e.alts = append(c.e.alts, ca)
	if chans != nil {
		for _, ch := range chans {
			c.e.byChan[ch] = append(c.e.byChan[ch], id)
		}
	} else if noChan {
		c.e.noChan = append(c.e.noChan, id)
	} else {
		c.e.generic = append(c.e.generic, id)
	}
	ids[k] = id
	return id, nil
}

func plainValues(vs []Value) bool {
	if len(vs) == 0 {
		return false
	}
	for _, v := range vs {
		if v.Null || parseSigmaString(v.S).hasWild() {
			return false
		}
	}
	return true
}

// detection compiles a detection section's condition(s).
func (c *compiler) detection(d *Detection) (node, error) {
	if len(d.Conditions) == 0 {
		return nil, errors.New("detection has no condition")
	}
	searches := map[string]node{}
	search := func(name string) (node, error) {
		if n, ok := searches[name]; ok {
			return n, nil
		}
		s, ok := d.Searches[name]
		if !ok {
			return nil, fmt.Errorf("condition refers to unknown search %q", name)
		}
		n, err := c.search(s)
		if err != nil {
			return nil, err
		}
		searches[name] = n
		return n, nil
	}
	var ors orNode
	for _, text := range d.Conditions {
		x, err := ParseCondition(text)
		if err != nil {
			var ce *CondError
			if errors.As(err, &ce) && strings.Contains(ce.Msg, "aggregation") {
				return nil, &SkipError{Reason: ReasonAggregation, Detail: text}
			}
			return nil, err
		}
		n, err := c.expr(x, d, search)
		if err != nil {
			return nil, err
		}
		ors = append(ors, n)
	}
	if len(ors) == 1 {
		return ors[0], nil
	}
	return ors, nil
}

func (c *compiler) expr(x Expr, d *Detection, search func(string) (node, error)) (node, error) {
	switch x := x.(type) {
	case *AndExpr, *OrExpr:
		var xs []Expr
		if a, ok := x.(*AndExpr); ok {
			xs = a.X
		} else {
			xs = x.(*OrExpr).X
		}
		ns := make([]node, 0, len(xs))
		for _, y := range xs {
			n, err := c.expr(y, d, search)
			if err != nil {
				return nil, err
			}
			ns = append(ns, n)
		}
		if _, ok := x.(*AndExpr); ok {
			return andNode(ns), nil
		}
		return orNode(ns), nil
	case *NotExpr:
		n, err := c.expr(x.X, d, search)
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	case *IdentExpr:
		return search(x.Name)
	case *OfExpr:
		names := resolveOf(x.Pattern, d.Order)
		if len(names) == 0 {
			return nil, fmt.Errorf("%s matches no search", x)
		}
		ns := make([]node, 0, len(names))
		for _, name := range names {
			n, err := search(name)
			if err != nil {
				return nil, err
			}
			ns = append(ns, n)
		}
		if x.N == 1 {
			return orNode(ns), nil
		}
		return ofNode{n: x.N, xs: ns}, nil
	}
	return nil, fmt.Errorf("BUG: unknown condition node %T", x)
}

func (c *compiler) search(s *Search) (node, error) {
	var ors orNode
	for _, alt := range s.Alts {
		var and andNode
		for _, it := range alt {
			n, err := c.item(it)
			if err != nil {
				return nil, err
			}
			and = append(and, n)
		}
		if len(and) == 1 {
			ors = append(ors, and[0])
		} else {
			ors = append(ors, and)
		}
	}
	switch len(ors) {
	case 0:
		return constNode(false), nil
	case 1:
		return ors[0], nil
	}
	return ors, nil
}

func (c *compiler) item(it *Item) (node, error) {
	groups, spec, err := c.compileValues(it)
	if err != nil {
		var se *SkipError
		if errors.As(err, &se) {
			se.Line, se.Col = it.Line, it.Col
			return nil, se
		}
		return nil, &Error{Line: it.Line, Col: it.Col, Msg: fmt.Sprintf("field %s: %v", it.Field, err)}
	}
	if it.Field == "" {
		return &keywordNode{groups: groups, neg: spec.neg}, nil
	}
	return newLeafNode(c.slot(it.Field), groups, spec.neg), nil
}

// state is the per-call scratch space of Match, pooled.
type state struct {
	gen       uint32
	lits      string // Engine.lits
	ev        *event.Event
	setGen    []uint32 // per slot: gen when set
	vals      []string
	slotField []int32 // per slot: index of the event field that set it
	lowbuf    []byte
	cand      []uint32   // per rule: gen when a prefilter literal was seen
	mask      []uint8    // per rule: needle groups hit (valid when cand == gen)
	kwLow     string     // the lower-cased value a keyword search is testing
	kwScan    *kwMatcher // the keyword matcher scan used (nil: none; valid when scanned)
	rawLow    string
	lowsReady bool     // fieldLows and rawLow are all set
	rawReady  bool     // rawLow is set
	fieldLows []string // per event field: its lower-cased value (valid when lowGen == gen)
	lowGen    []uint32
	done      []uint32     // per rule: gen when it fired
	altSeen   []uint32     // per alternative: gen when checked
	altOK     []uint32     // per alternative: gen when the event belongs to it
	candList  []int32      // rules whose prefilter is satisfied
	altList   []int32      // alternatives the event belongs to
	fieldSlot []int32      // per event field (then per extra value): its slot, or -1
	extra     []string     // metadata values loaded as fields after the event's own
	checked   []uint32     // per matcher pattern: scan token when last verified
	kws       []*kwMatcher // keyword matchers of the event's alternatives
	kwKey     []byte       // scratch: the key of a merged keyword matcher
	lastKWs   []*kwMatcher // the matchers kwFor merged last (in the event's order)
	lastKW    *kwMatcher   // what it gave for them
	memoGen   []uint32     // per memoNode: gen when evaluated
	memoVal   []bool       // per memoNode: its value (valid when memoGen == gen)
	// keyGen is, per needle key, the gen when the key was seen in this
	// event (in its slot's value; any value for keyword keys). Valid once
	// scanned is set.
	keyGen  []uint32
	scanned bool
	tok     uint32
	hits    []int32
	found   []int32     // scratch: the needle keys found in one value
	vcache  *valueCache // what the prefilter found in values seen before (nil: none yet)
	// slotEnt is, per slot, the value cache entry of the slot's value
	// (valid when slotEntGen is the event's gen).
	slotEnt    []int32
	slotEntGen []uint32
	cache      map[string]cachedName // event field name -> slot (-1: none)
	lastName   string                // the cache's copy of the name slotOf last resolved
	// given, when set, lists the event fields with a slot (matchSlots);
	// noSlots is a run of -1.
	given   *fieldSlots
	noSlots []int32
	// kwDone is, per event field, the gen when the prefilter scanned it
	// for keyword needles along with its field needles.
	kwDone []uint32
	// guesses are the field-slot guess tables of recent event shapes
	// (fieldguess.go).
	guesses     [shapeGuesses]shapeGuess
	lastGuess   *shapeGuess // the table the last event used (nil: none yet)
	guessMisses int         // fields whose slot was not guessed (for tests)
	// routes caches routing results by routing key (routecache.go);
	// routeKey is the current event's key; volList collects the volatile
	// alternatives route checks while recordVol is set.
	routes   map[string]routeEntry
	routeKey []byte
	keyPos   []int32 // scratch: the routing key's slots the event has (positions)
	keySlots []int32 // the slots of either routing key the event sets (load)
	// needleSlots are the slots with field needles the event sets, in the
	// order of the fields that set them (load).
	needleSlots []int32
	volList     []int32
	recordVol   bool
}

func (e *Engine) newState() *state {
	n := len(e.slots)
	return &state{
		lits:       e.lits,
		setGen:     make([]uint32, n),
		vals:       make([]string, n),
		slotField:  make([]int32, n),
		slotEnt:    make([]int32, n),
		slotEntGen: make([]uint32, n),
		cand:       make([]uint32, len(e.rules)),
		mask:       make([]uint8, len(e.rules)),
		done:       make([]uint32, len(e.rules)),
		altSeen:    make([]uint32, len(e.alts)),
		altOK:      make([]uint32, len(e.alts)),
		keyGen:     make([]uint32, len(e.pf.keys)),
		memoGen:    make([]uint32, e.memos),
		memoVal:    make([]bool, e.memos),
		cache:      map[string]cachedName{},
	}
}

func (st *state) next() {
	st.gen++
	if st.gen == 0 { // wrapped: clear the stamps
		clear(st.setGen)
		clear(st.cand)
		clear(st.done)
		clear(st.altSeen)
		clear(st.altOK)
		clear(st.keyGen)
		clear(st.lowGen)
		clear(st.memoGen)
		clear(st.slotEntGen)
		clear(st.kwDone)
		if st.vcache != nil {
			for i := range st.vcache.tags {
				st.vcache.tags[i].used = 0
			}
		}
		st.gen = 1
	}
	st.lowbuf = st.lowbuf[:0]
	st.hits = st.hits[:0]
	st.candList = st.candList[:0]
	st.scanned = false
	st.lowsReady = false
	st.rawReady = false
}

const maxCachedNames = 1 << 14

// Match calls fn once for every rule that matches ev. fn must not keep m
// beyond the call only if it needs ev: the Rule pointer stays valid.
func (e *Engine) Match(ev *event.Event, fn func(m Match)) {
	st := e.pool.Get().(*state)
	e.match(st, ev, fn)
	e.pool.Put(st)
}

// matchSlots is Match for an event whose fields' slots are known: slots
// lists the fields of ev that have one, as the engine's resolver gives it
// for their names (the hunter's flattener, bound to e, resolves each name
// once and remembers the slot with its member guesses), so loading the
// event needs no name lookup or guess, and field needles are looked for
// in those fields only. Slots of another engine (or of none) fall back to
// Match. A flattener bound to e may have packed the values no rule of e
// reads into one field (flat_pack.go): its events are only for e (Match
// by another engine would miss those fields), which is how Hunt uses it
// (each worker's flattener is bound to the hunter's engine).
func (e *Engine) matchSlots(ev *event.Event, slots *fieldSlots, fn func(m Match)) {
	if slots.eng != e {
		e.Match(ev, fn)
		return
	}
	st := e.pool.Get().(*state)
	st.given = slots
	e.match(st, ev, fn)
	st.given = nil
	e.pool.Put(st)
}

// match is Match with the given scratch space.
func (e *Engine) match(st *state, ev *event.Event, fn func(m Match)) {
	e.load(st, ev)
	// Route: which alternatives does the event belong to?
	e.routeCached(st)
	if len(st.altList) > 0 {
		if len(e.pf.keys) > 0 {
			e.scan(st)
		}
		// Rules without a prefilter, then the prefilter's candidates.
		for _, id := range st.altList {
			for _, ar := range e.alts[id].rules {
				if st.done[ar.rule] != st.gen && ar.cond.eval(st) {
					st.done[ar.rule] = st.gen
					fn(Match{Rule: e.rules[ar.rule].rule})
				}
			}
		}
		for _, r := range st.candList {
			cr := e.rules[r]
			if st.done[r] == st.gen {
				continue
			}
			for i := range cr.alts {
				ar := &cr.alts[i]
				if st.altOK[ar.alt] == st.gen && ar.cond.eval(st) {
					st.done[r] = st.gen
					fn(Match{Rule: cr.rule})
					break
				}
			}
		}
	}
	st.ev = nil
}
