package query

import (
	"context"
	"sort"
	"strings"
)

// Sort orders rows by fields: "| sort by _count desc, host asc". As in Sumo
// Logic the default direction is descending. Missing values sort last.
type Sort struct{ Keys []SortKey }

// SortKey is one sort field and its direction.
type SortKey struct {
	Field string
	Asc   bool
}

func init() { registerStage(parseSort, "sort", "order") }

func parseSort(p *parser, _ string, _ int) Stage {
	p.acceptKeyword("by")
	s := &Sort{}
	for {
		k := SortKey{}
		if p.accept("+") {
			k.Asc = true
		} else {
			p.accept("-")
		}
		at := p.pos
		name, ok := p.ident()
		if !ok {
			p.errorf(at, "expected a field name in sort, got %s", p.describeNext())
			return nil
		}
		k.Field = canonicalField(name)
		switch {
		case p.acceptKeyword("asc"), p.acceptKeyword("ascending"):
			k.Asc = true
		case p.acceptKeyword("desc"), p.acceptKeyword("descending"):
			k.Asc = false
		}
		s.Keys = append(s.Keys, k)
		if !p.accept(",") {
			return s
		}
	}
}

func (s *Sort) String() string {
	parts := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		dir := " desc"
		if k.Asc {
			dir = " asc"
		}
		parts[i] = fieldName(k.Field) + dir
	}
	return "sort by " + strings.Join(parts, ", ")
}

func (s *Sort) compile(c *compiler) ([]op, error) {
	o := &sortOp{}
	for _, k := range s.Keys {
		o.slots = append(o.slots, c.slot(k.Field))
		o.asc = append(o.asc, k.Asc)
	}
	return []op{o}, nil
}

type sortOp struct {
	slots []int
	asc   []bool
	// limit > 0 keeps only the first limit rows (a following limit stage),
	// selected with a heap instead of a full sort.
	limit int
	// tiebreak orders rows equal on the keys by all their columns, so
	// the result does not depend on the input order.
	tiebreak bool
	// timeOrder breaks remaining ties by time: 1 newest first, -1 oldest
	// first (event rows selected per worker).
	timeOrder int
}

// byTimeOnly reports whether the sort is by _time alone, which the
// executor does itself while reading blocks in time order.
func (o *sortOp) byTimeOnly() (asc, ok bool) {
	if len(o.slots) == 1 && o.slots[0] == slotTime {
		return o.asc[0], true
	}
	return false, false
}

func (o *sortOp) less(a, b *tableRow) bool {
	for i, s := range o.slots {
		va, vb := a.get(s), b.get(s)
		if s == slotTime {
			va, vb = timeVal(a.t), timeVal(b.t)
		}
		c, ok := compareVals(va, vb)
		if !ok {
			if va.isNull() != vb.isNull() {
				return vb.isNull() // nulls last
			}
			continue
		}
		if c != 0 {
			if o.asc[i] {
				return c < 0
			}
			return c > 0
		}
	}
	if o.timeOrder != 0 && a.t != b.t {
		return (a.t > b.t) == (o.timeOrder > 0)
	}
	if o.tiebreak {
		for i := 0; i < len(a.cols) && i < len(b.cols); i++ {
			va, vb := a.cols[i].v, b.cols[i].v
			c, ok := compareVals(va, vb)
			if !ok && va.isNull() != vb.isNull() {
				return vb.isNull() // nulls last
			}
			if ok && c != 0 {
				return c < 0
			}
		}
	}
	return false
}

func (o *sortOp) run(_ context.Context, rows []*tableRow) ([]*tableRow, error) {
	if o.limit > 0 && len(rows) > 4*o.limit {
		return o.topN(rows), nil
	}
	sort.SliceStable(rows, func(i, j int) bool { return o.less(rows[i], rows[j]) })
	if o.limit > 0 && len(rows) > o.limit {
		rows = rows[:o.limit]
	}
	return rows, nil
}

// topN selects the first o.limit rows in order with a bounded heap whose
// root is the worst row kept; ties keep the earlier row.
func (o *sortOp) topN(rows []*tableRow) []*tableRow {
	type item struct {
		r   *tableRow
		idx int
	}
	worse := func(a, b item) bool { // a after b in the output order
		if o.less(b.r, a.r) {
			return true
		}
		if o.less(a.r, b.r) {
			return false
		}
		return a.idx > b.idx
	}
	h := make([]item, 0, o.limit)
	down := func(i int) {
		for {
			l, w := 2*i+1, i
			if l < len(h) && worse(h[l], h[w]) {
				w = l
			}
			if r := l + 1; r < len(h) && worse(h[r], h[w]) {
				w = r
			}
			if w == i {
				return
			}
			h[i], h[w] = h[w], h[i]
			i = w
		}
	}
	for idx, r := range rows {
		it := item{r, idx}
		if len(h) < o.limit {
			h = append(h, it)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(h[i], h[p]) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
			continue
		}
		if worse(h[0], it) {
			h[0] = it
			down(0)
		}
	}
	sort.Slice(h, func(i, j int) bool { return worse(h[j], h[i]) })
	out := rows[:0]
	for _, it := range h {
		out = append(out, it.r)
	}
	return out
}
