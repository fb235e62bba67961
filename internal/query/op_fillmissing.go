package query

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// FillMissing adds the rows an aggregation left out, with 0 in the other
// fields: "| timeslice 1h | count by _timeslice, host | fillmissing
// timeslice(1h), values("web-1", "web-2") in host". A field listed alone
// ("fillmissing timeslice(1h), host") takes the values seen in the rows.
// Time slices cover the query's time range, or the rows' range without one.
type FillMissing struct {
	Span   time.Duration // 0: no timeslice key
	Fields []FillField
}

// FillField is one key of FillMissing: a field and, optionally, its values.
type FillField struct {
	Field  string
	Values []string
}

func init() { registerStage(parseFillMissing, "fillmissing") }

func parseFillMissing(p *parser, _ string, _ int) Stage {
	fm := &FillMissing{}
	for {
		at := p.pos
		switch {
		case p.acceptKeyword("timeslice"):
			if !p.accept("(") {
				p.errorf(p.pos, "expected timeslice(span)")
				return nil
			}
			d, err := parseSpan(strings.TrimSpace(p.wordUntil(')')))
			if err != nil || !p.accept(")") {
				p.errorf(at, "fillmissing: bad timeslice(span)")
				return nil
			}
			fm.Span = d
		case p.acceptKeyword("values"):
			if !p.accept("(") {
				p.errorf(p.pos, "expected values(\"a\", ...) in field")
				return nil
			}
			var vals []string
			for {
				v, ok := p.stringArg("a value")
				if !ok {
					return nil
				}
				vals = append(vals, v)
				if !p.accept(",") {
					break
				}
			}
			if !p.accept(")") || !p.acceptKeyword("in") {
				p.errorf(p.pos, "expected ) in field after values(...)")
				return nil
			}
			f, ok := p.ident()
			if !ok {
				p.errorf(p.pos, "expected a field name after in")
				return nil
			}
			fm.Fields = append(fm.Fields, FillField{Field: canonicalField(f), Values: vals})
		default:
			f, ok := p.ident()
			if !ok {
				p.errorf(at, "expected timeslice(span), values(...) in field, or a field")
				return nil
			}
			fm.Fields = append(fm.Fields, FillField{Field: canonicalField(f)})
		}
		if !p.accept(",") {
			return fm
		}
	}
}

// wordUntil returns the text up to (not including) stop.
func (s *scanner) wordUntil(stop byte) string {
	start := s.pos
	for s.pos < len(s.src) && s.src[s.pos] != stop {
		s.pos++
	}
	return s.src[start:s.pos]
}

func (fm *FillMissing) String() string {
	var parts []string
	if fm.Span > 0 {
		parts = append(parts, "timeslice("+formatSpan(fm.Span)+")")
	}
	for _, f := range fm.Fields {
		if len(f.Values) == 0 {
			parts = append(parts, fieldName(f.Field))
			continue
		}
		qs := make([]string, len(f.Values))
		for i, v := range f.Values {
			qs[i] = quote(v)
		}
		parts = append(parts, "values("+strings.Join(qs, ", ")+") in "+fieldName(f.Field))
	}
	return "fillmissing " + strings.Join(parts, ", ")
}

func (fm *FillMissing) compile(c *compiler) ([]op, error) {
	o := &fillOp{span: int64(fm.Span), from: c.opts.From, to: c.opts.To, ts: -1}
	if fm.Span > 0 {
		o.ts = c.slot("_timeslice")
	}
	for _, f := range fm.Fields {
		o.keys = append(o.keys, c.slot(f.Field))
		o.vals = append(o.vals, f.Values)
	}
	return []op{o}, nil
}

type fillOp struct {
	span     int64
	from, to int64
	ts       int // -1: no timeslice key
	keys     []int
	vals     [][]string
}

const maxFill = 1_000_000

func (o *fillOp) run(ctx context.Context, rows []*tableRow) ([]*tableRow, error) {
	if len(rows) == 0 && o.ts < 0 {
		return rows, nil
	}
	// The value lists of every key, in order: timeslices, then fields.
	var keySlots []int
	var lists [][]val
	if o.ts >= 0 {
		from, to := o.from, o.to
		if from == 0 || to == 0 {
			for _, r := range rows {
				t := r.get(o.ts).t
				if from == 0 || t < from {
					from = t
				}
				if to == 0 || t+1 > to {
					to = t + 1
				}
			}
		}
		var ts []val
		for t := floorDiv(from, o.span) * o.span; t < to; t += o.span {
			if len(ts) > maxFill {
				return nil, fmt.Errorf("fillmissing: more than %d time slices: %w", maxFill, ErrBudget)
			}
			ts = append(ts, timeVal(t))
		}
		keySlots, lists = append(keySlots, o.ts), append(lists, ts)
	}
	for i, s := range o.keys {
		var vs []val
		seen := map[string]bool{}
		add := func(v val) {
			if !v.isNull() && !seen[v.str()] {
				seen[v.str()] = true
				vs = append(vs, v)
			}
		}
		for _, v := range o.vals[i] {
			add(strVal(v))
		}
		if len(o.vals[i]) == 0 {
			for _, r := range rows {
				add(r.get(s))
			}
		}
		keySlots, lists = append(keySlots, s), append(lists, vs)
	}
	// Fields to zero: the non-key fields of the first row.
	var zero []int
	if len(rows) > 0 {
		for _, c := range rows[0].cols {
			isKey := false
			for _, k := range keySlots {
				isKey = isKey || k == c.slot
			}
			if !isKey && c.slot >= 0 {
				zero = append(zero, c.slot)
			}
		}
	}
	have := map[string]bool{}
	var key []byte
	for _, r := range rows {
		key = key[:0]
		for _, s := range keySlots {
			key = appendKey(key, normKey(r.get(s)))
		}
		have[string(key)] = true
	}
	idx := make([]int, len(lists))
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if len(rows) > maxFill {
			return nil, fmt.Errorf("fillmissing: more than %d rows: %w", maxFill, ErrBudget)
		}
		for i := range lists {
			if len(lists[i]) == 0 {
				return rows, nil
			}
		}
		key = key[:0]
		for i := range lists {
			key = appendKey(key, normKey(lists[i][idx[i]]))
		}
		if !have[string(key)] {
			r := &tableRow{}
			for i, s := range keySlots {
				v := lists[i][idx[i]]
				r.cols = append(r.cols, tcol{slot: s, v: v})
				if v.k == kTime {
					r.t = v.t
				}
			}
			for _, s := range zero {
				r.cols = append(r.cols, tcol{slot: s, v: numVal(0)})
			}
			rows = append(rows, r)
		}
		// Next combination.
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(lists[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			sort.SliceStable(rows, func(a, b int) bool {
				return lessKeys(keyVals(rows[a], keySlots), keyVals(rows[b], keySlots))
			})
			return rows, nil
		}
	}
}

func keyVals(r *tableRow, slots []int) []val {
	out := make([]val, len(slots))
	for i, s := range slots {
		out[i] = r.get(s)
	}
	return out
}

// normKey makes text and typed values of the same text compare equal.
func normKey(v val) val {
	if v.k == kTime {
		return v
	}
	return strVal(v.str())
}
