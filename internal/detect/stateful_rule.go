package detect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/query"
)

// Stateful rule types. The first group is Mamori's own (Sumo Logic Cloud
// SIEM semantics), the second the Sigma v2.1 correlation types.
const (
	TypeMatch       = "match"
	TypeThreshold   = "threshold"
	TypeChain       = "chain"
	TypeAggregation = "aggregation"
	TypeFirstSeen   = "first_seen"
	TypeOutlier     = "outlier"
	TypeAbsence     = "absence"

	TypeEventCount      = "event_count"
	TypeValueCount      = "value_count"
	TypeTemporal        = "temporal"
	TypeTemporalOrdered = "temporal_ordered"
	TypeValueSum        = "value_sum"
	TypeValueAvg        = "value_avg"
	TypeValuePercentile = "value_percentile"
)

// StatefulRule is a rule evaluated with state over the event stream: a
// Mamori rule (a YAML document with a top-level "mamori: v1" key) or a
// Sigma correlation rule (a top-level "correlation:" key).
type StatefulRule struct {
	Mamori      string   `yaml:"mamori"`
	ID          string   `yaml:"id"`
	Name        string   `yaml:"name"`
	Title       string   `yaml:"title"`
	Description string   `yaml:"description"`
	Level       string   `yaml:"level"`
	Tags        []string `yaml:"tags"`
	Type        string   `yaml:"type"`
	// Filter is a search expression of the query language (query.Parse)
	// that selects the events the rule looks at ("" = every event).
	Filter string `yaml:"filter"`
	// GroupBy names the fields whose values form the entity key.
	GroupBy []string `yaml:"group_by"`
	// Window is the time span of threshold, chain, aggregation and
	// absence rules (default 1h).
	Window Duration `yaml:"window"`
	// Threshold: fire when the count (or the distinct count of Distinct)
	// in the window is greater than Threshold.
	Threshold float64 `yaml:"threshold"`
	Distinct  string  `yaml:"distinct"`
	// Chain: the steps, on the same key within Window; Ordered requires
	// them in order of event time.
	Steps   []Step `yaml:"steps"`
	Ordered bool   `yaml:"ordered"`
	// FirstSeen: the fields whose combined value is new for the key after
	// Baseline (learning time counted from the first event the rule saw).
	// The virtual field _hour is the event's hour of day (00-23, in
	// Timezone), for "at an hour this account never used".
	Value    []string `yaml:"value"`
	Baseline Duration `yaml:"baseline"`
	// MinHistory: a new value fires only when the key already had this
	// many events (an established baseline: a new account never fires).
	MinHistory int `yaml:"min_history"`
	// Tolerance: a single numeric value within Tolerance of a known one is
	// not new (_hour wraps around midnight: 23 is within 1 of 00).
	Tolerance float64 `yaml:"tolerance"`
	// Aggregation: aggregates per key over Window and a boolean condition
	// on them ("total > 1000 and n >= 3").
	Aggregates []Aggregate `yaml:"aggregates"`
	Condition  string      `yaml:"condition"`
	// Outlier: per-key buckets of Bucket length (default 1h) of the sum of
	// Field (count when empty); fire when the running bucket exceeds the
	// mean of the last Buckets complete buckets by K standard deviations,
	// with at least MinCount events in it and MinBuckets of history.
	Field      string   `yaml:"field"`
	Bucket     Duration `yaml:"bucket"`
	Buckets    int      `yaml:"buckets"`
	K          float64  `yaml:"k"`
	MinCount   int      `yaml:"min_count"`
	MinBuckets int      `yaml:"min_buckets"`
	// Absence: a Trigger event without an Expect event whose Join fields
	// match ("trigger_field=expect_field") within Window before it (or
	// after it when After is set). An empty join value never matches.
	Trigger string   `yaml:"trigger"`
	Expect  string   `yaml:"expect"`
	Join    []string `yaml:"join"`
	After   bool     `yaml:"after"`
	// Entities adds typed entities from fields to the signals
	// ({"dest_address": "address", "source.domain": "host"}).
	Entities map[string]string `yaml:"entities"`
	// SkipEntities drops entity types of the event itself (e.g. "host"
	// for a firewall, whose host name links unrelated traffic).
	SkipEntities []string `yaml:"skip_entities"`
	// Suppress keeps a key quiet this long after it fired.
	Suppress Duration `yaml:"suppress"`
	// MaxValues bounds the first-seen values per key (default 100,000).
	MaxValues int `yaml:"max_values"`
	// Hours limits firing to event times whose hour (in Timezone, an
	// offset like "+09:00", default UTC) is in the range "22-06".
	Hours    string `yaml:"hours"`
	Timezone string `yaml:"timezone"`

	// Correlation is the Sigma correlation section.
	Correlation *SigmaCorrelation `yaml:"correlation"`

	Path string `yaml:"-"`

	filter  *query.Matcher
	trigger *query.Matcher
	expect  *query.Matcher
	cond    *condExpr
	joinT   []string
	joinE   []string
	hourLo  int
	hourHi  int
	tzOff   int64
	silence []string // base rules a Sigma correlation keeps quiet
	// entityFields are the keys of Entities, sorted (map order is random).
	entityFields []string
	tactics      []string // TacticsOf(Tags)
}

