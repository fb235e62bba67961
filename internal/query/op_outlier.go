package query

import (
	"context"
	"math"
	"strconv"
)

// Outlier flags values far from the recent trend (Sumo Logic's outlier):
// "| timeslice 1m | count by _timeslice | outlier _count window=10
// threshold=3 consecutive=1 direction=+-". For each row, in order, the
// prediction is the mean of the previous Window values and the error their
// standard deviation; a row violates when the value is above pred +
// threshold*error (direction +) or below pred - threshold*error (-) for
// Consecutive rows in a row. It adds <field>_pred, <field>_error and
// <field>_violation (1 or 0), per group of By.
type Outlier struct {
	Field       string
	Window      int
	Threshold   float64
	Consecutive int
	Direction   string // "+-", "+" or "-"
	By          []string
}

func init() { registerStage(parseOutlier, "outlier") }

func parseOutlier(p *parser, _ string, _ int) Stage {
	o := &Outlier{Window: 10, Threshold: 3, Consecutive: 1, Direction: "+-"}
	f, ok := p.ident()
	if !ok {
		p.errorf(p.pos, "expected the field after outlier")
		return nil
	}
	o.Field = canonicalField(f)
	for {
		p.accept(",")
		at := p.pos
		w := p.peekWord()
		switch w {
		case "window", "threshold", "consecutive", "direction":
			p.acceptKeyword(w)
			if !p.accept("=") {
				p.errorf(p.pos, "expected = after %s", w)
				return nil
			}
			p.skipSpace()
			if w == "direction" {
				switch {
				case p.accept("+-"), p.accept("-+"):
					o.Direction = "+-"
				case p.accept("+"):
					o.Direction = "+"
				case p.accept("-"):
					o.Direction = "-"
				default:
					p.errorf(p.pos, "direction is +-, + or -")
					return nil
				}
				continue
			}
			n := p.number()
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v <= 0 || (w != "threshold" && v != math.Trunc(v)) {
				p.errorf(at, "bad %s %s", w, quote(n))
				return nil
			}
			switch w {
			case "window":
				o.Window = int(v)
			case "threshold":
				o.Threshold = v
			case "consecutive":
				o.Consecutive = int(v)
			}
			continue
		case "by":
			p.acceptKeyword("by")
			if o.By = p.fieldNames("outlier by"); o.By == nil {
				return nil
			}
		}
		return o
	}
}

func (o *Outlier) String() string {
	s := "outlier " + fieldName(o.Field) + " window=" + itoa(o.Window) +
		" threshold=" + formatNum(o.Threshold) + " consecutive=" + itoa(o.Consecutive) + " direction=" + o.Direction
	if len(o.By) > 0 {
		s += " by " + fieldList(o.By)
	}
	return s
}

func (o *Outlier) compile(c *compiler) ([]op, error) {
	x := &outlierOp{spec: o, field: c.slot(o.Field)}
	for _, b := range o.By {
		x.by = append(x.by, c.slot(b))
	}
	x.pred = c.outSlot(o.Field + "_pred")
	x.err = c.outSlot(o.Field + "_error")
	x.viol = c.outSlot(o.Field + "_violation")
	return []op{x}, nil
}

type outlierOp struct {
	spec            *Outlier
	field           int
	by              []int
	pred, err, viol int
}

type outlierState struct {
	hist []float64
	run  int
}

func (o *outlierOp) run(ctx context.Context, rows []*tableRow) ([]*tableRow, error) {
	states := map[string]*outlierState{}
	var key []byte
	for i, r := range rows {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		key = key[:0]
		for _, b := range o.by {
			key = appendKey(key, normKey(r.get(b)))
		}
		st := states[string(key)]
		if st == nil {
			st = &outlierState{}
			states[string(key)] = st
		}
		x, ok := r.get(o.field).num()
		if !ok {
			continue
		}
		violation := 0.0
		if len(st.hist) > 0 {
			mean, sd := meanStd(st.hist)
			r.set(o.pred, numVal(mean))
			r.set(o.err, numVal(sd))
			hi := x > mean+o.spec.Threshold*sd
			lo := x < mean-o.spec.Threshold*sd
			out := (hi && o.spec.Direction != "-") || (lo && o.spec.Direction != "+")
			if out {
				st.run++
			} else {
				st.run = 0
			}
			if out && st.run >= o.spec.Consecutive {
				violation = 1
			}
		}
		r.set(o.viol, numVal(violation))
		st.hist = append(st.hist, x)
		if len(st.hist) > o.spec.Window {
			st.hist = st.hist[1:]
		}
	}
	return rows, nil
}

func meanStd(xs []float64) (float64, float64) {
	var sum, sq float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	if len(xs) < 2 {
		return mean, 0
	}
	return mean, math.Sqrt(sq / float64(len(xs)-1))
}
