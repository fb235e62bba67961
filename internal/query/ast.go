package query

import (
	"strconv"
	"strings"
)

// Query is a parsed query: a search expression and pipe stages. The zero
// Search (nil) matches every event.
type Query struct {
	Search Expr
	Stages []Stage
}

// String returns the canonical text of q; Parse(q.String()) gives back q.
func (q *Query) String() string {
	var b strings.Builder
	if q.Search != nil {
		b.WriteString(q.Search.String())
	} else if len(q.Stages) > 0 {
		b.WriteString("*")
	}
	for _, s := range q.Stages {
		if b.Len() > 0 {
			b.WriteString(" | ")
		} else {
			b.WriteString("| ")
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// Expr is a node of the search expression (the part before the first pipe).
type Expr interface {
	String() string
	isExpr()
}

// Term is a bare term or a quoted phrase. It matches, ignoring case and on
// token boundaries, when _raw or any field value contains it. In an unquoted
// term '*' and '?' are wildcards.
type Term struct {
	Text   string
	Quoted bool
}

// Compare is field OP value with OP one of = != < > <= >=. With = and !=, an
// unquoted value containing '*' is a glob and a value like 10.0.0.0/8 is a
// CIDR range (it also matches the exact text).
type Compare struct {
	Field  string
	Op     string
	Value  string
	Quoted bool
}

// In is field IN (v1, v2, ...).
type In struct {
	Field  string
	Values []string
}

// Matches is field MATCHES /regexp/ or field MATCHES "glob".
type Matches struct {
	Field   string
	Pattern string
	Regex   bool
}

// And matches when every kid matches.
type And struct{ Kids []Expr }

// Or matches when any kid matches.
type Or struct{ Kids []Expr }

// Not matches when its kid does not.
type Not struct{ Kid Expr }

func (*Term) isExpr()    {}
func (*Compare) isExpr() {}
func (*In) isExpr()      {}
func (*Matches) isExpr() {}
func (*And) isExpr()     {}
func (*Or) isExpr()      {}
func (*Not) isExpr()     {}

func (t *Term) String() string {
	if t.Quoted || needsQuote(t.Text) {
		return quote(t.Text)
	}
	return t.Text
}

func (c *Compare) String() string {
	v := c.Value
	if c.Quoted || needsQuote(v) {
		v = quote(v)
	}
	return c.Field + c.Op + v
}

func (in *In) String() string {
	var b strings.Builder
	b.WriteString(in.Field)
	b.WriteString(" in (")
	for i, v := range in.Values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(v))
	}
	b.WriteString(")")
	return b.String()
}

func (m *Matches) String() string {
	if m.Regex {
		return m.Field + " matches " + regexLiteral(m.Pattern)
	}
	return m.Field + " matches " + quote(m.Pattern)
}

func (a *And) String() string {
	parts := make([]string, len(a.Kids))
	for i, k := range a.Kids {
		if _, ok := k.(*Or); ok {
			parts[i] = "(" + k.String() + ")"
		} else {
			parts[i] = k.String()
		}
	}
	return strings.Join(parts, " ")
}

func (o *Or) String() string {
	parts := make([]string, len(o.Kids))
	for i, k := range o.Kids {
		parts[i] = k.String()
	}
	return strings.Join(parts, " OR ")
}

func (n *Not) String() string {
	switch n.Kid.(type) {
	case *And, *Or:
		return "NOT (" + n.Kid.String() + ")"
	}
	return "NOT " + n.Kid.String()
}

// quote returns s as a double-quoted literal, escaping '"' and '\'.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			// A backslash before a character that is no escape stays
			// single (regexps in strings: "\d+" reads back as \d+); before
			// one written as an escape itself (a newline) it is doubled.
			if i+1 < len(s) && !strings.ContainsRune("nrt\"'\\\n\t\r", rune(s[i+1])) {
				b.WriteByte(c)
				continue
			}
			b.WriteString(`\\`)
		case '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// regexLiteral returns pattern between slashes, escaping unescaped slashes.
func regexLiteral(p string) string {
	var b strings.Builder
	b.WriteByte('/')
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			b.WriteByte(p[i])
			b.WriteByte(p[i+1])
			i++
			continue
		}
		if p[i] == '/' {
			b.WriteByte('\\')
		}
		b.WriteByte(p[i])
	}
	b.WriteByte('/')
	return b.String()
}

