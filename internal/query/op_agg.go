package query

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Aggregate computes aggregate functions over groups: "| count by host",
// "| count, avg(duration_s) as d by app", "| count_distinct(src_ip)".
type Aggregate struct {
	Aggs []AggCall
	By   []string
}

// AggCall is one aggregate function: Func(Field[, Param]) [as As].
type AggCall struct {
	Func  string
	Field string
	Param string // pct: the percentile
	As    string
}

type aggSpec struct {
	field int    // 0: no field, 1: optional, 2: required
	param bool   // takes a numeric parameter (pct)
	out   string // default output name
}

var aggFuncs = map[string]aggSpec{
	"count":          {field: 1, out: "_count"},
	"count_distinct": {field: 2, out: "_count_distinct"},
	"sum":            {field: 2, out: "_sum"},
	"avg":            {field: 2, out: "_avg"},
	"min":            {field: 2, out: "_min"},
	"max":            {field: 2, out: "_max"},
	"stddev":         {field: 2, out: "_stddev"},
	"pct":            {field: 2, param: true},
	"first":          {field: 2, out: "_first"},
	"last":           {field: 2, out: "_last"},
	"most_recent":    {field: 2, out: "_most_recent"},
	"least_recent":   {field: 2, out: "_least_recent"},
	"values":         {field: 2, out: "_values"},
	"percentile":     {field: 2, param: true},
}

func parseAggStage(p *parser, _ string, _ int) Stage {
	a := &Aggregate{}
	for {
		cs, ok := p.parseAggCall()
		if !ok {
			return nil
		}
		a.Aggs = append(a.Aggs, cs...)
		save := p.pos
		if p.accept(",") {
			if _, isAgg := aggFuncs[p.peekWord()]; isAgg {
				continue
			}
			p.pos = save
		}
		break
	}
	if p.acceptKeyword("by") {
		if a.By = p.fieldNames("by"); a.By == nil {
			return nil
		}
	}
	return a
}

// parseAggCall parses one function; pct(x, 75, 95) gives one call per
// percentile.
func (p *parser) parseAggCall() ([]AggCall, bool) {
	var more []string
	c, ok := p.parseAggCall1(&more)
	if !ok {
		return nil, false
	}
	out := []AggCall{c}
	for _, pc := range more {
		out = append(out, AggCall{Func: c.Func, Field: c.Field, Param: pc})
	}
	if len(more) > 0 && c.As != "" {
		p.errorf(p.pos, "as cannot name several percentiles")
		return nil, false
	}
	return out, true
}

func (p *parser) parseAggCall1(more *[]string) (AggCall, bool) {
	at := p.pos
	name, _ := p.ident()
	lname := strings.ToLower(name)
	spec, ok := aggFuncs[lname]
	if !ok {
		p.errorf(at, "unknown aggregate function %s", quote(name))
		return AggCall{}, false
	}
	c := AggCall{Func: lname}
	if lname == "percentile" {
		c.Func = "pct"
	}
	if p.accept("(") {
		if !p.accept(")") {
			f, ok := p.ident()
			if !ok {
				p.errorf(p.pos, "expected a field name in %s(...), got %s", lname, p.describeNext())
				return c, false
			}
			c.Field = canonicalField(f)
			if spec.param {
				if !p.accept(",") {
					p.errorf(p.pos, "%s needs a percentile: %s(field, 95)", lname, lname)
					return c, false
				}
				p.skipSpace()
				n := p.number()
				if v, err := strconv.ParseFloat(n, 64); err != nil || v < 0 || v > 100 {
					p.errorf(p.pos, "bad percentile %s: want 0 to 100", quote(n))
					return c, false
				}
				c.Param = n
				for p.accept(",") {
					p.skipSpace()
					n := p.number()
					if v, err := strconv.ParseFloat(n, 64); err != nil || v < 0 || v > 100 {
						p.errorf(p.pos, "bad percentile %s: want 0 to 100", quote(n))
						return c, false
					}
					*more = append(*more, n)
				}
			}
			if !p.accept(")") {
				p.errorf(p.pos, "expected ')' after %s(%s, got %s", lname, c.Field, p.describeNext())
				return c, false
			}
		}
	} else if spec.field == 2 {
		// Sumo also accepts "sum x" without parentheses.
		f, ok := p.ident()
		if !ok || isReservedWord(f) {
			p.errorf(p.pos, "%s needs a field: %s(field)", lname, lname)
			return c, false
		}
		c.Field = canonicalField(f)
	}
	if c.Field == "" && spec.field == 2 {
		p.errorf(at, "%s needs a field: %s(field)", lname, lname)
		return c, false
	}
	if p.acceptKeyword("as") {
		f, ok := p.ident()
		if !ok {
			p.errorf(p.pos, "expected a field name after as, got %s", p.describeNext())
			return c, false
		}
		def := c.outName()
		if c.As = canonicalField(f); c.As == def {
			c.As = ""
		}
	}
	return c, true
}