// Step is one element of a chain: events matching Filter, or events on
// which one of Rules (Sigma rule ids or names, or stateful rule ids)
// matched, at least Min times (default 1). GroupBy overrides the rule's
// key fields for this step (Sigma aliases).
type Step struct {
	Filter  string   `yaml:"filter"`
	Rules   []string `yaml:"rules"`
	GroupBy []string `yaml:"group_by"`
	Min     int      `yaml:"min"`

	m *query.Matcher
}

// Aggregate is one aggregate of an aggregation rule: Fn is count, sum,
// avg, min, max, distinct or pNN (a percentile, e.g. p95) of Field, or
// interval_avg / interval_cv (mean gap between events in seconds, and
// its coefficient of variation: low for periodic beacons), named As.
type Aggregate struct {
	Fn    string `yaml:"fn"`
	Field string `yaml:"field"`
	As    string `yaml:"as"`
}

// SigmaCorrelation is the correlation section of a Sigma rule (v2.1).
type SigmaCorrelation struct {
	Type      string                       `yaml:"type"`
	Rules     []string                     `yaml:"rules"`
	GroupBy   []string                     `yaml:"group-by"`
	Timespan  string                       `yaml:"timespan"`
	Condition map[string]any               `yaml:"condition"`
	Aliases   map[string]map[string]string `yaml:"aliases"`
	Generate  bool                         `yaml:"generate"`
}

// Duration is a time.Duration written as "15m", "2h" or "7d".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseSpan(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// parseSpan parses Go durations plus a "d" (day) and "w" (week) unit.
func parseSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n := len(s); n > 1 && (s[n-1] == 'd' || s[n-1] == 'w') {
		v, err := strconv.ParseFloat(s[:n-1], 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		unit := 24 * time.Hour
		if s[n-1] == 'w' {
			unit *= 7
		}
		return time.Duration(v * float64(unit)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return d, nil
}

// IsStatefulRule reports whether a YAML document is a Mamori rule or a
// Sigma correlation (a cheap byte check before decoding).
func IsStatefulRule(data []byte) bool {
	return bytes.Contains(data, []byte("mamori:")) || bytes.Contains(data, []byte("correlation:"))
}

// ParseStatefulRules parses the Mamori rules and Sigma correlations of a
// YAML stream (other documents, such as plain Sigma rules, are skipped).
// Every problem is reported, joined.
func ParseStatefulRules(data []byte, path string) ([]*StatefulRule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*StatefulRule
	var errs []error
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: document %d: %w", path, i+1, err))
			break
		}
		var r StatefulRule
		if err := n.Decode(&r); err != nil {
			errs = append(errs, fmt.Errorf("%s: document %d: %w", path, i+1, err))
			continue
		}
		if r.Mamori == "" && r.Correlation == nil {
			continue
		}
		r.Path = path
		if err := r.compile(); err != nil {
			errs = append(errs, fmt.Errorf("%s: rule %q: %w", path, r.ID, err))
			continue
		}
		out = append(out, &r)
	}
	return out, errors.Join(errs...)
}

// LoadStatefulDir reads every .yml/.yaml file under the folders and
// returns their stateful rules, the paths of the files that hold only
// Mamori rules (so the Sigma loader's complaints about them can be
// dropped), and the problems found.
func LoadStatefulDir(dirs ...string) ([]*StatefulRule, map[string]bool, []error) {
	var rules []*StatefulRule
	var errs []error
	own := map[string]bool{}
	for _, root := range dirs {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if ext := strings.ToLower(filepath.Ext(p)); ext != ".yml" && ext != ".yaml" {
				return nil
			}
			data, err := os.ReadFile(p) // #nosec G122 G304 -- rule folders are the operator's configuration; a file swapped during the walk is read as whatever it is then, and parsed as untrusted YAML
			if err != nil {
				return err
			}
			if !IsStatefulRule(data) {
				return nil
			}
			rs, err := ParseStatefulRules(data, p)
			if err != nil {
				errs = append(errs, err)
			}
			for _, r := range rs {
				if r.Mamori != "" {
					own[p] = true
				}
			}
			rules = append(rules, rs...)
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("load stateful rules %s: %w", root, err))
		}
	}
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	return rules, own, errs
}

