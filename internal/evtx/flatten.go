package evtx

import (
	"math"
	"strconv"

	"github.com/mamori/mamori/internal/event"
)

func float32frombits(b uint32) float32 { return math.Float32frombits(b) }
func float64frombits(b uint64) float64 { return math.Float64frombits(b) }

// fieldSpan is a flattened field whose value is p.vals[vs:ve].
type fieldSpan struct {
	name   string
	vs, ve int
}

// flatten renders an element tree as dotted fields in the evtx_dump JSON
// layout. The values of one record share one string.
func (p *parser) flatten(root *elem) []event.Field {
	p.vals = p.vals[:0]
	p.spans = p.spans[:0]
	p.flattenElem(root, root.name)
	all := string(p.vals)
	fields := make([]event.Field, len(p.spans), max(len(p.spans), p.nfields))
	for i, s := range p.spans {
		fields[i] = event.Field{Name: s.name, Value: all[s.vs:s.ve]}
	}
	p.nfields = len(p.spans)
	return fields
}

// join returns the interned concatenation of parts.
func (p *parser) join(parts ...string) string {
	b := p.tmp[:0]
	for _, s := range parts {
		b = append(b, s...)
	}
	p.tmp = b
	return p.internBytes(b)
}

// add appends a field with value v.
func (p *parser) add(name string, v []byte) {
	vs := len(p.vals)
	p.vals = append(p.vals, v...)
	p.spans = append(p.spans, fieldSpan{name, vs, len(p.vals)})
}

func (p *parser) flattenElem(el *elem, path string) {
	for _, a := range el.attrs {
		p.add(p.join(path, ".#attributes.", a.name), p.attrBuf[a.vs:a.ve])
	}
	unnamed := len(p.unnamed)
	for _, c := range el.children {
		if c.name == "Data" && (el.name == "EventData" || el.name == "UserData") {
			if n, ok := p.dataName(c); ok {
				if len(c.text) > 0 {
					p.add(p.join(path, ".", n), c.text)
				}
				continue
			}
			if len(c.children) == 0 {
				p.unnamed = append(p.unnamed, c.text)
				continue
			}
		}
		p.flattenElem(c, p.join(path, ".", c.name))
	}
	switch us := p.unnamed[unnamed:]; len(us) {
	case 0:
	case 1:
		if len(us[0]) > 0 {
			p.add(p.join(path, ".Data"), us[0])
		}
	default:
		vs := len(p.vals)
		p.vals = append(p.vals, '[')
		for i, u := range us {
			if i > 0 {
				p.vals = append(p.vals, ',')
			}
			p.vals = strconv.AppendQuote(p.vals, string(u))
		}
		p.vals = append(p.vals, ']')
		p.spans = append(p.spans, fieldSpan{p.join(path, ".Data"), vs, len(p.vals)})
	}
	p.unnamed = p.unnamed[:unnamed]
	if len(el.text) > 0 {
		if len(el.attrs) > 0 || len(el.children) > 0 {
			p.add(p.join(path, ".#text"), el.text)
		} else {
			p.add(path, el.text)
		}
	}
}

func (p *parser) dataName(c *elem) (string, bool) {
	for _, a := range c.attrs {
		if a.name == "Name" && a.ve > a.vs {
			return p.internBytes(p.attrBuf[a.vs:a.ve]), true
		}
	}
	return "", false
}
