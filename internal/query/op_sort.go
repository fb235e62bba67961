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
	return false
}

func (o *sortOp) run(_ context.Context, rows []*tableRow) ([]*tableRow, error) {
	sort.SliceStable(rows, func(i, j int) bool { return o.less(rows[i], rows[j]) })
	return rows, nil
}
