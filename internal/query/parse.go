package query

import (
	"fmt"
	"sort"
	"strings"
)

// SyntaxError is a problem in the query text at byte Offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("syntax error at offset %d: %s", e.Offset, e.Msg)
}

// ErrorList is every syntax error of one query, in order of offset.
type ErrorList []*SyntaxError

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap lets errors.As find the first *SyntaxError.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// parser builds the AST; it records every error and resynchronises at the
// next pipe, so one Parse reports all problems.
type parser struct {
	scanner
	errs ErrorList
}

func (p *parser) errorf(pos int, format string, args ...any) {
	if pos > len(p.src) {
		pos = len(p.src)
	}
	p.errs = append(p.errs, &SyntaxError{Offset: pos, Msg: fmt.Sprintf(format, args...)})
}

// Parse parses query text. Errors are a *SyntaxError, or an ErrorList when
// there are several.
func Parse(text string) (*Query, error) {
	p := &parser{scanner: scanner{src: text}}
	q := p.parseQuery()
	switch len(p.errs) {
	case 0:
		return q, nil
	case 1:
		return nil, p.errs[0]
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Offset < p.errs[j].Offset })
	return nil, p.errs
}

// MustParse is Parse for tests and constants; it panics on error.
func MustParse(text string) *Query {
	q, err := Parse(text)
	if err != nil {
		panic("BUG: query.MustParse(" + quote(text) + "): " + err.Error())
	}
	return q
}

func (p *parser) parseQuery() *Query {
	q := &Query{}
	if !p.atStageEnd() {
		n := len(p.errs)
		e := p.parseOr()
		if len(p.errs) == n && !p.atStageEnd() {
			p.errorf(p.pos, "unexpected %s", p.describeNext())
		}
		if len(p.errs) > n {
			p.skipToPipe()
		}
		if t, ok := e.(*Term); !ok || t.Text != "*" || t.Quoted {
			q.Search = e
		}
	}
	for p.accept("|") {
		start := p.pos
		n := len(p.errs)
		st := p.parseStage()
		if len(p.errs) == n && st != nil && !p.atStageEnd() {
			p.errorf(p.pos, "unexpected %s in %s", p.describeNext(), stageName(p.src[start:p.pos]))
		}
		if len(p.errs) > n || st == nil {
			if len(p.errs) == n {
				p.errorf(start, "bad stage")
			}
			p.skipToPipe()
			continue
		}
		q.Stages = append(q.Stages, st)
	}
	return q
}

func stageName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t("); i > 0 {
		s = s[:i]
	}
	return quote(s)
}

// describeNext names the next token for error messages.
func (p *parser) describeNext() string {
	p.skipSpace()
	if p.eof() {
		return "end of query"
	}
	rest := p.src[p.pos:]
	if i := strings.IndexAny(rest, " \t\n|"); i > 0 {
		rest = rest[:i]
	} else if i == 0 {
		rest = rest[:1]
	}
	if len(rest) > 20 {
		rest = rest[:20] + "..."
	}
	return quote(rest)
}

// Search expression: OR binds loosest, then AND (explicit or implied by
// juxtaposition), then NOT.

func (p *parser) parseOr() Expr {
	var kids []Expr
	for {
		k := p.parseAnd()
		if k == nil {
			return nil
		}
		if o, ok := k.(*Or); ok {
			kids = append(kids, o.Kids...)
		} else {
			kids = append(kids, k)
		}
		if !p.acceptKeyword("OR") {
			break
		}
	}
	if len(kids) == 1 {
		return kids[0]
	}
	return &Or{Kids: kids}
}

func (p *parser) parseAnd() Expr {
	var kids []Expr
	for {
		c := p.peek()
		if c == 0 || c == '|' || c == ')' || p.peekKeyword("OR") {
			break
		}
		explicit := p.acceptKeyword("AND")
		if explicit && (p.atStageEnd() || p.peek() == ')') {
			p.errorf(p.pos, "expected a term after AND")
			return nil
		}
		k := p.parseNot()
		if k == nil {
			return nil
		}
		if a, ok := k.(*And); ok {
			kids = append(kids, a.Kids...)
		} else {
			kids = append(kids, k)
		}
	}
	switch len(kids) {
	case 0:
		p.errorf(p.pos, "expected a search term, got %s", p.describeNext())
		return nil
	case 1:
		return kids[0]
	}
	return &And{Kids: kids}
}

