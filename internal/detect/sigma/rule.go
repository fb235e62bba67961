package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rule is one Sigma rule as written, before compilation. Filters (meta-rules
// that exclude events from other rules) are Rules with a non-nil Filter.
type Rule struct {
	ID          string
	Name        string // v2 "name", a stable human-readable identifier
	Title       string
	Status      string
	Level       string
	Description string
	Author      string
	Date        string
	Modified    string
	Tags        []string
	References  []string
	LogSource   LogSource
	Detection   Detection
	// Filter is set for a filter meta-rule (top-level "filter:" key): its
	// detection excludes events from the listed rules.
	Filter *Filter
	// Correlation is set for a correlation rule ("correlation:" key); the
	// offline engine does not evaluate these (see docs/sigma.md).
	Correlation bool
	Path        string // file the rule came from, if any
	Line        int    // line of the document start
}

// LogSource is the rule's logsource section.
type LogSource struct {
	Product    string
	Category   string
	Service    string
	Definition string
}

// String renders the log source as product/category/service.
func (ls LogSource) String() string {
	return ls.Product + "/" + ls.Category + "/" + ls.Service
}

// Filter is the "filter:" section of a Sigma filter meta-rule.
type Filter struct {
	Rules []string // rule IDs or names the filter applies to
}

// Detection holds the named searches and the condition(s).
type Detection struct {
	Searches   map[string]*Search
	Order      []string // search identifiers in file order
	Conditions []string // the condition text(s); several are ORed
	CondLine   int
	CondCol    int
}

// Search is one named search: an OR of alternatives, each an AND of items.
// A plain map is one alternative; a list of maps gives several; a list of
// scalars is a keyword item (Field "").
type Search struct {
	Name string
	Alts [][]*Item
}

// Item is one "field|modifiers: value(s)" entry, or a keyword list.
type Item struct {
	Field     string
	Modifiers []string
	Values    []Value
	Line, Col int
}

// Value is one scalar of a detection item.
type Value struct {
	S      string
	Null   bool
	Number bool // the YAML scalar was an int or float
	Bool   bool // the YAML scalar was a boolean
	Line   int
	Col    int
}

// Error is a problem in rule text with its position (1-based line and column;
// 0 when unknown).
type Error struct {
	Path string
	Line int
	Col  int
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", e.Line, e.Col)
	} else if e.Path != "" {
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in one text, in order of position.
type ErrorList []*Error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0].Error(), len(l)-1)
}

// Err returns nil for an empty list, else the list sorted by position.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Line != l[j].Line {
			return l[i].Line < l[j].Line
		}
		return l[i].Col < l[j].Col
	})
	return l
}

func (l *ErrorList) add(n *yaml.Node, format string, args ...any) {
	e := &Error{Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	*l = append(*l, e)
}

// ParseRule parses the Sigma YAML text of one file. A file may hold several
// YAML documents: standalone rules, or the v1 "action: global/reset/repeat"
// collections, which are merged as the Sigma specification describes. Every
// problem is reported with its position in an ErrorList; rules that parsed
// are returned even when others in the same file did not.
func ParseRule(data []byte) ([]*Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var (
		rules  []*Rule
		errs   ErrorList
		global *yaml.Node
		prev   *yaml.Node
	)
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, yamlError(err))
			break
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			if root.Kind == yaml.ScalarNode && root.Value == "" {
				continue
			}
			errs.add(root, "document is not a mapping")
			continue
		}
		switch action := scalarOf(root, "action"); action {
		case "global":
			global = root
			continue
		case "reset":
			global = nil
			continue
		case "repeat":
			if prev == nil {
				errs.add(root, "action: repeat without a previous rule")
				continue
			}
			root = mergeNodes(prev, root)
		case "":
			if global != nil {
				root = mergeNodes(global, root)
			}
		default:
			errs.add(root, "unknown action %q", action)
			continue
		}
		prev = root
		r, rerrs := ruleFromNode(root)
		errs = append(errs, rerrs...)
		if r != nil {
			rules = append(rules, r)
		}
	}
	return rules, errs.Err()
}

func yamlError(err error) *Error {
	// yaml.v3 reports "yaml: line N: msg".
	msg := err.Error()
	var line int
	if _, scanErr := fmt.Sscanf(msg, "yaml: line %d:", &line); scanErr == nil {
		if i := strings.Index(msg, ": "); i >= 0 {
			if j := strings.Index(msg[i+2:], ": "); j >= 0 {
				msg = msg[i+2+j+2:]
			}
		}
	}
	return &Error{Line: line, Msg: "yaml: " + msg}
}

// mergeNodes deep-merges two mapping nodes; src wins for scalars.
func mergeNodes(base, src *yaml.Node) *yaml.Node {
	if base.Kind != yaml.MappingNode || src.Kind != yaml.MappingNode {
		return src
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: src.Line, Column: src.Column}
	idx := map[string]int{}
	for i := 0; i+1 < len(base.Content); i += 2 {
		if base.Content[i].Value == "action" {
			continue
		}
		idx[base.Content[i].Value] = len(out.Content)
		out.Content = append(out.Content, base.Content[i], base.Content[i+1])
	}
	for i := 0; i+1 < len(src.Content); i += 2 {
		k := src.Content[i].Value
		if k == "action" {
			continue
		}
		if j, ok := idx[k]; ok {
			out.Content[j+1] = mergeNodes(out.Content[j+1], src.Content[i+1])
			continue
		}
		out.Content = append(out.Content, src.Content[i], src.Content[i+1])
	}
	return out
}