func (c AggCall) outName() string {
	if c.As != "" {
		return c.As
	}
	if c.Func == "pct" {
		return "_" + c.Field + "_pct_" + strings.ReplaceAll(c.Param, ".", "_")
	}
	return aggFuncs[c.Func].out
}

func (c AggCall) String() string {
	s := c.Func
	switch {
	case c.Param != "":
		s += "(" + fieldName(c.Field) + ", " + c.Param + ")"
	case c.Field != "":
		s += "(" + fieldName(c.Field) + ")"
	}
	if c.As != "" {
		s += " as " + fieldName(c.As)
	}
	return s
}

func (a *Aggregate) String() string {
	parts := make([]string, len(a.Aggs))
	for i, c := range a.Aggs {
		parts[i] = c.String()
	}
	s := strings.Join(parts, ", ")
	if len(a.By) > 0 {
		s += " by " + fieldList(a.By)
	}
	return s
}

func (a *Aggregate) compile(c *compiler) ([]op, error) {
	o := &aggregateOp{}
	for _, b := range a.By {
		o.by = append(o.by, c.slot(b))
	}
	for _, call := range a.Aggs {
		k := aggCallC{fn: call.Func, field: -1}
		if call.Field != "" {
			k.field = c.slot(call.Field)
		}
		if call.Param != "" {
			k.param, _ = strconv.ParseFloat(call.Param, 64)
		}
		o.calls = append(o.calls, k)
	}
	// Output slots are registered after the inputs so "count by _count"
	// style reuse reads the input.
	for i, call := range a.Aggs {
		o.calls[i].out = c.outSlot(call.outName())
	}
	return []op{o}, nil
}

type aggCallC struct {
	fn    string
	field int
	param float64
	out   int
}

// aggregateOp is the compiled Aggregate.
type aggregateOp struct {
	by    []int
	calls []aggCallC
	// unordered skips sorting the groups by key (a sort follows).
	unordered bool
}

// onlyCount reports whether every call is a plain count.
func (o *aggregateOp) onlyCount() bool {
	for _, c := range o.calls {
		if c.fn != "count" || c.field >= 0 {
			return false
		}
	}
	return true
}

// aggState is the running state of one function in one group.
type aggState struct {
	n        int64
	sum, sq  float64
	min, max float64
	v        val   // first/last/most_recent/least_recent
	t        int64 // time of v
	set      map[string]struct{}
	vals     []float64
}

type group struct {
	keys []val
	st   []aggState
}

type aggShardImpl struct {
	o      *aggregateOp
	slab   groupSlab
	groups map[string]*group // by encoded key (appendKey)
	// Fast path: one group-by field with a text value, keyed by the text,
	// with the last group cached (block columns repeat values in runs).
	strGroups map[string]*group
	last      *group
	lastKey   string
	one       *group // when there is no by
	key       []byte
	mem       memAcct
	mins      *minuteTable // fastBlock "minutes" (run_agg.go)
}

func (o *aggregateOp) newShard(b *budget) aggShard {
	s := &aggShardImpl{o: o, mem: memAcct{b: b}}
	if len(o.by) == 0 {
		s.one = o.newGroup(nil)
	} else {
		s.groups = map[string]*group{}
		s.strGroups = map[string]*group{}
	}
	return s
}

func (o *aggregateOp) newGroup(keys []val) *group {
	g := &group{keys: keys, st: make([]aggState, len(o.calls))}
	for i := range g.st {
		g.st[i].min, g.st[i].max = math.Inf(1), math.Inf(-1)
		g.st[i].t = math.MinInt64
		if o.calls[i].fn == "least_recent" || o.calls[i].fn == "last" {
			g.st[i].t = math.MaxInt64
		}
	}
	return g
}

// groupSlab hands out groups, their states and keys from chunks, so a
// high-cardinality group-by allocates once per slabGroups groups instead
// of three times per group.
type groupSlab struct {
	gs   []group
	st   []aggState
	keys []val
}

