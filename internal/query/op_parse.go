package query

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ParseAnchor extracts fields with an anchor pattern: "| parse "user=* from *"
// as user, ip". Each '*' captures the text up to the next literal anchor
// (to the end when the pattern ends with '*'); the first anchor may occur
// anywhere. Rows that do not match are dropped unless NoDrop.
type ParseAnchor struct {
	Field   string // default _raw
	Pattern string
	As      []string
	NoDrop  bool
}

// ParseRegex extracts the named groups of a regexp: "| parse regex
// "from (?<ip>\S+)"". Rows that do not match are dropped unless NoDrop.
//
// With Multi, every match of the regexp gives its own copy of the row
// ("| parse regex "ip=(?<ip>\S+)" multi" turns a row with three ips into
// three rows).
type ParseRegex struct {
	Field   string
	Pattern string
	NoDrop  bool
	Multi   bool
}

func init() { registerStage(parseParse, "parse") }

// parseFieldOpt parses an optional "field=name" of parse, json, kv.
func (p *parser) parseFieldOpt() (string, bool) {
	save := p.pos
	if p.acceptKeyword("field") && p.accept("=") {
		at := p.pos
		n, ok := p.ident()
		if !ok {
			p.errorf(at, "expected a field name after field=")
			return "", false
		}
		return canonicalField(n), true
	}
	p.pos = save
	return "", true
}

func parseParse(p *parser, _ string, _ int) Stage {
	isRegex := p.acceptKeyword("regex")
	field, ok := p.parseFieldOpt()
	if !ok {
		return nil
	}
	p.skipSpace()
	at := p.pos
	pat, ok := p.stringArg("the pattern")
	if !ok {
		return nil
	}
	if f2, ok := p.parseFieldOpt(); !ok {
		return nil
	} else if f2 != "" {
		field = f2
	}
	if field == "_raw" {
		field = ""
	}
	if isRegex {
		if msg := checkRegex(pat); msg != "" {
			p.errorf(at, "%s", msg)
			return nil
		}
		re := regexp.MustCompile(pat) // checked above
		if len(namedGroups(re)) == 0 {
			p.errorf(at, "parse regex needs named groups like (?<name>...)")
			return nil
		}
		st := &ParseRegex{Field: field, Pattern: pat}
		for {
			switch {
			case p.acceptKeyword("nodrop"):
				st.NoDrop = true
				continue
			case p.acceptKeyword("multi"):
				st.Multi = true
				continue
			}
			break
		}
		return st
	}
	st := &ParseAnchor{Field: field, Pattern: pat}
	n := strings.Count(pat, "*")
	if n == 0 {
		p.errorf(at, "the parse pattern needs at least one '*'")
		return nil
	}
	if !p.acceptKeyword("as") {
		p.errorf(p.pos, "expected as and %d field name(s) after the pattern", n)
		return nil
	}
	if st.As = p.fieldNames("parse"); st.As == nil {
		return nil
	}
	if len(st.As) != n {
		p.errorf(at, "the pattern has %d '*' but %d field name(s) follow as", n, len(st.As))
		return nil
	}
	st.NoDrop = p.acceptKeyword("nodrop")
	return st
}

func fieldOptString(f string) string {
	if f == "" {
		return ""
	}
	return " field=" + fieldName(f)
}

func (s *ParseAnchor) String() string {
	out := "parse" + fieldOptString(s.Field) + " " + quote(s.Pattern) + " as " + fieldList(s.As)
	if s.NoDrop {
		out += " nodrop"
	}
	return out
}

func (s *ParseRegex) String() string {
	out := "parse regex" + fieldOptString(s.Field) + " " + quote(s.Pattern)
	if s.Multi {
		out += " multi"
	}
	if s.NoDrop {
		out += " nodrop"
	}
	return out
}

func srcSlot(c *compiler, field string) int {
	if field == "" {
		return c.slot("_raw")
	}
	return c.slot(field)
}

