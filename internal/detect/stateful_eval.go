package detect

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// evalLocked runs one rule on one event and returns its firings.
func (s *Stateful) evalLocked(r *StatefulRule, st *ruleState, e *event.Event, matched []string) []Signal {
	switch r.Type {
	case TypeAbsence:
		return s.evalAbsence(r, st, e)
	case TypeChain, TypeTemporal, TypeTemporalOrdered:
		return s.evalChain(r, st, e, matched)
	}
	// Sigma event_count / value_count / value_* take the events of their
	// referenced rules; Mamori types take their filter.
	if len(r.Steps) > 0 {
		step := -1
		for i := range r.Steps {
			if s.stepMatches(r, i, e, matched) {
				step = i
				break
			}
		}
		if step < 0 {
			return nil
		}
		return s.evalKeyed(r, st, e, r.Steps[step].keyFields(r))
	}
	if r.filter != nil && !r.filter.Match(e) {
		return nil
	}
	return s.evalKeyed(r, st, e, r.GroupBy)
}

// stepMatches is r.Steps[i].matches, without running the step's filter
// when the rule index shows it cannot match (the rule being observed is
// s.cur.rule).
func (s *Stateful) stepMatches(r *StatefulRule, i int, e *event.Event, matched []string) bool {
	st := &r.Steps[i]
	if st.m != nil && s.cur.rule >= 0 && !s.ix.stepMay(s.cur.rule, i) {
		return slices.ContainsFunc(st.Rules, func(ref string) bool { return slices.Contains(matched, ref) })
	}
	return st.matches(e, matched)
}

func (st *Step) matches(e *event.Event, matched []string) bool {
	if st.m != nil && st.m.Match(e) {
		return true
	}
	for _, ref := range st.Rules {
		if slices.Contains(matched, ref) {
			return true
		}
	}
	return false
}

func (st *Step) keyFields(r *StatefulRule) []string {
	if len(st.GroupBy) > 0 {
		return st.GroupBy
	}
	return r.GroupBy
}

func (s *Stateful) evalKeyed(r *StatefulRule, st *ruleState, e *event.Event, fields []string) []Signal {
	k, ok := keyOf(e, fields)
	if !ok {
		return nil
	}
	if r.Type == TypeMatch {
		if !r.inHours(e.Time) {
			return nil
		}
		return []Signal{r.signal(s.evidenceOf(r, e), nil, "")}
	}
	ks := s.keyLocked(st, k, e.Time)
	// Counting rules carry the entities of the events they counted (a
	// fresh window starts a fresh list); first-seen and outlier signals
	// are about their own event only, so their evidence is built on firing.
	var ev evidence
	switch r.Type {
	case TypeFirstSeen, TypeOutlier:
		ks.Ents = nil
	default:
		if len(ks.Times) == 0 && len(ks.Vals) == 0 {
			ks.Ents = nil
		}
		if len(ks.Ents) < 16 { // else no entity would be added: the evidence waits for a firing
			ev = s.evidenceOf(r, e)
			ks.Ents = addEntities(ks.Ents, ev.Ents, 16)
		}
	}
	var detail string
	var fire bool
	switch r.Type {
	case TypeThreshold:
		fire, detail = s.threshold(r, ks, e)
	case TypeFirstSeen:
		fire, detail = s.firstSeen(r, st, ks, e)
	case TypeOutlier:
		fire, detail = s.outlier(r, ks, e)
	default: // aggregation and the Sigma count/value types
		fire, detail = s.aggregate(r, ks, e)
	}
	if !fire || !r.inHours(e.Time) {
		return nil
	}
	if ks.Quiet != 0 && e.Time < ks.Quiet && e.Time >= ks.Quiet-int64(r.Suppress) {
		return nil
	}
	if r.Suppress > 0 {
		ks.Quiet = e.Time + int64(r.Suppress)
	}
	if ev.Time == 0 {
		ev = s.evidenceOf(r, e)
	}
	sig := r.signal(ev, ks.Ents, detail)
	ks.Ents = nil
	return []Signal{sig}
}

