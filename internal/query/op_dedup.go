package query

import (
	"context"
)

// Dedup keeps the first N rows (default 1) of each combination of Fields,
// in result order: "| dedup 3 by user". Without fields it removes rows
// whose values are all equal to an earlier row's.
type Dedup struct {
	N      int
	Fields []string
}

func init() { registerStage(parseDedup, "dedup") }

func parseDedup(p *parser, _ string, _ int) Stage {
	d := &Dedup{N: 1}
	p.skipSpace()
	if c := p.peek(); c >= '0' && c <= '9' {
		n, ok := p.intArg("the number of rows to keep")
		if !ok {
			return nil
		}
		if n < 1 {
			p.errorf(p.pos, "dedup keeps at least 1 row")
			return nil
		}
		d.N = n
	}
	p.acceptKeyword("by")
	if !p.atStageEnd() {
		if d.Fields = p.fieldNames("dedup"); d.Fields == nil {
			return nil
		}
	}
	return d
}

func (d *Dedup) String() string {
	s := "dedup"
	if d.N != 1 {
		s += " " + itoa(d.N)
	}
	if len(d.Fields) > 0 {
		s += " by " + fieldList(d.Fields)
	}
	return s
}

func (d *Dedup) compile(c *compiler) ([]op, error) {
	o := &dedupOp{n: d.N}
	for _, f := range d.Fields {
		o.slots = append(o.slots, c.slot(f))
	}
	return []op{o}, nil
}

type dedupOp struct {
	n     int
	slots []int
}

func (o *dedupOp) run(ctx context.Context, rows []*tableRow) ([]*tableRow, error) {
	seen := map[string]int{}
	var key []byte
	out := rows[:0]
	for i, r := range rows {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		key = key[:0]
		if len(o.slots) == 0 {
			for _, c := range r.cols {
				if c.slot == slotTime || c.slot == slotReceived {
					continue
				}
				key = append(key, c.name...)
				key = appendKey(key, c.v)
			}
		}
		for _, s := range o.slots {
			key = appendKey(key, r.get(s))
		}
		if n := seen[string(key)]; n < o.n {
			seen[string(key)] = n + 1
			out = append(out, r)
		}
	}
	return out, nil
}
