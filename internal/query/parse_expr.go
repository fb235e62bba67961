package query

import (
	"regexp/syntax"
	"strings"
)

// Value expressions (where, assignments): or < and < not < comparison <
// additive < multiplicative < unary minus < primary.

func (p *parser) parseExpr() ValueExpr {
	x := p.exprOr()
	// cond ? a : b is if(cond, a, b).
	if x != nil && p.accept("?") {
		a := p.parseExpr()
		if a == nil {
			return nil
		}
		if !p.accept(":") {
			p.errorf(p.pos, "expected ':' in cond ? a : b, got %s", p.describeNext())
			return nil
		}
		b := p.parseExpr()
		if b == nil {
			return nil
		}
		return &Call{Name: "if", Args: []ValueExpr{x, a, b}}
	}
	return x
}

func (p *parser) exprOr() ValueExpr {
	l := p.exprAnd()
	for l != nil && (p.acceptKeyword("or") || p.accept("||")) {
		r := p.exprAnd()
		if r == nil {
			return nil
		}
		l = &Binary{Op: "or", L: l, R: r}
	}
	return l
}

func (p *parser) exprAnd() ValueExpr {
	l := p.exprNot()
	for l != nil && (p.acceptKeyword("and") || p.accept("&&")) {
		r := p.exprNot()
		if r == nil {
			return nil
		}
		l = &Binary{Op: "and", L: l, R: r}
	}
	return l
}

func (p *parser) exprNot() ValueExpr {
	if p.acceptKeyword("not") || (p.peekLit("!") && !p.peekLit("!=") && p.accept("!")) {
		x := p.exprNot()
		if x == nil {
			return nil
		}
		return &Unary{Op: "not", X: x}
	}
	return p.exprCmp()
}

func (p *parser) exprCmp() ValueExpr {
	l := p.exprAdd()
	if l == nil {
		return nil
	}
	for _, op := range []string{"==", "!=", "<>", ">=", "<=", "=", ">", "<"} {
		if p.accept(op) {
			switch op {
			case "==":
				op = "="
			case "<>":
				op = "!="
			}
			r := p.exprAdd()
			if r == nil {
				return nil
			}
			return &Binary{Op: op, L: l, R: r}
		}
	}
	save := p.pos
	if p.acceptKeyword("matches") {
		at := p.pos
		switch p.peek() {
		case '/':
			re, msg := p.regex()
			if msg == "" {
				msg = checkRegex(re)
			}
			if msg != "" {
				p.errorf(at, "%s", msg)
				return nil
			}
			return &Binary{Op: "matches", L: l, R: &RegexLit{Pattern: re}}
		case '"', '\'':
			v, msg := p.quoted()
			if msg != "" {
				p.errorf(at, "%s", msg)
				return nil
			}
			return &Binary{Op: "matches", L: l, R: &Lit{Value: v}}
		}
		p.errorf(p.pos, "expected /regexp/ or \"glob\" after matches, got %s", p.describeNext())
		return nil
	}
	if p.acceptKeyword("in") {
		if !p.accept("(") {
			p.errorf(p.pos, "expected '(' after in, got %s", p.describeNext())
			return nil
		}
		in := &InList{X: l}
		for {
			a := p.parseExpr()
			if a == nil {
				return nil
			}
			in.List = append(in.List, a)
			if p.accept(",") {
				continue
			}
			if p.accept(")") {
				return in
			}
			p.errorf(p.pos, "expected ',' or ')' in in (...), got %s", p.describeNext())
			return nil
		}
	}
	p.pos = save
	return l
}

func (p *parser) exprAdd() ValueExpr {
	l := p.exprMul()
	for l != nil {
		var op string
		switch c := p.peek(); c {
		case '+', '-':
			op = string(c)
		default:
			return l
		}
		p.pos++
		r := p.exprMul()
		if r == nil {
			return nil
		}
		l = &Binary{Op: op, L: l, R: r}
	}
	return l
}

func (p *parser) exprMul() ValueExpr {
	l := p.exprUnary()
	for l != nil {
		var op string
		switch c := p.peek(); c {
		case '*', '/', '%':
			op = string(c)
		default:
			return l
		}
		p.pos++
		r := p.exprUnary()
		if r == nil {
			return nil
		}
		l = &Binary{Op: op, L: l, R: r}
	}
	return l
}