const slabGroups = 256

// newGroup returns a new group of the shard with len(o.by) keys; the
// first keys are set from first.
func (s *aggShardImpl) newGroup(first ...val) *group {
	sl, nst, nk := &s.slab, len(s.o.calls), len(s.o.by)
	if len(sl.gs) == 0 {
		sl.gs = make([]group, slabGroups)
	}
	if len(sl.st) < nst {
		sl.st = make([]aggState, slabGroups*nst)
	}
	if len(sl.keys) < nk {
		sl.keys = make([]val, slabGroups*nk)
	}
	g := &sl.gs[0]
	sl.gs = sl.gs[1:]
	g.st, sl.st = sl.st[:nst:nst], sl.st[nst:]
	g.keys, sl.keys = sl.keys[:nk:nk], sl.keys[nk:]
	copy(g.keys, first)
	for i := range g.st {
		g.st[i].min, g.st[i].max = math.Inf(1), math.Inf(-1)
		g.st[i].t = math.MinInt64
		if s.o.calls[i].fn == "least_recent" || s.o.calls[i].fn == "last" {
			g.st[i].t = math.MaxInt64
		}
	}
	return g
}

// appendKey encodes a group-by value unambiguously.
func appendKey(dst []byte, v val) []byte {
	dst = append(dst, byte(v.k))
	switch v.k {
	case kStr:
		dst = binary.AppendUvarint(dst, uint64(len(v.s)))
		dst = append(dst, v.s...)
	case kNum, kBool:
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.n))
	case kTime:
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v.t))
	}
	return dst
}

func (s *aggShardImpl) add(r record) error {
	g := s.one
	if g == nil && len(s.o.by) == 1 {
		v := r.get(s.o.by[0])
		if v.isNull() {
			return nil // rows without a group-by field are not counted
		}
		if v.k == kStr {
			if s.last != nil && v.s == s.lastKey {
				g = s.last
			} else if g = s.strGroups[v.s]; g == nil {
				key := strings.Clone(v.s)
				g = s.newGroup(strVal(key))
				s.strGroups[key] = g
				if err := s.mem.add(int64(2*len(key) + 96 + 80*len(g.st))); err != nil {
					return err
				}
			}
			s.last, s.lastKey = g, v.s
		}
	}
	if g == nil {
		s.key = s.key[:0]
		for _, b := range s.o.by {
			v := r.get(b)
			if v.isNull() {
				return nil
			}
			s.key = appendKey(s.key, v)
		}
		g = s.groups[string(s.key)]
		if g == nil {
			g = s.newGroup()
			keys := g.keys
			for i, b := range s.o.by {
				keys[i] = cloneVal(r.get(b))
			}
			s.groups[string(s.key)] = g
			if err := s.mem.add(int64(2*len(s.key) + 96 + 80*len(g.st) + 40*len(keys))); err != nil {
				return err
			}
		}
	}
	for i := range s.o.calls {
		if err := s.update(&s.o.calls[i], &g.st[i], r); err != nil {
			return err
		}
	}
	return nil
}

// addCountText adds n rows to the group of the text key v (count-only
// aggregations with one group-by field).
func (s *aggShardImpl) addCountText(v string, n int64) error {
	return s.addCountKey(v, n, false)
}

// addCountKept is addCountText for a v the shard may keep as the group's
// key (immutable: not a view of a reused buffer).
func (s *aggShardImpl) addCountKept(v string, n int64) error {
	return s.addCountKey(v, n, true)
}

func (s *aggShardImpl) addCountKey(v string, n int64, keep bool) error {
	g := s.last
	if g == nil || v != s.lastKey {
		if g = s.strGroups[v]; g == nil {
			key := v
			if !keep {
				key = strings.Clone(v)
			}
			g = s.newGroup(strVal(key))
			s.strGroups[key] = g
			if err := s.mem.add(int64(2*len(key) + 96 + 80*len(g.st))); err != nil {
				return err
			}
		}
		s.last, s.lastKey = g, v
	}
	g.addCount(n)
	return nil
}

// addCount adds n rows to a count-only group.
func (g *group) addCount(n int64) {
	for i := range g.st {
		g.st[i].n += n
	}
}

func cloneVal(v val) val {
	if v.k == kUnset {
		return nullVal
	}
	v.s = strings.Clone(v.s)
	return v
}

