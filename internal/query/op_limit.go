package query

import "context"

// Limit keeps the first N rows ("| limit 10"; "head 10" is the same).
type Limit struct{ N int }

func init() { registerStage(parseLimit, "limit", "head") }

func parseLimit(p *parser, name string, _ int) Stage {
	if p.atStageEnd() && name == "head" {
		return &Limit{N: 10}
	}
	n, ok := p.intArg("the number of rows")
	if !ok {
		return nil
	}
	return &Limit{N: n}
}

func (l *Limit) String() string { return "limit " + itoa(l.N) }

func (l *Limit) compile(*compiler) ([]op, error) { return []op{limitOp{l.N}}, nil }

type limitOp struct{ n int }

func (o limitOp) run(_ context.Context, rows []*tableRow) ([]*tableRow, error) {
	if len(rows) > o.n {
		rows = rows[:o.n]
	}
	return rows, nil
}