func (p *parser) exprUnary() ValueExpr {
	if p.peek() == '-' {
		p.pos++
		x := p.exprUnary()
		if x == nil {
			return nil
		}
		if l, ok := x.(*Lit); ok && l.Num && !strings.HasPrefix(l.Value, "-") {
			return &Lit{Value: "-" + l.Value, Num: true}
		}
		return &Unary{Op: "-", X: x}
	}
	return p.exprPrimary()
}

func (p *parser) exprPrimary() ValueExpr {
	at := p.pos
	c := p.peek()
	switch {
	case c == 0 || c == '|':
		p.errorf(p.pos, "expected an expression, got end of stage")
		return nil
	case c == '(':
		p.pos++
		x := p.parseExpr()
		if x == nil {
			return nil
		}
		if !p.accept(")") {
			p.errorf(p.pos, "expected ')', got %s", p.describeNext())
			return nil
		}
		return x
	case c == '"' || c == '\'':
		v, msg := p.quoted()
		if msg != "" {
			p.errorf(at, "%s", msg)
			return nil
		}
		return &Lit{Value: v}
	case c == '/':
		re, msg := p.regex()
		if msg == "" {
			msg = checkRegex(re)
		}
		if msg != "" {
			p.errorf(at, "%s", msg)
			return nil
		}
		return &RegexLit{Pattern: re}
	case c >= '0' && c <= '9' || c == '.':
		n := p.number()
		if n == "" {
			p.errorf(p.pos, "unexpected %s", p.describeNext())
			return nil
		}
		return &Lit{Value: n, Num: true}
	case c == '[' && isSubqueryStart(p.src[p.pos:]):
		return p.parseSubqueryValue()
	case c == '%' || isIdentStart(c):
		at = p.pos
		name, ok := p.ident()
		if !ok {
			p.errorf(at, "bad field name")
			return nil
		}
		if c != '%' && p.peekLit("(") {
			return p.exprCall(at, name)
		}
		if c != '%' {
			switch strings.ToLower(name) {
			case "true", "false":
				return &Lit{Value: strings.ToLower(name)}
			case "null":
				return &Call{Name: "null"}
			}
		}
		return &Ref{Name: canonicalField(name)}
	}
	p.errorf(p.pos, "unexpected %s in expression", p.describeNext())
	return nil
}

func (p *parser) exprCall(at int, name string) ValueExpr {
	lname := strings.ToLower(name)
	if _, ok := funcs[lname]; !ok {
		if s := suggest(lname, funcNames()); s != "" {
			p.errorf(at, "unknown function %s — did you mean %s?", quote(name), quote(s))
		} else {
			p.errorf(at, "unknown function %s", quote(name))
		}
		return nil
	}
	p.accept("(")
	call := &Call{Name: lname}
	if p.accept(")") {
		return p.checkArity(at, call)
	}
	for {
		a := p.parseExpr()
		if a == nil {
			return nil
		}
		call.Args = append(call.Args, a)
		if p.accept(",") {
			continue
		}
		if p.accept(")") {
			return p.checkArity(at, call)
		}
		p.errorf(p.pos, "expected ',' or ')' in %s(...), got %s", name, p.describeNext())
		return nil
	}
}

func (p *parser) checkArity(at int, c *Call) ValueExpr {
	f := funcs[c.Name]
	if len(c.Args) < f.minArgs || (f.maxArgs >= 0 && len(c.Args) > f.maxArgs) {
		switch {
		case f.minArgs == f.maxArgs:
			p.errorf(at, "%s takes %d argument(s), got %d", c.Name, f.minArgs, len(c.Args))
		case f.maxArgs < 0:
			p.errorf(at, "%s takes at least %d argument(s), got %d", c.Name, f.minArgs, len(c.Args))
		default:
			p.errorf(at, "%s takes %d to %d arguments, got %d", c.Name, f.minArgs, f.maxArgs, len(c.Args))
		}
		return nil
	}
	return c
}

// checkRegex returns a message when re does not compile; it accepts the
// (?<name>...) group syntax of Sumo Logic and PCRE.
func checkRegex(re string) string {
	if _, err := syntax.Parse(re, syntax.Perl); err != nil {
		return "bad regexp: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")
	}
	return ""
}