// needsQuote reports whether s cannot be written as a bare word.
func needsQuote(s string) bool {
	if s == "" || isKeyword(s) {
		return true
	}
	if s[0] == '\'' {
		return true
	}
	for i := 0; i < len(s); i++ {
		if !isWordChar(s[i]) {
			return true
		}
	}
	return false
}

func isKeyword(s string) bool {
	switch strings.ToUpper(s) {
	case "AND", "OR", "NOT", "IN", "MATCHES":
		return true
	}
	return false
}

// ValueExpr is an expression of where, assignments and function arguments.
type ValueExpr interface {
	String() string
	isValue()
}

// Lit is a string or number literal.
type Lit struct {
	Value string
	Num   bool
}

// Ref is a field reference.
type Ref struct{ Name string }

// Call is a function call.
type Call struct {
	Name string
	Args []ValueExpr
}

// Binary is L Op R: arithmetic (+ - * / %), comparison (= != < > <= >=),
// logic (and, or) or matches (R is a RegexLit or a glob string).
type Binary struct {
	Op   string
	L, R ValueExpr
}

// Unary is Op X with Op "-" or "not".
type Unary struct {
	Op string
	X  ValueExpr
}

// InList is X in (a, b, ...).
type InList struct {
	X    ValueExpr
	List []ValueExpr
}

// RegexLit is /pattern/, the right side of matches.
type RegexLit struct{ Pattern string }

func (*Lit) isValue()      {}
func (*Ref) isValue()      {}
func (*Call) isValue()     {}
func (*Binary) isValue()   {}
func (*Unary) isValue()    {}
func (*InList) isValue()   {}
func (*RegexLit) isValue() {}

func (l *Lit) String() string {
	if l.Num {
		return l.Value
	}
	return quote(l.Value)
}

func (r *Ref) String() string {
	if isIdent(r.Name) && !isKeyword(r.Name) && !isReservedWord(r.Name) {
		return r.Name
	}
	return "%" + quote(r.Name)
}

func (c *Call) String() string {
	var b strings.Builder
	b.WriteString(c.Name)
	b.WriteByte('(')
	for i, a := range c.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}

func (x *Binary) String() string {
	return operand(x.L) + " " + x.Op + " " + operand(x.R)
}

func (u *Unary) String() string {
	if u.Op == "not" {
		return "not " + operand(u.X)
	}
	return u.Op + operand(u.X)
}

func (in *InList) String() string {
	var b strings.Builder
	b.WriteString(operand(in.X))
	b.WriteString(" in (")
	for i, a := range in.List {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}

func (r *RegexLit) String() string { return regexLiteral(r.Pattern) }

func operand(v ValueExpr) string {
	switch v.(type) {
	case *Binary, *Unary, *InList:
		return "(" + v.String() + ")"
	}
	return v.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') || (i > 0 && (c >= '0' && c <= '9' || c == '.')) {
			continue
		}
		return false
	}
	return s[len(s)-1] != '.'
}

func isReservedWord(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "in", "matches", "as", "by", "true", "false", "null":
		return true
	}
	return false
}

// fieldList prints names separated by ", ", quoting odd names.
func fieldList(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fieldName(n)
	}
	return strings.Join(parts, ", ")
}

func fieldName(n string) string {
	if isIdent(n) && !isReservedWord(n) {
		return n
	}
	return "%" + quote(n)
}

func itoa(n int) string { return strconv.Itoa(n) }
