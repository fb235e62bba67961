package query

import (
	"strings"
)

// Split cuts a field by a delimiter and names the pieces (1-based):
// "| split _raw delim=':' extract 1 as user, 3 as shell". "csv" is Split
// with delim ',' and double-quoted values ("| csv _raw extract 1 as a").
type Split struct {
	Field   string
	Delim   string
	CSV     bool
	Indexes []int
	As      []string
}

func init() { registerStage(parseSplit, "split", "csv") }

func parseSplit(p *parser, name string, _ int) Stage {
	st := &Split{CSV: name == "csv", Delim: ","}
	at := p.pos
	f, ok := p.ident()
	if !ok {
		p.errorf(at, "expected the field to %s, got %s", name, p.describeNext())
		return nil
	}
	st.Field = canonicalField(f)
	save := p.pos
	if p.acceptKeyword("delim") && p.accept("=") {
		at := p.pos
		d, ok := p.stringArg("the delimiter")
		if !ok {
			return nil
		}
		if d == "" {
			p.errorf(at, "the delimiter is empty")
			return nil
		}
		st.Delim = d
	} else {
		p.pos = save
	}
	if !p.acceptKeyword("extract") {
		p.errorf(p.pos, "expected extract N as field, ... after %s %s", name, f)
		return nil
	}
	for {
		n, ok := p.intArg("a column number")
		if !ok {
			return nil
		}
		if n < 1 {
			p.errorf(p.pos, "column numbers start at 1")
			return nil
		}
		if !p.acceptKeyword("as") {
			p.errorf(p.pos, "expected as after column %d", n)
			return nil
		}
		at := p.pos
		name, ok := p.ident()
		if !ok {
			p.errorf(at, "expected a field name after as")
			return nil
		}
		st.Indexes = append(st.Indexes, n)
		st.As = append(st.As, canonicalField(name))
		if !p.accept(",") {
			return st
		}
	}
}

func (s *Split) String() string {
	out := "split " + fieldName(s.Field) + " delim=" + quote(s.Delim)
	if s.CSV {
		out = "csv " + fieldName(s.Field)
		if s.Delim != "," {
			out += " delim=" + quote(s.Delim)
		}
	}
	out += " extract "
	for i, n := range s.Indexes {
		if i > 0 {
			out += ", "
		}
		out += itoa(n) + " as " + fieldName(s.As[i])
	}
	return out
}

func (s *Split) compile(c *compiler) ([]op, error) {
	o := &splitOp{src: c.slot(s.Field), delim: s.Delim, csv: s.CSV, idx: s.Indexes}
	for _, n := range s.As {
		o.out = append(o.out, c.outSlot(n))
	}
	return []op{o}, nil
}

type splitOp struct {
	src   int
	delim string
	csv   bool
	idx   []int
	out   []int
}

func (o *splitOp) apply(r record) bool {
	v := r.get(o.src)
	if v.isNull() {
		return true
	}
	s := v.str()
	col := 1
	for len(s) > 0 || col == 1 {
		var piece string
		if o.csv && strings.HasPrefix(s, `"`) {
			piece, s = csvQuoted(s, o.delim)
		} else if i := strings.Index(s, o.delim); i >= 0 {
			piece, s = s[:i], s[i+len(o.delim):]
		} else {
			piece, s = s, ""
		}
		for k, want := range o.idx {
			if want == col {
				r.set(o.out[k], strVal(piece))
			}
		}
		col++
		if s == "" {
			break
		}
	}
	return true
}

// csvQuoted reads a "quoted" CSV value ("" is an escaped quote) and returns
// it and the rest after the delimiter.
func csvQuoted(s, delim string) (string, string) {
	var b strings.Builder
	i := 1
	for i < len(s) {
		if s[i] == '"' {
			if i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i += 2
				continue
			}
			i++
			break
		}
		b.WriteByte(s[i])
		i++
	}
	rest := s[i:]
	if j := strings.Index(rest, delim); j >= 0 {
		rest = rest[j+len(delim):]
	} else {
		rest = ""
	}
	return b.String(), rest
}
