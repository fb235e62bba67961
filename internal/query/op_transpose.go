package query

import (
	"context"
	"sort"
)

// Transpose pivots aggregated rows: "| count by _timeslice, host |
// transpose row _timeslice column host" gives one row per _timeslice with
// one field per host holding its _count. The cell value is the first field
// that is neither a row nor a column field.
type Transpose struct {
	Row    []string
	Column []string
}

func init() { registerStage(parseTranspose, "transpose") }

func parseTranspose(p *parser, _ string, _ int) Stage {
	t := &Transpose{}
	if !p.acceptKeyword("row") {
		p.errorf(p.pos, "expected row f1, ... column g1, ... after transpose")
		return nil
	}
	if t.Row = p.fieldNames("transpose row"); t.Row == nil {
		return nil
	}
	if !p.acceptKeyword("column") {
		p.errorf(p.pos, "expected column g1, ... after the row fields")
		return nil
	}
	if t.Column = p.fieldNames("transpose column"); t.Column == nil {
		return nil
	}
	return t
}

func (t *Transpose) String() string {
	return "transpose row " + fieldList(t.Row) + " column " + fieldList(t.Column)
}

func (t *Transpose) compile(c *compiler) ([]op, error) {
	o := &transposeOp{c: c}
	for _, f := range t.Row {
		o.row = append(o.row, c.slot(f))
	}
	for _, f := range t.Column {
		o.col = append(o.col, c.slot(f))
	}
	return []op{o}, nil
}

type transposeOp struct {
	c        *compiler
	row, col []int
}

func (o *transposeOp) isKey(s int) bool {
	for _, x := range o.row {
		if x == s {
			return true
		}
	}
	for _, x := range o.col {
		if x == s {
			return true
		}
	}
	return false
}

func (o *transposeOp) run(ctx context.Context, rows []*tableRow) ([]*tableRow, error) {
	type outRow struct {
		r    *tableRow
		keys []val
	}
	index := map[string]*outRow{}
	var order []*outRow
	var key []byte
	for i, r := range rows {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var cell val
		for _, c := range r.cols {
			if !o.isKey(c.slot) {
				cell = c.v
				break
			}
		}
		name := ""
		for j, s := range o.col {
			if j > 0 {
				name += "_"
			}
			name += r.get(s).str()
		}
		key = key[:0]
		for _, s := range o.row {
			key = appendKey(key, r.get(s))
		}
		or := index[string(key)]
		if or == nil {
			or = &outRow{r: &tableRow{t: r.t}}
			for _, s := range o.row {
				v := r.get(s)
				or.keys = append(or.keys, v)
				or.r.cols = append(or.r.cols, tcol{slot: s, v: v})
			}
			index[string(key)] = or
			order = append(order, or)
		}
		or.r.setExtra(name, cell)
	}
	sort.SliceStable(order, func(i, j int) bool { return lessKeys(order[i].keys, order[j].keys) })
	out := make([]*tableRow, len(order))
	for i, or := range order {
		out[i] = or.r
	}
	return out, nil
}