// insertSorted keeps ts sorted when events arrive out of order.
func insertSorted(ts []int64, t int64) []int64 {
	i := sort.Search(len(ts), func(i int) bool { return ts[i] > t })
	ts = append(ts, 0)
	copy(ts[i+1:], ts[i:])
	ts[i] = t
	return ts
}

// countIn counts sorted times in [lo, hi].
func countIn(ts []int64, lo, hi int64) int {
	a := sort.Search(len(ts), func(i int) bool { return ts[i] >= lo })
	b := sort.Search(len(ts), func(i int) bool { return ts[i] > hi })
	return b - a
}

// threshold fires when a window around the event holds more than
// Threshold matches (or distinct values of Distinct). The windows ending
// and starting at the event are both checked, so a late event that
// completes a window still fires. The key's times are cleared on firing.
func (s *Stateful) threshold(r *StatefulRule, ks *keyState, e *event.Event) (bool, string) {
	w := int64(r.Window)
	if r.Distinct != "" {
		v, ok := getField(e, r.Distinct)
		if !ok {
			return false, ""
		}
		ks.Vals = append(ks.Vals, timedValue{T: e.Time, S: strings.ToLower(v)})
		ks.Vals = pruneVals(ks.Vals, e.Time-w, s.opts.MaxPerKey)
		n := distinctIn(ks.Vals, e.Time-w, e.Time+w)
		if float64(n) > r.Threshold {
			ks.Vals = nil
			return true, fmt.Sprintf("%d distinct %s in %s", n, r.Distinct, fmtSpan(w))
		}
		return false, ""
	}
	ks.Times = insertSorted(ks.Times, e.Time)
	cut := sort.Search(len(ks.Times), func(i int) bool { return ks.Times[i] >= e.Time-w })
	ks.Times = ks.Times[cut:]
	if len(ks.Times) > s.opts.MaxPerKey {
		ks.Times = ks.Times[len(ks.Times)-s.opts.MaxPerKey:]
	}
	n := max(countIn(ks.Times, e.Time-w, e.Time), countIn(ks.Times, e.Time, e.Time+w))
	if float64(n) > r.Threshold {
		ks.Times = nil
		return true, fmt.Sprintf("%d events in %s", n, fmtSpan(w))
	}
	return false, ""
}

func pruneVals(vs []timedValue, cut int64, maxN int) []timedValue {
	out := vs[:0]
	for _, v := range vs {
		if v.T >= cut {
			out = append(out, v)
		}
	}
	if len(out) > maxN {
		out = out[len(out)-maxN:]
	}
	return out
}

func distinctIn(vs []timedValue, lo, hi int64) int {
	seen := map[string]bool{}
	for _, v := range vs {
		if v.T >= lo && v.T <= hi {
			seen[v.S] = true
		}
	}
	return len(seen)
}

