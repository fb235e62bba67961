package query

import "fmt"

// Where keeps the rows for which Cond is true: "| where status >= 500".
type Where struct{ Cond ValueExpr }

func init() { registerStage(parseWhere, "where", "filter") }

func parseWhere(p *parser, _ string, _ int) Stage {
	x := p.parseExpr()
	if x == nil {
		return nil
	}
	return &Where{Cond: x}
}

func (w *Where) String() string { return "where " + w.Cond.String() }

func (w *Where) compile(c *compiler) ([]op, error) {
	f, err := c.compileExpr(w.Cond)
	if err != nil {
		return nil, fmt.Errorf("where: %w", err)
	}
	return []op{whereOp{f}}, nil
}

type whereOp struct{ cond evalFn }

func (o whereOp) apply(r record) bool { return o.cond(r).truthy() }