func (s *aggShardImpl) update(c *aggCallC, st *aggState, r record) error {
	if c.field < 0 {
		st.n++
		return nil
	}
	v := r.get(c.field)
	if v.isNull() {
		return nil
	}
	switch c.fn {
	case "count":
		st.n++
	case "count_distinct", "values":
		if st.set == nil {
			st.set = map[string]struct{}{}
		}
		str := v.str()
		if st.n > 0 && str == st.v.s {
			return nil // same as the previous row
		}
		st.n, st.v.s = 1, str
		if _, ok := st.set[str]; !ok {
			st.set[strings.Clone(str)] = struct{}{}
			return s.mem.add(int64(len(str) + 48))
		}
	case "first", "most_recent", "last", "least_recent":
		t := r.timeNs()
		newer := c.fn == "first" || c.fn == "most_recent"
		if (newer && t > st.t) || (!newer && t < st.t) || st.n == 0 {
			st.v, st.t = cloneVal(v), t
		}
		st.n++
	default:
		x, ok := v.num()
		if !ok {
			return nil
		}
		st.n++
		st.sum += x
		st.sq += x * x
		st.min = math.Min(st.min, x)
		st.max = math.Max(st.max, x)
		if c.fn == "pct" {
			st.vals = append(st.vals, x)
			return s.mem.add(8)
		}
	}
	return nil
}

func mergeState(fn string, dst, src *aggState) {
	dst.n += src.n
	dst.sum += src.sum
	dst.sq += src.sq
	dst.min = math.Min(dst.min, src.min)
	dst.max = math.Max(dst.max, src.max)
	dst.vals = append(dst.vals, src.vals...)
	for k := range src.set {
		if dst.set == nil {
			dst.set = map[string]struct{}{}
		}
		dst.set[k] = struct{}{}
	}
	if src.v.k != kUnset {
		newer := fn == "first" || fn == "most_recent"
		if dst.v.k == kUnset || (newer && src.t > dst.t) || (!newer && src.t < dst.t) {
			dst.v, dst.t = src.v, src.t
		}
	}
}

func (o *aggregateOp) result(shards []aggShard) ([]*tableRow, error) {
	var all []*group
	if len(o.by) == 0 {
		g := shards[0].(*aggShardImpl).one
		for _, sh := range shards[1:] {
			for i := range o.calls {
				mergeState(o.calls[i].fn, &g.st[i], &sh.(*aggShardImpl).one.st[i])
			}
		}
		all = []*group{g}
	} else {
		s0 := shards[0].(*aggShardImpl)
		for _, sh := range shards[1:] {
			o.mergeMaps(s0.groups, sh.(*aggShardImpl).groups)
			o.mergeMaps(s0.strGroups, sh.(*aggShardImpl).strGroups)
		}
		all = make([]*group, 0, len(s0.groups)+len(s0.strGroups))
		for _, g := range s0.groups {
			all = append(all, g)
		}
		for _, g := range s0.strGroups {
			all = append(all, g)
		}
		if !o.unordered {
			sortGroups(all, len(o.by))
		}
	}
	// The rows and their columns come from two allocations, not two a
	// group; each row's columns have no room to grow into the next's.
	w := len(o.by) + len(o.calls)
	trs := make([]tableRow, len(all))
	cols := make([]tcol, len(all)*w)
	rows := make([]*tableRow, len(all))
	for i, g := range all {
		rows[i] = &trs[i]
		o.fillRow(rows[i], g, cols[i*w:i*w:(i+1)*w])
	}
	return rows, nil
}

func (o *aggregateOp) mergeMaps(dst, src map[string]*group) {
	for k, g := range src {
		d, ok := dst[k]
		if !ok {
			dst[k] = g
			continue
		}
		for i := range o.calls {
			mergeState(o.calls[i].fn, &d.st[i], &g.st[i])
		}
	}
}

func lessKeys(a, b []val) bool {
	for i := range a {
		c, ok := compareVals(a[i], b[i])
		if !ok {
			if a[i].isNull() != b[i].isNull() {
				return b[i].isNull()
			}
			continue
		}
		if c != 0 {
			return c < 0
		}
	}
	return false
}

// fillRow sets r to g's row, its columns appended to cols.
func (o *aggregateOp) fillRow(r *tableRow, g *group, cols []tcol) {
	r.cols = cols
	for i, s := range o.by {
		r.cols = append(r.cols, tcol{slot: s, v: g.keys[i]})
		if s == slotTime || (g.keys[i].k == kTime && r.t == 0) {
			r.t = g.keys[i].t
		}
	}
	for i := range o.calls {
		r.cols = append(r.cols, tcol{slot: o.calls[i].out, v: finalValue(&o.calls[i], &g.st[i])})
	}
}

