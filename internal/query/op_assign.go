package query

import "fmt"

// Assign sets a field to the value of an expression: "| x = a * 2" (Sumo
// Logic's eval; "eval x = ..." is accepted too).
type Assign struct {
	Field string
	Value ValueExpr
}

func init() { registerStage(parseAssign, "eval") }

func parseAssign(p *parser, _ string, _ int) Stage {
	at := p.pos
	name, ok := p.ident()
	if !ok {
		p.errorf(at, "expected a field name to assign, got %s", p.describeNext())
		return nil
	}
	if !p.accept("=") || p.peekLit("=") {
		p.errorf(p.pos, "expected '=' after %s, got %s", name, p.describeNext())
		return nil
	}
	x := p.parseExpr()
	if x == nil {
		return nil
	}
	return &Assign{Field: canonicalField(name), Value: x}
}

func (a *Assign) String() string { return fieldName(a.Field) + " = " + a.Value.String() }

func (a *Assign) compile(c *compiler) ([]op, error) {
	f, err := c.compileExpr(a.Value)
	if err != nil {
		return nil, fmt.Errorf("%s = ...: %w", a.Field, err)
	}
	return []op{assignOp{slot: c.outSlot(a.Field), f: f}}, nil
}

type assignOp struct {
	slot int
	f    evalFn
}

func (o assignOp) apply(r record) bool {
	v := o.f(r)
	if v.isNull() {
		r.del(o.slot)
	} else {
		r.set(o.slot, v)
	}
	return true
}
