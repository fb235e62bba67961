package sigma

import (
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Pipeline is the data that adapts rules to events, modelled on pySigma
// processing pipelines: which events a rule's log source applies to, and how
// the event's field names map to Sigma field names.
type Pipeline struct {
	Name string `yaml:"name"`
	// Prefixes are stripped from event field names before they are compared
	// with Sigma field names (Event.EventData.Image matches Image). A prefix
	// ending in "*." also strips one more path segment (Event.UserData.*.).
	Prefixes []string `yaml:"prefixes"`
	// Fields maps whole event field names (ECS, Winlogbeat, evtx_dump
	// attributes) to Sigma field names. Matching is case-insensitive and
	// ignores spaces.
	Fields map[string]string `yaml:"fields"`
	// Sources routes log sources to events.
	Sources []Source `yaml:"sources"`
	// Placeholders are the named value lists for the expand modifier.
	Placeholders map[string][]string `yaml:"placeholders"`
	// Unknown lists the alternatives for a product, service or category
	// (without a product) that no source names: an event belongs to it
	// when it matches any of them, with "{name}" replaced by the name. So
	// a rule for an unknown product runs only on events that say they
	// come from it, never on every event. Empty: no constraint.
	Unknown []When `yaml:"unknown"`
}

// Source says which events a log source applies to. It applies to a rule
// when each of its non-empty Product, Category and Service equals the
// rule's. Every source that applies constrains the rule (their When lists
// are combined with AND); a source without When does not constrain.
type Source struct {
	Product  string `yaml:"product"`
	Category string `yaml:"category"`
	Service  string `yaml:"service"`
	// When lists alternatives; an event belongs to the source when it
	// matches any of them.
	When []When `yaml:"when"`
}

// When is one alternative of a Source.
type When struct {
	// Match is a Sigma selection (field|modifiers: values) the event must
	// match; in Sigma field names.
	Match yaml.Node `yaml:"match"`
	// Rename maps rule field names to the names events of this
	// alternative use (Image → NewProcessName for Security 4688).
	Rename map[string]string `yaml:"rename"`
}

//go:embed pipelines/default.yml
var defaultPipelineYAML []byte

// DefaultPipeline returns the built-in pipeline: Windows (Sysmon, Security,
// PowerShell and the other event log channels) in evtx_dump JSON,
// Winlogbeat and ECS shapes, plus unconstrained Linux, network, web and
// cloud sources. The value is shared: callers must not modify it.
var DefaultPipeline = sync.OnceValue(func() *Pipeline {
	p, err := ParsePipeline(defaultPipelineYAML)
	if err != nil {
		panic("BUG: built-in pipeline: " + err.Error())
	}
	return p
})

// ParsePipeline parses a pipeline from YAML.
func ParsePipeline(data []byte) (*Pipeline, error) {
	var p Pipeline
	if err := yaml.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("parse pipeline: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate reports every problem of the pipeline at once.
func (p *Pipeline) Validate() error {
	var errs []error
	for i, s := range p.Sources {
		if s.Product == "" && s.Category == "" && s.Service == "" {
			errs = append(errs, fmt.Errorf("pipeline source %d: no product, category or service", i))
		}
		for j, w := range s.When {
			if w.Match.Kind != 0 && w.Match.Kind != yaml.MappingNode {
				errs = append(errs, fmt.Errorf("pipeline source %s when %d: match is not a mapping", s.key(), j))
			}
		}
	}
	for j, w := range p.Unknown {
		if w.Match.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("pipeline unknown %d: match is not a mapping", j))
		}
	}
	return errors.Join(errs...)
}

func (s *Source) key() string { return s.Product + "/" + s.Category + "/" + s.Service }

func (s *Source) applies(ls LogSource) bool {
	eq := func(want, got string) bool { return want == "" || strings.EqualFold(want, got) }
	return eq(s.Product, ls.Product) && eq(s.Category, ls.Category) && eq(s.Service, ls.Service)
}

// routeAlt is one combined alternative of a rule's log source.
type routeAlt struct {
	items  []*Item
	rename map[string]string
}

func (a routeAlt) key() string {
	parts := make([]string, 0, len(a.items)+len(a.rename))
	for _, it := range a.items {
		vals := make([]string, len(it.Values))
		for i, v := range it.Values {
			vals[i] = v.S
			if v.Null {
				vals[i] = "\x00null"
			}
		}
		parts = append(parts, it.Field+"|"+strings.Join(it.Modifiers, "|")+"="+strings.Join(vals, "\x1f"))
	}
	sort.Strings(parts)
	rn := make([]string, 0, len(a.rename))
	for k, v := range a.rename {
		rn = append(rn, k+">"+v)
	}
	sort.Strings(rn)
	return strings.Join(parts, "\x1e") + "\x1d" + strings.Join(rn, "\x1e")
}

// known reports which of the log source's product, service and category
// some source names (a category counts with its product or without one).
func (p *Pipeline) known(ls LogSource) (product, service, category bool) {
	for i := range p.Sources {
		s := &p.Sources[i]
		eqp := s.Product == "" || strings.EqualFold(s.Product, ls.Product)
		product = product || (s.Product != "" && eqp)
		service = service || (s.Service != "" && eqp && strings.EqualFold(s.Service, ls.Service))
		category = category || (s.Category != "" && eqp && strings.EqualFold(s.Category, ls.Category))
	}
	return product, service, category
}

// sourcesFor returns the sources that constrain a log source: the ones that
// apply, then an Unknown source for each unknown name.
func (p *Pipeline) sourcesFor(ls LogSource) []Source {
	var out []Source
	for i := range p.Sources {
		if s := &p.Sources[i]; s.applies(ls) && len(s.When) > 0 {
			out = append(out, *s)
		}
	}
	if len(p.Unknown) == 0 {
		return out
	}
	kp, ks, kc := p.known(ls)
	unknown := func(name string) {
		s := Source{Product: ls.Product, Service: ls.Service, Category: ls.Category}
		for _, w := range p.Unknown {
			s.When = append(s.When, When{Match: *substName(&w.Match, name), Rename: w.Rename})
		}
		out = append(out, s)
	}
	if ls.Product != "" && !kp {
		unknown(ls.Product)
	}
	if ls.Service != "" && !ks {
		unknown(ls.Service)
	}
	if ls.Category != "" && ls.Product == "" && !kc {
		unknown(ls.Category)
	}
	return out
}

// substName copies a YAML tree with "{name}" in scalars replaced by name.
func substName(n *yaml.Node, name string) *yaml.Node {
	c := *n
	if c.Kind == yaml.ScalarNode {
		c.Value = strings.ReplaceAll(c.Value, "{name}", name)
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = substName(x, name)
	}
	return &c
}

// route resolves a log source to its alternatives. One alternative with no
// items means every event.
func (p *Pipeline) route(ls LogSource) ([]routeAlt, error) {
	alts := []routeAlt{{}}
	srcs := p.sourcesFor(ls)
	for i := range srcs {
		s := &srcs[i]
		var next []routeAlt
		for _, a := range alts {
			for _, w := range s.When {
				var errs ErrorList
				items := parseMap(&w.Match, &errs)
				if len(errs) > 0 {
					return nil, fmt.Errorf("pipeline source %s: %w", s.key(), errs.Err())
				}
				n := routeAlt{items: append(append([]*Item(nil), a.items...), items...)}
				if len(a.rename)+len(w.Rename) > 0 {
					n.rename = map[string]string{}
					for k, v := range a.rename {
						n.rename[k] = v
					}
					for k, v := range w.Rename {
						n.rename[k] = v
					}
				}
				next = append(next, n)
			}
		}
		alts = next
	}
	return alts, nil
}