func finalValue(c *aggCallC, st *aggState) val {
	switch c.fn {
	case "count":
		return numVal(float64(st.n))
	case "count_distinct":
		return numVal(float64(len(st.set)))
	case "values":
		vs := make([]string, 0, len(st.set))
		for k := range st.set {
			vs = append(vs, k)
		}
		sort.Strings(vs)
		b, err := json.Marshal(vs)
		if err != nil {
			return nullVal
		}
		return strVal(string(b))
	case "first", "last", "most_recent", "least_recent":
		if st.v.k == kUnset {
			return nullVal
		}
		return st.v
	}
	if st.n == 0 {
		return nullVal
	}
	switch c.fn {
	case "sum":
		return numVal(st.sum)
	case "avg":
		return numVal(st.sum / float64(st.n))
	case "min":
		return numVal(st.min)
	case "max":
		return numVal(st.max)
	case "stddev":
		if st.n < 2 {
			return numVal(0)
		}
		mean := st.sum / float64(st.n)
		v := (st.sq - float64(st.n)*mean*mean) / float64(st.n-1)
		return numVal(math.Sqrt(math.Max(v, 0)))
	case "pct":
		sort.Float64s(st.vals)
		return numVal(percentile(st.vals, c.param))
	}
	return nullVal
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// aggTableOp runs an aggregation over a table (a second aggregation).
type aggTableOp struct {
	o aggOp
	b *budget
}

func (t aggTableOp) run(ctx context.Context, rows []*tableRow) ([]*tableRow, error) {
	sh := t.o.newShard(t.b)
	for i, r := range rows {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := sh.add(r); err != nil {
			return nil, err
		}
	}
	out, err := t.o.result([]aggShard{sh})
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	return out, nil
}

// sortGroups orders groups by their keys as lessKeys does, parsing each
// key as a number once instead of at every comparison, and keeping the
// first key inline so comparisons do not chase pointers (a count by a
// high-cardinality field sorts hundreds of thousands of groups).
func sortGroups(all []*group, nby int) {
	if nby == 1 && sortTimeGroups(all) {
		return
	}
	type ent struct {
		first val
		x     float64
		num   bool
		g     *group
	}
	ents := make([]ent, len(all))
	for i, g := range all {
		e := ent{first: g.keys[0], g: g}
		if !e.first.isNull() && e.first.k != kTime {
			e.x, e.num = e.first.num()
		}
		ents[i] = e
	}
	slices.SortFunc(ents, func(a, b ent) int {
		var c int
		switch {
		case a.num && b.num:
			c = cmpFloat(a.x, b.x)
		case a.first.k == kStr && b.first.k == kStr:
			// Not both numbers: compareVals would compare the text.
			c = strings.Compare(a.first.s, b.first.s)
		default:
			c = cmpLess(a.first, b.first)
		}
		if c != 0 || nby == 1 {
			return c
		}
		for k := 1; k < nby; k++ {
			if c := cmpLess(a.g.keys[k], b.g.keys[k]); c != 0 {
				return c
			}
		}
		return 0
	})
	for i := range ents {
		all[i] = ents[i].g
	}
}

// sortTimeGroups is sortGroups for groups of one time key each (count by
// _timeslice): it sorts the times with the groups' positions, no pointer
// moved by the sort, and reports false, leaving all as it is, when a key
// is not a time.
func sortTimeGroups(all []*group) bool {
	type ent struct {
		t int64
		i int
	}
	ents := make([]ent, len(all))
	for i, g := range all {
		if g.keys[0].k != kTime {
			return false
		}
		ents[i] = ent{g.keys[0].t, i}
	}
	// The groups' keys differ: the times are distinct.
	slices.SortFunc(ents, func(a, b ent) int { return cmp.Compare(a.t, b.t) })
	sorted := make([]*group, len(all))
	for k, e := range ents {
		sorted[k] = all[e.i]
	}
	copy(all, sorted)
	return true
}

// cmpLess is lessKeys for one key as a three-way comparison: nulls last,
// incomparable values equal.
func cmpLess(a, b val) int {
	c, ok := compareVals(a, b)
	if !ok {
		if a.isNull() != b.isNull() {
			if b.isNull() {
				return -1
			}
			return 1
		}
		return 0
	}
	return c
}
