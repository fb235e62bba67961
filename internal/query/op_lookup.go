package query

import (
	"errors"
	"fmt"
	"strings"
)

// Lookup adds fields from a lookup table by matching keys (Sumo Logic's
// lookup): "| lookup owner, team from assets on host=hostname". Without
// a match the fields stay missing. Tables come from Options.Lookup.
type Lookup struct {
	Fields []string // table columns to add; "*" adds every non-key column
	Table  string
	On     []LookupKey
}

// LookupKey pairs a row field with a table column.
type LookupKey struct {
	Field, Column string
}

// LookupTable is a table for the lookup stage: named columns and rows of
// values (one per column).
type LookupTable struct {
	Columns []string
	Rows    [][]string
}

// ErrNoLookup is returned by Options.Lookup for an unknown table.
var ErrNoLookup = errors.New("lookup table not found")

func init() { registerStage(parseLookup, "lookup") }

func parseLookup(p *parser, _ string, _ int) Stage {
	l := &Lookup{}
	if p.accept("*") {
		l.Fields = []string{"*"}
	} else if l.Fields = p.fieldNames("lookup"); l.Fields == nil {
		return nil
	}
	if !p.acceptKeyword("from") {
		p.errorf(p.pos, "expected from <table> after the lookup fields")
		return nil
	}
	p.skipSpace()
	at := p.pos
	switch c := p.peek(); {
	case strings.HasPrefix(p.src[p.pos:], "path://"):
		p.pos += len("path://")
		v, ok := p.stringArg("the table path")
		if !ok {
			return nil
		}
		l.Table = v
	case c == '"' || c == '\'':
		v, _ := p.stringArg("the table")
		l.Table = v
	default:
		v, ok := p.ident()
		if !ok {
			p.errorf(at, "expected the lookup table name after from")
			return nil
		}
		l.Table = v
	}
	if !p.acceptKeyword("on") {
		p.errorf(p.pos, "expected on field=column after the table")
		return nil
	}
	for {
		at := p.pos
		f, ok := p.ident()
		if !ok {
			p.errorf(at, "expected field=column after on")
			return nil
		}
		k := LookupKey{Field: canonicalField(f), Column: f}
		if p.accept("=") {
			if k.Column, ok = p.ident(); !ok {
				p.errorf(p.pos, "expected a table column after =")
				return nil
			}
		}
		l.On = append(l.On, k)
		if !p.accept(",") {
			return l
		}
	}
}

func (l *Lookup) String() string {
	f := "*"
	if len(l.Fields) != 1 || l.Fields[0] != "*" {
		f = fieldList(l.Fields)
	}
	table := l.Table
	if !isIdent(table) || isReservedWord(table) {
		table = quote(table)
	}
	on := make([]string, len(l.On))
	for i, k := range l.On {
		on[i] = fieldName(k.Field) + "=" + fieldName(k.Column)
	}
	return "lookup " + f + " from " + table + " on " + strings.Join(on, ", ")
}

func (l *Lookup) compile(c *compiler) ([]op, error) {
	if c.opts == nil || c.opts.Lookup == nil {
		return nil, fmt.Errorf("lookup %s: no lookup tables are configured: %w", l.Table, ErrNoLookup)
	}
	t, err := c.opts.Lookup(l.Table)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", l.Table, err)
	}
	col := func(name string) (int, error) {
		for i, n := range t.Columns {
			if n == name {
				return i, nil
			}
		}
		return 0, fmt.Errorf("lookup %s: no column %q (columns: %s)", l.Table, name, strings.Join(t.Columns, ", "))
	}
	o := &lookupOp{index: map[string]int{}, rows: t.Rows}
	keyCols := map[int]bool{}
	for _, k := range l.On {
		ci, err := col(k.Column)
		if err != nil {
			return nil, err
		}
		keyCols[ci] = true
		o.keyCols = append(o.keyCols, ci)
		o.keySlots = append(o.keySlots, c.slot(k.Field))
	}
	fields := l.Fields
	if len(fields) == 1 && fields[0] == "*" {
		fields = nil
		for i, n := range t.Columns {
			if !keyCols[i] {
				fields = append(fields, n)
			}
		}
	}
	for _, f := range fields {
		ci, err := col(f)
		if err != nil {
			return nil, err
		}
		o.outCols = append(o.outCols, ci)
		o.outSlots = append(o.outSlots, c.outSlot(f))
	}
	var key []byte
	for ri, row := range t.Rows {
		if len(row) != len(t.Columns) {
			return nil, fmt.Errorf("lookup %s: row %d has %d values for %d columns", l.Table, ri+1, len(row), len(t.Columns))
		}
		key = key[:0]
		for _, ci := range o.keyCols {
			key = appendKey(key, strVal(row[ci]))
		}
		if _, dup := o.index[string(key)]; !dup {
			o.index[string(key)] = ri
		}
	}
	return []op{o}, nil
}

type lookupOp struct {
	index    map[string]int // read-only at run time
	rows     [][]string
	keyCols  []int
	keySlots []int
	outCols  []int
	outSlots []int
}

func (o *lookupOp) apply(r record) bool {
	var buf [128]byte
	key := buf[:0]
	for _, s := range o.keySlots {
		v := r.get(s)
		if v.isNull() {
			return true
		}
		key = appendKey(key, strVal(v.str()))
	}
	ri, ok := o.index[string(key)]
	if !ok {
		return true
	}
	for i, s := range o.outSlots {
		r.set(s, strVal(o.rows[ri][o.outCols[i]]))
	}
	return true
}
