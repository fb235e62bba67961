package sigma

import (
	"fmt"
	"strconv"
	"strings"
)

// Expr is a parsed condition expression. The tree is exported so other
// engines (the query translator) can walk it.
type Expr interface {
	String() string
}

// AndExpr is true when every operand is.
type AndExpr struct{ X []Expr }

// OrExpr is true when any operand is.
type OrExpr struct{ X []Expr }

// NotExpr negates X.
type NotExpr struct{ X Expr }

// IdentExpr refers to a named search.
type IdentExpr struct{ Name string }

// OfExpr is "N of pattern", "all of pattern", "N of them", "all of them".
// N == 0 means all. Pattern is "them" or an identifier with * wildcards.
type OfExpr struct {
	N       int
	Pattern string
}

func (e *AndExpr) String() string { return joinExpr(e.X, " and ") }
func (e *OrExpr) String() string  { return joinExpr(e.X, " or ") }
func (e *NotExpr) String() string { return "not " + paren(e.X) }
func (e *IdentExpr) String() string {
	return e.Name
}
func (e *OfExpr) String() string {
	if e.N == 0 {
		return "all of " + e.Pattern
	}
	return strconv.Itoa(e.N) + " of " + e.Pattern
}

func joinExpr(xs []Expr, sep string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = paren(x)
	}
	return strings.Join(parts, sep)
}

func paren(x Expr) string {
	switch x.(type) {
	case *AndExpr, *OrExpr:
		return "(" + x.String() + ")"
	}
	return x.String()
}

// CondError is a condition syntax error at a byte offset of the condition.
type CondError struct {
	Offset int
	Msg    string
}

func (e *CondError) Error() string { return fmt.Sprintf("condition at offset %d: %s", e.Offset, e.Msg) }

type condToken struct {
	text string
	off  int
}

func lexCondition(s string) ([]condToken, error) {
	var toks []condToken
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, condToken{s[i : i+1], i})
			i++
		case c == '|':
			return nil, &CondError{i, "aggregation expressions (| count() ...) are not supported; use a correlation rule"}
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()|", rune(s[j])) {
				j++
			}
			toks = append(toks, condToken{s[i:j], i})
			i = j
		}
	}
	return toks, nil
}

// ParseCondition parses a Sigma condition expression.
func ParseCondition(s string) (Expr, error) {
	toks, err := lexCondition(s)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks, end: len(s)}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		t := p.toks[p.pos]
		return nil, &CondError{t.off, fmt.Sprintf("unexpected %q", t.text)}
	}
	return e, nil
}

type condParser struct {
	toks []condToken
	pos  int
	end  int
}

func (p *condParser) peek() (condToken, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return condToken{off: p.end}, false
}

func (p *condParser) isKw(kw string) bool {
	t, ok := p.peek()
	return ok && strings.EqualFold(t.text, kw)
}

func (p *condParser) or() (Expr, error) {
	x, err := p.and()
	if err != nil {
		return nil, err
	}
	xs := []Expr{x}
	for p.isKw("or") {
		p.pos++
		y, err := p.and()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return &OrExpr{xs}, nil
}

func (p *condParser) and() (Expr, error) {
	x, err := p.not()
	if err != nil {
		return nil, err
	}
	xs := []Expr{x}
	for p.isKw("and") {
		p.pos++
		y, err := p.not()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return &AndExpr{xs}, nil
}

func (p *condParser) not() (Expr, error) {
	if p.isKw("not") {
		p.pos++
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &NotExpr{x}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (Expr, error) {
	t, ok := p.peek()
	if !ok {
		return nil, &CondError{t.off, "unexpected end of condition"}
	}
	switch {
	case t.text == "(":
		p.pos++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if c, ok := p.peek(); !ok || c.text != ")" {
			return nil, &CondError{c.off, "missing )"}
		}
		p.pos++
		return x, nil
	case t.text == ")":
		return nil, &CondError{t.off, "unexpected )"}
	}
	lower := strings.ToLower(t.text)
	switch lower {
	case "and", "or", "of", "them":
		return nil, &CondError{t.off, fmt.Sprintf("unexpected %q", t.text)}
	}
	if p.pos+1 < len(p.toks) && strings.EqualFold(p.toks[p.pos+1].text, "of") {
		n := 0
		if lower != "all" {
			v, err := strconv.Atoi(t.text)
			if err != nil || v < 1 {
				return nil, &CondError{t.off, fmt.Sprintf("want a positive number or all before of, got %q", t.text)}
			}
			n = v
		}
		p.pos += 2
		pt, ok := p.peek()
		if !ok || pt.text == "(" || pt.text == ")" {
			return nil, &CondError{pt.off, "want an identifier pattern or them after of"}
		}
		p.pos++
		pat := pt.text
		if strings.EqualFold(pat, "them") {
			pat = "them"
		}
		return &OfExpr{N: n, Pattern: pat}, nil
	}
	p.pos++
	return &IdentExpr{t.text}, nil
}

// resolveOf lists the search names an of-expression covers, in file order.
// "them" covers every search whose name does not start with "_".
func resolveOf(pattern string, order []string) []string {
	var out []string
	for _, name := range order {
		if pattern == "them" {
			if !strings.HasPrefix(name, "_") {
				out = append(out, name)
			}
			continue
		}
		if globMatch(pattern, name) {
			out = append(out, name)
		}
	}
	return out
}

// globMatch matches a name against a pattern with * (any run) only, in
// linear time (greedy with backtracking to the last star).
func globMatch(pattern, s string) bool {
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