func compileFilter(s string) (*query.Matcher, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	q, err := query.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", s, err)
	}
	m, err := q.Matcher()
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", s, err)
	}
	return m, nil
}

// compile validates the rule and prepares its matchers.
func (r *StatefulRule) compile() error {
	if r.Correlation != nil {
		if err := r.fromSigma(); err != nil {
			return err
		}
	}
	var errs []error
	if r.ID == "" {
		errs = append(errs, errors.New("id is required"))
	}
	if r.Title == "" {
		r.Title = r.ID
	}
	if r.Level == "" {
		r.Level = "medium"
	}
	if r.Window <= 0 {
		r.Window = Duration(time.Hour)
	}
	var err error
	if r.filter, err = compileFilter(r.Filter); err != nil {
		errs = append(errs, err)
	}
	switch r.Type {
	case TypeMatch, TypeThreshold:
	case TypeChain, TypeTemporal, TypeTemporalOrdered:
		if len(r.Steps) < 1 {
			errs = append(errs, errors.New("chain needs steps"))
		}
	case TypeAggregation, TypeEventCount, TypeValueCount, TypeValueSum, TypeValueAvg, TypeValuePercentile:
		if len(r.Aggregates) == 0 {
			errs = append(errs, errors.New("aggregation needs aggregates"))
		}
		if r.cond, err = parseCond(r.Condition); err != nil {
			errs = append(errs, err)
		}
	case TypeFirstSeen:
		if len(r.Value) == 0 {
			errs = append(errs, errors.New("first_seen needs value fields"))
		}
		if r.MinHistory < 0 || r.Tolerance < 0 {
			errs = append(errs, errors.New("min_history and tolerance must not be negative"))
		}
		if r.Tolerance > 0 && len(r.Value) != 1 {
			errs = append(errs, errors.New("tolerance needs exactly one (numeric) value field"))
		}
	case TypeOutlier:
		if r.Bucket <= 0 {
			r.Bucket = Duration(time.Hour)
		}
		if r.Buckets <= 0 {
			r.Buckets = 24
		}
		if r.K <= 0 {
			r.K = 3
		}
		if r.MinBuckets <= 0 {
			r.MinBuckets = 3
		}
	case TypeAbsence:
		if r.trigger, err = compileFilter(r.Trigger); err != nil || r.trigger == nil {
			errs = append(errs, fmt.Errorf("absence needs a trigger: %v", err))
		}
		if r.expect, err = compileFilter(r.Expect); err != nil || r.expect == nil {
			errs = append(errs, fmt.Errorf("absence needs an expect filter: %v", err))
		}
		for _, j := range r.Join {
			a, b, ok := strings.Cut(j, "=")
			if !ok {
				b = a
			}
			r.joinT, r.joinE = append(r.joinT, strings.TrimSpace(a)), append(r.joinE, strings.TrimSpace(b))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown type %q", r.Type))
	}
	for i := range r.Steps {
		if r.Steps[i].m, err = compileFilter(r.Steps[i].Filter); err != nil {
			errs = append(errs, fmt.Errorf("step %d: %w", i+1, err))
		}
		if r.Steps[i].m == nil && len(r.Steps[i].Rules) == 0 {
			errs = append(errs, fmt.Errorf("step %d: needs a filter or rules", i+1))
		}
		if r.Steps[i].Min <= 0 {
			r.Steps[i].Min = 1
		}
	}
	for _, a := range r.Aggregates {
		if a.As == "" {
			errs = append(errs, fmt.Errorf("aggregate %s(%s) needs a name (as)", a.Fn, a.Field))
		}
	}
	r.tactics = TacticsOf(r.Tags)
	r.entityFields = slices.Sorted(maps.Keys(r.Entities))
	if err := r.parseHours(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (r *StatefulRule) parseHours() error {
	r.hourLo, r.hourHi = -1, -1
	if r.Timezone != "" {
		t, err := time.Parse("-07:00", r.Timezone)
		if err != nil {
			return fmt.Errorf("timezone %q: want an offset like +09:00", r.Timezone)
		}
		_, off := t.Zone()
		r.tzOff = int64(off) * int64(time.Second)
	}
	if r.Hours == "" {
		return nil
	}
	a, b, ok := strings.Cut(r.Hours, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || lo < 0 || lo > 23 || hi < 0 || hi > 24 {
		return fmt.Errorf("hours %q: want a range like 22-06", r.Hours)
	}
	r.hourLo, r.hourHi = lo, hi
	return nil
}

// inHours reports whether an event time is inside the rule's hours.
func (r *StatefulRule) inHours(ns int64) bool {
	if r.hourLo < 0 {
		return true
	}
	h := r.hourOf(ns)
	if r.hourLo <= r.hourHi {
		return h >= r.hourLo && h < r.hourHi
	}
	return h >= r.hourLo || h < r.hourHi
}

// fromSigma maps a Sigma correlation onto the evaluator's fields.
func (r *StatefulRule) fromSigma() error {
	c := r.Correlation
	if r.ID == "" {
		r.ID = r.Name
	}
	r.Type = c.Type
	r.GroupBy = c.GroupBy
	span, err := parseSpan(c.Timespan)
	if err != nil {
		return err
	}
	r.Window = Duration(span)
	if len(c.Rules) == 0 {
		return errors.New("correlation needs rules")
	}
	// Each referenced rule is a step; aliases give its own key fields.
	stepFor := func(ref string) Step {
		st := Step{Rules: []string{ref}}
		if len(c.Aliases) > 0 {
			for _, g := range c.GroupBy {
				if m, ok := c.Aliases[g]; ok && m[ref] != "" {
					st.GroupBy = append(st.GroupBy, m[ref])
				} else {
					st.GroupBy = append(st.GroupBy, g)
				}
			}
		}
		return st
	}
	for _, ref := range c.Rules {
		r.Steps = append(r.Steps, stepFor(ref))
		if !c.Generate {
			r.silence = append(r.silence, ref)
		}
	}
	op, val, field := "gte", 1.0, ""
	for k, v := range c.Condition {
		switch k {
		case "field":
			field = fmt.Sprint(v)
		case "percentile":
			// read below
		case "gt", "gte", "lt", "lte", "eq", "neq":
			op = k
			f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
			if err != nil {
				return fmt.Errorf("condition %s: %w", k, err)
			}
			val = f
		default:
			return fmt.Errorf("condition: unknown key %q", k)
		}
	}
	sym := map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "neq": "!="}[op]
	switch c.Type {
	case TypeEventCount:
		r.Aggregates, r.Condition = []Aggregate{{Fn: "count", As: "n"}}, fmt.Sprintf("n %s %g", sym, val)
	case TypeValueCount:
		r.Aggregates, r.Condition = []Aggregate{{Fn: "distinct", Field: field, As: "n"}}, fmt.Sprintf("n %s %g", sym, val)
	case TypeValueSum:
		r.Aggregates, r.Condition = []Aggregate{{Fn: "sum", Field: field, As: "v"}}, fmt.Sprintf("v %s %g", sym, val)
	case TypeValueAvg:
		r.Aggregates, r.Condition = []Aggregate{{Fn: "avg", Field: field, As: "v"}}, fmt.Sprintf("v %s %g", sym, val)
	case TypeValuePercentile:
		p := 95.0
		if pv, ok := c.Condition["percentile"]; ok {
			f, err := strconv.ParseFloat(fmt.Sprint(pv), 64)
			if err != nil || f <= 0 || f > 100 {
				return fmt.Errorf("condition percentile %v: want 1..100", pv)
			}
			p = f
		}
		r.Aggregates, r.Condition = []Aggregate{{Fn: fmt.Sprintf("p%g", p), Field: field, As: "v"}}, fmt.Sprintf("v %s %g", sym, val)
	case TypeTemporal, TypeTemporalOrdered:
		r.Ordered = c.Type == TypeTemporalOrdered
		return nil
	default:
		return fmt.Errorf("unknown correlation type %q", c.Type)
	}
	return nil
}

// Silenced returns the Sigma rules (ids or names) whose own matches must
// not raise signals: the bases of correlations without "generate: true".
func Silenced(rules []*StatefulRule) map[string]bool {
	out := map[string]bool{}
	for _, r := range rules {
		for _, s := range r.silence {
			out[s] = true
		}
	}
	return out
}