// fmtSpan renders a window as "90m", "2h" or "1d".
func fmtSpan(ns int64) string {
	d := durationOf(ns)
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// firstSeen fires on a value never seen for the key, once the rule has
// learned for Baseline since the first event it saw.
func (s *Stateful) firstSeen(r *StatefulRule, st *ruleState, ks *keyState, e *event.Event) (bool, string) {
	v, ok := r.valueKey(e)
	if !ok {
		return false, ""
	}
	history := ks.N
	ks.N++
	if ks.Seen == nil {
		ks.Seen = map[string]int64{}
	}
	if _, known := ks.Seen[v]; known {
		if e.Time < ks.Seen[v] {
			ks.Seen[v] = e.Time
		}
		return false, ""
	}
	learning := e.Time < st.Start+int64(r.Baseline)
	if !learning && r.near(ks.Seen, v) {
		return false, "" // close to a known value: not new, and not learned (the baseline does not creep)
	}
	maxVals := r.MaxValues
	if maxVals <= 0 {
		maxVals = 100_000
	}
	if len(ks.Seen) >= maxVals {
		s.evicted.Add(1)
		oldK, oldT := "", int64(math.MaxInt64)
		for k, t := range ks.Seen {
			if t < oldT {
				oldK, oldT = k, t
			}
		}
		delete(ks.Seen, oldK)
	}
	ks.Seen[v] = e.Time
	if learning || history < r.MinHistory {
		return false, "" // still learning, or too little history for this key
	}
	return true, "first seen: " + strings.ReplaceAll(v, "\x00", " ")
}

// valueKey is keyOf over the rule's value fields, with the virtual field
// _hour (the event's hour of day in the rule's timezone).
func (r *StatefulRule) valueKey(e *event.Event) (string, bool) {
	if len(r.Value) == 1 && r.Value[0] == "_hour" {
		return fmt.Sprintf("%02d", r.hourOf(e.Time)), true
	}
	return keyOf(e, r.Value)
}

// hourOf is the hour of day of ns in the rule's timezone.
func (r *StatefulRule) hourOf(ns int64) int {
	return int(((ns+r.tzOff)/int64(time.Hour))%24+24) % 24
}

// near reports whether a known value is within Tolerance of v (numbers
// only; _hour wraps around midnight).
func (r *StatefulRule) near(seen map[string]int64, v string) bool {
	if r.Tolerance <= 0 {
		return false
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return false
	}
	for k := range seen {
		y, err := strconv.ParseFloat(k, 64)
		if err != nil {
			continue
		}
		d := math.Abs(x - y)
		if r.Value[0] == "_hour" {
			d = min(d, 24-d)
		}
		if d <= r.Tolerance {
			return true
		}
	}
	return false
}

// outlier keeps per-bucket sums and fires when the running bucket passes
// mean + K·σ of the previous complete buckets (empty buckets count as 0).
func (s *Stateful) outlier(r *StatefulRule, ks *keyState, e *event.Event) (bool, string) {
	val := 1.0
	if r.Field != "" {
		v, ok := getField(e, r.Field)
		if !ok {
			return false, ""
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false, ""
		}
		val = f
	}
	bw := int64(r.Bucket)
	cur := e.Time - ((e.Time%bw)+bw)%bw
	if ks.Buckets == nil {
		ks.Buckets = map[int64]*bucket{}
	}
	b := ks.Buckets[cur]
	if b == nil {
		b = &bucket{}
		ks.Buckets[cur] = b
	}
	b.Sum += val
	b.Count++
	// History: the Buckets complete buckets before cur, since the key's first.
	first := cur
	for t := range ks.Buckets {
		first = min(first, t)
		if t < cur-int64(r.Buckets)*bw {
			delete(ks.Buckets, t)
		}
	}
	var xs []float64
	for t := max(first, cur-int64(r.Buckets)*bw); t < cur; t += bw {
		if hb := ks.Buckets[t]; hb != nil {
			xs = append(xs, hb.Sum)
		} else {
			xs = append(xs, 0)
		}
	}
	if len(xs) < r.MinBuckets || b.Count < r.MinCount || ks.Fired == cur {
		return false, ""
	}
	mean, sd := meanSD(xs)
	limit := mean + r.K*sd
	if b.Sum <= limit || b.Sum <= mean {
		return false, ""
	}
	ks.Fired = cur
	return true, fmt.Sprintf("%s %.6g in %s vs baseline %.6g±%.3g", orCount(r.Field), b.Sum, fmtSpan(bw), mean, sd)
}

func orCount(f string) string {
	if f == "" {
		return "count"
	}
	return "sum of " + f
}

func meanSD(xs []float64) (float64, float64) {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	var v float64
	for _, x := range xs {
		v += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(v / float64(len(xs)))
}

// aggregate computes the rule's aggregates over the window ending at the
// event and fires when the condition holds; values are cleared on firing.
func (s *Stateful) aggregate(r *StatefulRule, ks *keyState, e *event.Event) (bool, string) {
	tv := timedValue{T: e.Time}
	for _, a := range r.Aggregates {
		if a.Field == "" {
			continue
		}
		v, ok := getField(e, a.Field)
		if !ok {
			continue
		}
		tv.S = strings.ToLower(v)
		tv.N, _ = strconv.ParseFloat(v, 64) // a non-number counts as 0 in numeric aggregates
		break
	}
	w := int64(r.Window)
	ks.Vals = append(ks.Vals, tv)
	ks.Vals = pruneVals(ks.Vals, e.Time-w, s.opts.MaxPerKey)
	vals := map[string]float64{}
	var win []timedValue
	for _, v := range ks.Vals {
		if v.T <= e.Time {
			win = append(win, v)
		}
	}
	for _, a := range r.Aggregates {
		vals[a.As] = aggValue(a.Fn, win)
	}
	if !r.cond.eval(vals) {
		return false, ""
	}
	ks.Vals = nil
	var parts []string
	for _, a := range r.Aggregates {
		parts = append(parts, fmt.Sprintf("%s=%.6g", a.As, vals[a.As]))
	}
	return true, strings.Join(parts, " ") + " in " + fmtSpan(w)
}

func aggValue(fn string, vs []timedValue) float64 {
	fn = strings.ToLower(fn)
	if len(vs) == 0 {
		return 0
	}
	switch fn {
	case "count":
		return float64(len(vs))
	case "interval_avg", "interval_cv":
		return intervalStat(fn, vs)
	case "distinct", "count_distinct", "dcount":
		seen := map[string]bool{}
		for _, v := range vs {
			seen[v.S] = true
		}
		return float64(len(seen))
	}
	xs := make([]float64, len(vs))
	for i, v := range vs {
		xs[i] = v.N
	}
	switch fn {
	case "sum", "avg":
		var s float64
		for _, x := range xs {
			s += x
		}
		if fn == "avg" {
			return s / float64(len(xs))
		}
		return s
	case "min":
		return slices.Min(xs)
	case "max":
		return slices.Max(xs)
	}
	if strings.HasPrefix(fn, "p") {
		p, err := strconv.ParseFloat(fn[1:], 64)
		if err == nil {
			sort.Float64s(xs)
			i := int(math.Ceil(p/100*float64(len(xs)))) - 1
			return xs[max(0, min(i, len(xs)-1))]
		}
	}
	return 0
}

// intervalStat returns the mean gap between events (seconds) or the
// gaps' coefficient of variation (1 when there are fewer than 2 gaps).
func intervalStat(fn string, vs []timedValue) float64 {
	ts := make([]int64, len(vs))
	for i, v := range vs {
		ts[i] = v.T
	}
	slices.Sort(ts)
	if len(ts) < 3 {
		if fn == "interval_cv" {
			return 1
		}
		return 0
	}
	gaps := make([]float64, len(ts)-1)
	for i := range gaps {
		gaps[i] = float64(ts[i+1]-ts[i]) / 1e9
	}
	mean, sd := meanSD(gaps)
	if fn == "interval_avg" {
		return mean
	}
	if mean == 0 {
		return 1
	}
	return sd / mean
}

// evalChain records the steps an event satisfies and fires when every
// step has its minimum within the window (in order when Ordered).
func (s *Stateful) evalChain(r *StatefulRule, st *ruleState, e *event.Event, matched []string) []Signal {
	var out []Signal
	for i := range r.Steps {
		step := &r.Steps[i]
		if !s.stepMatches(r, i, e, matched) {
			continue
		}
		k, ok := keyOf(e, step.keyFields(r))
		if !ok {
			continue
		}
		ks := s.keyLocked(st, k, e.Time)
		if len(ks.Steps) != len(r.Steps) {
			ks.Steps = make([][]int64, len(r.Steps))
		}
		w := int64(r.Window)
		fresh := true
		for _, ts := range ks.Steps {
			if len(ts) > 0 && ts[len(ts)-1] >= e.Time-w {
				fresh = false
			}
		}
		if fresh {
			ks.Ents = nil // a new chain: forget the entities of expired steps
		}
		ks.Steps[i] = insertSorted(ks.Steps[i], e.Time)
		for j := range ks.Steps {
			cut := sort.Search(len(ks.Steps[j]), func(x int) bool { return ks.Steps[j][x] >= ks.Last-w-int64(s.opts.Lateness) })
			ks.Steps[j] = ks.Steps[j][cut:]
			if len(ks.Steps[j]) > 64 {
				ks.Steps[j] = ks.Steps[j][len(ks.Steps[j])-64:]
			}
		}
		var ev evidence
		haveEv := len(ks.Ents) < 24 // else no entity would be added: the evidence waits for completion
		if haveEv {
			ev = s.evidenceOf(r, e)
			ks.Ents = addEntities(ks.Ents, ev.Ents, 24)
		}
		if chainComplete(r, ks.Steps, w) && r.inHours(e.Time) {
			if !haveEv {
				ev = s.evidenceOf(r, e)
			}
			out = append(out, r.signal(ev, ks.Ents, fmt.Sprintf("%d steps within %s", len(r.Steps), fmtSpan(w))))
			ks.Steps, ks.Ents = nil, nil
		}
	}
	return out
}

func chainComplete(r *StatefulRule, steps [][]int64, w int64) bool {
	for i, ts := range steps {
		if len(ts) < r.Steps[i].Min {
			return false
		}
	}
	if r.Ordered {
		for _, start := range steps[0] {
			prev, ok := start, true
			if r.Steps[0].Min > 1 {
				idx := sort.Search(len(steps[0]), func(x int) bool { return steps[0][x] >= start })
				if idx+r.Steps[0].Min-1 >= len(steps[0]) {
					continue
				}
				prev = steps[0][idx+r.Steps[0].Min-1]
			}
			for j := 1; j < len(steps) && ok; j++ {
				// Strictly after: one event cannot be two steps.
				idx := sort.Search(len(steps[j]), func(x int) bool { return steps[j][x] > prev })
				idx += r.Steps[j].Min - 1
				if idx >= len(steps[j]) || steps[j][idx] > start+w {
					ok = false
					break
				}
				prev = steps[j][idx]
			}
			if ok && prev <= start+w {
				return true
			}
		}
		return false
	}
	// Any order: some window [a, a+w] anchored at a recorded time holds
	// every step's minimum.
	for _, anchorList := range steps {
		for _, a := range anchorList {
			all := true
			for j, ts := range steps {
				if countIn(ts, a, a+w) < r.Steps[j].Min {
					all = false
					break
				}
			}
			if all {
				return true
			}
		}
	}
	return false
}

// evalAbsence records expected events by join key and queues triggers;
// a trigger fires when no expected event matched by its deadline (the
// watermark past its time plus lateness, or plus the window when the
// expected event comes after).
func (s *Stateful) evalAbsence(r *StatefulRule, st *ruleState, e *event.Event) []Signal {
	var out []Signal
	w := int64(r.Window)
	if r.expect.Match(e) {
		if k, ok := keyOf(e, r.joinE); ok {
			ks := s.keyLocked(st, k, e.Time)
			ks.Times = insertSorted(ks.Times, e.Time)
			if len(ks.Times) > 16 {
				ks.Times = ks.Times[len(ks.Times)-16:]
			}
		}
	}
	if !r.trigger.Match(e) || !r.inHours(e.Time) {
		return out
	}
	ev := s.evidenceOf(r, e)
	k, ok := keyOf(e, r.joinT)
	if !ok {
		// No join value: nothing can ever match, fire now.
		return append(out, r.signal(ev, nil, "no "+strings.Join(r.joinT, ",")))
	}
	deadline := e.Time + int64(s.opts.Lateness)
	if r.After {
		deadline += w
	}
	if len(st.Pending) >= s.opts.MaxKeys {
		st.Pending = st.Pending[1:]
		s.evicted.Add(1)
	}
	st.Pending = append(st.Pending, pending{Key: k, Time: e.Time, Deadline: deadline, Ev: ev})
	if len(st.Pending) == 1 || deadline < st.next {
		st.next = deadline
	}
	return out
}

// flushPendingLocked resolves absence triggers whose deadline passed.
func (s *Stateful) flushPendingLocked(clock int64) []Signal {
	var out []Signal
	for _, i := range s.absence {
		r, st := s.rules[i], s.states[i]
		if len(st.Pending) == 0 || clock < st.next {
			continue // Fast path: no deadline passed yet
		}
		st.next = math.MaxInt64
		keep := st.Pending[:0]
		for _, p := range st.Pending {
			if p.Deadline > clock {
				keep = append(keep, p)
				st.next = min(st.next, p.Deadline)
				continue
			}
			w := int64(r.Window)
			lo, hi := p.Time-w, p.Time
			if r.After {
				lo, hi = p.Time, p.Time+w
			}
			if ks := st.Keys[p.Key]; ks != nil && countIn(ks.Times, lo, hi) > 0 {
				continue
			}
			out = append(out, r.signal(p.Ev, nil, "no matching "+strings.Join(r.joinE, ",")))
		}
		st.Pending = keep
	}
	return out
}

// condExpr is a boolean condition over named numbers:
// "total > 1e8 and n >= 3 or max < 5" (and binds tighter than or).
type condExpr struct {
	or [][]cmpTerm
}

type cmpTerm struct {
	name string
	op   string
	val  float64
}

func parseCond(s string) (*condExpr, error) {
	c := &condExpr{}
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("condition is required")
	}
	for _, alt := range splitWord(s, "or") {
		var and []cmpTerm
		for _, part := range splitWord(alt, "and") {
			f := strings.Fields(part)
			if len(f) != 3 {
				return nil, fmt.Errorf("condition %q: want NAME OP NUMBER, got %q", s, strings.TrimSpace(part))
			}
			switch f[1] {
			case ">", ">=", "<", "<=", "==", "=", "!=":
			default:
				return nil, fmt.Errorf("condition %q: unknown operator %q", s, f[1])
			}
			v, err := strconv.ParseFloat(f[2], 64)
			if err != nil {
				return nil, fmt.Errorf("condition %q: %q is not a number", s, f[2])
			}
			and = append(and, cmpTerm{name: f[0], op: f[1], val: v})
		}
		c.or = append(c.or, and)
	}
	return c, nil
}

func splitWord(s, word string) []string {
	var out []string
	f := strings.Fields(s)
	var cur []string
	for _, x := range f {
		if strings.EqualFold(x, word) {
			out = append(out, strings.Join(cur, " "))
			cur = nil
			continue
		}
		cur = append(cur, x)
	}
	return append(out, strings.Join(cur, " "))
}

func (c *condExpr) eval(vals map[string]float64) bool {
	if c == nil {
		return false
	}
	for _, and := range c.or {
		ok := true
		for _, t := range and {
			v := vals[t.name]
			switch t.op {
			case ">":
				ok = v > t.val
			case ">=":
				ok = v >= t.val
			case "<":
				ok = v < t.val
			case "<=":
				ok = v <= t.val
			case "==", "=":
				ok = v == t.val
			case "!=":
				ok = v != t.val
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func durationOf(ns int64) time.Duration { return time.Duration(ns) }