func scalarOf(m *yaml.Node, key string) string {
	if v := lookup(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func stringList(n *yaml.Node, errs *ErrorList, what string) []string {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				errs.add(c, "%s: want a string", what)
				continue
			}
			out = append(out, c.Value)
		}
		return out
	}
	errs.add(n, "%s: want a string or a list of strings", what)
	return nil
}

func ruleFromNode(root *yaml.Node) (*Rule, ErrorList) {
	var errs ErrorList
	r := &Rule{Line: root.Line}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "id":
			r.ID = v.Value
		case "name":
			r.Name = v.Value
		case "title":
			r.Title = v.Value
		case "status":
			r.Status = v.Value
		case "level":
			r.Level = v.Value
		case "description":
			r.Description = v.Value
		case "author":
			r.Author = v.Value
		case "date":
			r.Date = v.Value
		case "modified":
			r.Modified = v.Value
		case "tags":
			r.Tags = stringList(v, &errs, "tags")
		case "references":
			r.References = stringList(v, &errs, "references")
		case "logsource":
			if v.Kind != yaml.MappingNode {
				errs.add(v, "logsource: want a mapping")
				continue
			}
			r.LogSource = LogSource{
				Product:    scalarOf(v, "product"),
				Category:   scalarOf(v, "category"),
				Service:    scalarOf(v, "service"),
				Definition: scalarOf(v, "definition"),
			}
		case "detection":
			if v.Kind != yaml.MappingNode {
				errs.add(v, "detection: want a mapping")
				return nil, errs
			}
			parseDetection(v, &r.Detection, &errs)
		case "filter":
			r.Filter = parseFilter(v, &r.Detection, &errs)
		case "correlation":
			r.Correlation = true
		}
	}
	if r.Title == "" {
		errs.add(root, "rule has no title")
	}
	if !r.Correlation && r.Detection.Searches == nil {
		errs.add(root, "rule has no detection")
		return nil, errs
	}
	return r, errs
}

func parseFilter(v *yaml.Node, d *Detection, errs *ErrorList) *Filter {
	if v.Kind != yaml.MappingNode {
		errs.add(v, "filter: want a mapping")
		return &Filter{}
	}
	f := &Filter{Rules: stringList(lookup(v, "rules"), errs, "filter rules")}
	// The v2 filter format keeps the searches and condition inside filter:.
	parseDetection(v, d, errs)
	return f
}

func parseDetection(v *yaml.Node, d *Detection, errs *ErrorList) {
	if v.Kind != yaml.MappingNode {
		errs.add(v, "detection: want a mapping")
		return
	}
	if d.Searches == nil {
		d.Searches = map[string]*Search{}
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		switch k.Value {
		case "condition":
			d.CondLine, d.CondCol = val.Line, val.Column
			d.Conditions = stringList(val, errs, "condition")
		case "timeframe", "rules":
			// timeframe belongs to aggregations and correlations; rules to filters.
		default:
			s := parseSearch(k.Value, val, errs)
			if s != nil {
				if _, dup := d.Searches[k.Value]; !dup {
					d.Order = append(d.Order, k.Value)
				}
				d.Searches[k.Value] = s
			}
		}
	}
}

func parseSearch(name string, v *yaml.Node, errs *ErrorList) *Search {
	s := &Search{Name: name}
	switch v.Kind {
	case yaml.MappingNode:
		s.Alts = append(s.Alts, parseMap(v, errs))
	case yaml.SequenceNode:
		var kw *Item
		for _, c := range v.Content {
			switch c.Kind {
			case yaml.MappingNode:
				s.Alts = append(s.Alts, parseMap(c, errs))
			case yaml.ScalarNode:
				if kw == nil {
					kw = &Item{Line: c.Line, Col: c.Column}
					s.Alts = append(s.Alts, []*Item{kw})
				}
				kw.Values = append(kw.Values, scalarValue(c))
			default:
				errs.add(c, "search %s: want a map or a value", name)
			}
		}
	case yaml.ScalarNode:
		s.Alts = append(s.Alts, []*Item{{Line: v.Line, Col: v.Column, Values: []Value{scalarValue(v)}}})
	default:
		errs.add(v, "search %s: want a map, a list or a value", name)
		return nil
	}
	return s
}

func parseMap(m *yaml.Node, errs *ErrorList) []*Item {
	items := make([]*Item, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		parts := strings.Split(k.Value, "|")
		it := &Item{Field: parts[0], Modifiers: parts[1:], Line: k.Line, Col: k.Column}
		switch v.Kind {
		case yaml.ScalarNode:
			it.Values = []Value{scalarValue(v)}
		case yaml.SequenceNode:
			if len(v.Content) == 0 {
				// An empty list matches nothing; keep one impossible marker.
				it.Values = nil
			}
			for _, c := range v.Content {
				if c.Kind != yaml.ScalarNode {
					errs.add(c, "field %s: want a scalar value", k.Value)
					continue
				}
				it.Values = append(it.Values, scalarValue(c))
			}
		case yaml.AliasNode:
			if v.Alias != nil && v.Alias.Kind == yaml.ScalarNode {
				it.Values = []Value{scalarValue(v.Alias)}
			} else {
				errs.add(v, "field %s: unsupported alias", k.Value)
			}
		default:
			errs.add(v, "field %s: want a value or a list of values", k.Value)
			continue
		}
		items = append(items, it)
	}
	return items
}

func scalarValue(n *yaml.Node) Value {
	v := Value{S: n.Value, Line: n.Line, Col: n.Column}
	switch n.ShortTag() {
	case "!!null":
		v.Null = true
		v.S = ""
	case "!!int", "!!float":
		v.Number = true
	case "!!bool":
		v.Bool = true
		v.S = strings.ToLower(n.Value)
	}
	return v
}