func (p *parser) peekKeyword(kw string) bool {
	save := p.pos
	ok := p.acceptKeyword(kw)
	p.pos = save
	return ok
}

func (p *parser) parseNot() Expr {
	if p.acceptKeyword("NOT") || (p.peek() == '!' && !p.peekLit("!=") && p.accept("!")) {
		k := p.parseNot()
		if k == nil {
			return nil
		}
		if n, ok := k.(*Not); ok {
			return n.Kid
		}
		return &Not{Kid: k}
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() Expr {
	start := p.pos
	switch c := p.peek(); c {
	case '(':
		p.pos++
		e := p.parseOr()
		if e == nil {
			return nil
		}
		if !p.accept(")") {
			p.errorf(p.pos, "expected ')' to close '(' at offset %d, got %s", start, p.describeNext())
			return nil
		}
		return e
	case '"':
		v, msg := p.quoted()
		if msg != "" {
			p.errorf(start, "%s", msg)
			return nil
		}
		return &Term{Text: v, Quoted: needsQuote(v) || hasWildcard(v)}
	case ')':
		p.errorf(p.pos, "unexpected ')'")
		return nil
	case '[':
		if isSubqueryStart(p.src[p.pos:]) {
			return p.parseSubquery()
		}
	}
	start = p.pos
	w := p.word()
	if w == "" {
		p.errorf(p.pos, "unexpected %s", p.describeNext())
		if !p.eof() {
			p.pos++
		}
		return nil
	}
	if op := p.compareOp(); op != "" {
		return p.parseCompare(start, w, op)
	}
	save := p.pos
	if p.acceptKeyword("in") && p.peek() == '(' {
		return p.parseIn(w)
	}
	p.pos = save
	if p.acceptKeyword("matches") {
		return p.parseMatches(w)
	}
	return &Term{Text: w}
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

func (p *parser) compareOp() string {
	for _, op := range []string{"!=", ">=", "<=", "==", "=", ">", "<"} {
		if p.accept(op) {
			if op == "==" {
				return "="
			}
			return op
		}
	}
	return ""
}

func (p *parser) parseCompare(start int, field, op string) Expr {
	field = canonicalField(field)
	switch c := p.peek(); {
	case c == '"' || c == '\'':
		at := p.pos
		v, msg := p.quoted()
		if msg != "" {
			p.errorf(at, "%s", msg)
			return nil
		}
		return &Compare{Field: field, Op: op, Value: v, Quoted: needsQuote(v) || hasWildcard(v)}
	case c == 0 || c == '|' || c == ')':
		p.errorf(p.pos, "expected a value after %s%s", field, op)
		return nil
	}
	v := p.word()
	if v == "" {
		p.errorf(p.pos, "expected a value after %s%s, got %s", field, op, p.describeNext())
		return nil
	}
	return &Compare{Field: field, Op: op, Value: v}
}

func (p *parser) parseIn(field string) Expr {
	p.accept("(")
	in := &In{Field: canonicalField(field)}
	for {
		at := p.pos
		switch c := p.peek(); {
		case c == '"' || c == '\'':
			v, msg := p.quoted()
			if msg != "" {
				p.errorf(at, "%s", msg)
				return nil
			}
			in.Values = append(in.Values, v)
		default:
			w := strings.TrimRight(p.word(), ",")
			if w == "" {
				p.errorf(p.pos, "expected a value in the list of %s in (...), got %s", field, p.describeNext())
				return nil
			}
			// word() keeps commas; split "a,b" written without spaces.
			p.pos = at
			p.skipSpace()
			i := p.pos
			for i < len(p.src) && isWordChar(p.src[i]) && p.src[i] != ',' {
				i++
			}
			in.Values = append(in.Values, p.src[p.pos:i])
			p.pos = i
		}
		if p.accept(",") {
			continue
		}
		if p.accept(")") {
			return in
		}
		p.errorf(p.pos, "expected ',' or ')' in the list of %s in (...), got %s", field, p.describeNext())
		return nil
	}
}

func (p *parser) parseMatches(field string) Expr {
	p.skipSpace()
	at := p.pos
	switch p.peek() {
	case '/':
		re, msg := p.regex()
		if msg != "" {
			p.errorf(at, "%s", msg)
			return nil
		}
		if err := checkRegex(re); err != "" {
			p.errorf(at, "%s", err)
			return nil
		}
		return &Matches{Field: canonicalField(field), Pattern: re, Regex: true}
	case '"', '\'':
		v, msg := p.quoted()
		if msg != "" {
			p.errorf(at, "%s", msg)
			return nil
		}
		return &Matches{Field: canonicalField(field), Pattern: v}
	}
	p.errorf(p.pos, "expected /regexp/ or \"glob\" after matches, got %s", p.describeNext())
	return nil
}

// canonicalField maps Sumo Logic metadata names to Mamori's.
func canonicalField(f string) string {
	switch strings.ToLower(f) {
	case "_sourcehost":
		return "_host"
	case "_sourcecategory":
		return "_category"
	case "_sourcename":
		return "_source"
	case "_index", "_view":
		return "_partition"
	case "_messagetime":
		return "_time"
	}
	return f
}

// Stages.

// stageParser parses the arguments of a stage whose name was consumed. It
// records errors with p.errorf and returns nil on failure.
type stageParser func(p *parser, name string, start int) Stage

var stageParsers = map[string]stageParser{}

func registerStage(parse stageParser, names ...string) {
	for _, n := range names {
		if _, dup := stageParsers[n]; dup {
			panic("BUG: query stage registered twice: " + n)
		}
		stageParsers[n] = parse
	}
}

func (p *parser) parseStage() Stage {
	p.skipSpace()
	start := p.pos
	name, ok := p.ident()
	if !ok {
		p.errorf(start, "expected an operator after '|', got %s", p.describeNext())
		return nil
	}
	// "x = expr" is an assignment (Sumo's eval without the keyword).
	if p.peek() == '=' && !p.peekLit("==") {
		p.pos = start
		return parseAssign(p, "", start)
	}
	lname := strings.ToLower(name)
	if _, isFunc := funcs[lname]; isFunc && p.peek() == '(' {
		if _, isAgg := aggFuncs[lname]; !isAgg {
			// Sumo's function-as-operator form: "| tolowercase(user) as u".
			p.pos = start
			x := p.parseExpr()
			if x == nil {
				return nil
			}
			if !p.acceptKeyword("as") {
				p.errorf(p.pos, "expected as <field> after %s(...)", lname)
				return nil
			}
			at := p.pos
			f, ok := p.ident()
			if !ok {
				p.errorf(at, "expected a field name after as")
				return nil
			}
			return &Assign{Field: canonicalField(f), Value: x}
		}
	}
	parse, ok := stageParsers[lname]
	if !ok {
		if _, isAgg := aggFuncs[lname]; isAgg {
			p.pos = start
			return parseAggStage(p, "", start)
		}
		if s := suggest(lname, knownStageNames()); s != "" {
			p.errorf(start, "unknown operator %s — did you mean %s?", quote(name), quote(s))
		} else {
			p.errorf(start, "unknown operator %s", quote(name))
		}
		return nil
	}
	return parse(p, lname, start)
}

func knownStageNames() []string {
	names := make([]string, 0, len(stageParsers)+len(aggFuncs))
	for n := range stageParsers {
		names = append(names, n)
	}
	for n := range aggFuncs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// suggest returns the candidate closest to s when it is close enough.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	if len(s) <= 4 {
		bestD = 2
	}
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD || (d == bestD && best == "" && d <= 1) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	var d [65][65]int
	for i := 0; i <= len(a); i++ {
		d[i][0] = i
	}
	for j := 0; j <= len(b); j++ {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1) // #nosec G602 -- i > 1 and j > 1 are checked on the line above
			}
		}
	}
	return d[len(a)][len(b)]
}

// Helpers for stage parsers.

// fieldNames parses "a, b, c" (at least one).
func (p *parser) fieldNames(what string) []string {
	var out []string
	for {
		at := p.pos
		n, ok := p.ident()
		if !ok {
			p.errorf(at, "expected a field name in %s, got %s", what, p.describeNext())
			return nil
		}
		out = append(out, canonicalField(n))
		if !p.accept(",") {
			return out
		}
	}
}

// intArg parses a positive integer.
func (p *parser) intArg(what string) (int, bool) {
	p.skipSpace()
	at := p.pos
	s := p.number()
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' || n > 1e12 {
			p.errorf(at, "%s must be a whole number, got %s", what, quote(s))
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if s == "" {
		p.errorf(at, "expected %s, got %s", what, p.describeNext())
		return 0, false
	}
	return n, true
}

// stringArg parses a quoted string.
func (p *parser) stringArg(what string) (string, bool) {
	at := p.pos
	v, msg := p.quoted()
	if msg != "" {
		p.errorf(at, "expected %s as a quoted string", what)
		return "", false
	}
	return v, true
}