func (s *ParseAnchor) compile(c *compiler) ([]op, error) {
	o := &parseOp{src: srcSlot(c, s.Field), noDrop: s.NoDrop}
	parts := strings.Split(s.Pattern, "*")
	o.anchors = parts
	for _, n := range s.As {
		o.out = append(o.out, c.outSlot(n))
	}
	return []op{o}, nil
}

type parseOp struct {
	src     int
	anchors []string // len(out)+1 literal pieces around the '*'s
	out     []int
	noDrop  bool
}

func (o *parseOp) apply(r record) bool {
	v := r.get(o.src)
	if v.isNull() {
		return o.noDrop
	}
	s := v.str()
	i := strings.Index(s, o.anchors[0])
	if i < 0 {
		return o.noDrop
	}
	pos := i + len(o.anchors[0])
	var caps [16]string
	vals := caps[:0]
	for k := 1; k < len(o.anchors); k++ {
		a := o.anchors[k]
		if a == "" && k == len(o.anchors)-1 {
			vals = append(vals, s[pos:])
			pos = len(s)
			continue
		}
		j := strings.Index(s[pos:], a)
		if j < 0 {
			return o.noDrop
		}
		vals = append(vals, s[pos:pos+j])
		pos += j + len(a)
	}
	for k, slot := range o.out {
		r.set(slot, strVal(vals[k]))
	}
	return true
}

func namedGroups(re *regexp.Regexp) []string {
	var out []string
	for _, n := range re.SubexpNames() {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

func (s *ParseRegex) compile(c *compiler) ([]op, error) {
	re, err := regexp.Compile(s.Pattern)
	if err != nil {
		return nil, fmt.Errorf("parse regex: %w", err)
	}
	o := &parseRegexOp{src: srcSlot(c, s.Field), re: re, noDrop: s.NoDrop}
	for _, n := range re.SubexpNames() {
		slot := -1
		if n != "" {
			slot = c.outSlot(n)
		}
		o.out = append(o.out, slot)
	}
	if s.Multi {
		return []op{&parseMultiOp{re: o, budget: &budget{maxBytes: c.opts.MaxMemoryBytes}}}, nil
	}
	return []op{o}, nil
}

type parseRegexOp struct {
	src    int
	re     *regexp.Regexp
	out    []int // by group index; -1 for unnamed groups
	noDrop bool
}

func (o *parseRegexOp) apply(r record) bool {
	v := r.get(o.src)
	if v.isNull() {
		return o.noDrop
	}
	s := v.str()
	m := o.re.FindStringSubmatchIndex(s)
	if m == nil {
		return o.noDrop
	}
	for g, slot := range o.out {
		if slot < 0 || m[2*g] < 0 {
			continue
		}
		r.set(slot, strVal(s[m[2*g]:m[2*g+1]]))
	}
	return true
}

// parseMultiOp is "parse regex ... multi": a table stage, since one row
// may become several.
type parseMultiOp struct {
	re     *parseRegexOp // not embedded: this is a tableOp, not a rowOp
	budget *budget
}

// maxMultiMatches bounds the rows one input row can become.
const maxMultiMatches = 10000

func (mo *parseMultiOp) run(ctx context.Context, rows []*tableRow) ([]*tableRow, error) {
	o := mo.re
	var out []*tableRow
	for i, r := range rows {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		v := r.get(o.src)
		var ms [][]int
		if !v.isNull() {
			ms = o.re.FindAllStringSubmatchIndex(v.str(), maxMultiMatches)
		}
		if len(ms) == 0 {
			if o.noDrop {
				out = append(out, r)
			}
			continue
		}
		s := v.str()
		for k, m := range ms {
			nr := r
			if k < len(ms)-1 {
				nr = &tableRow{t: r.t, cols: slices.Clone(r.cols)}
				if err := mo.budget.add(nr.approxBytes()); err != nil {
					return nil, fmt.Errorf("parse regex multi: %w", err)
				}
			}
			for g, slot := range o.out {
				if slot >= 0 && m[2*g] >= 0 {
					nr.set(slot, strVal(s[m[2*g]:m[2*g+1]]))
				}
			}
			out = append(out, nr)
		}
	}
	return out, nil
}
