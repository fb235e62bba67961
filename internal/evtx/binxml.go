package evtx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// elem is one XML element of a rendered record.
type elem struct {
	name     string
	attrs    []attr
	children []*elem
	text     []byte
}

// attr is an attribute; its value is p.attrBuf[vs:ve] of the record's
// parser.
type attr struct {
	name   string
	vs, ve int
}

// subst is one substitution value of a template instance.
type subst struct {
	typ  byte
	data []byte
	off  int // chunk offset of data (for nested BinXML)
}

// parser renders BinXML from one chunk. Name strings are cached per chunk.
// A parser and its scratch are reused (pooled) across records and readers:
// nothing a Record holds points into it.
type parser struct {
	c      []byte
	names  map[uint32]string
	depth  int
	budget int // tokens left for this record: bounds hostile nesting

	// Per-record scratch, reset by document.
	blocks  [][]elem // element arena: blocks never move, so *elem stay valid
	nelem   int      // elements handed out from blocks
	attrBuf []byte   // attribute values of the record
	subBuf  []subst  // substitution arrays, used as a stack

	// Flattening scratch (flatten.go) and interned strings.
	intern  map[string]string // element, attribute and field names
	tmp     []byte
	vals    []byte
	spans   []fieldSpan
	unnamed [][]byte
	nfields int // fields of the previous record: the next one's capacity
}

const elemBlock = 128

// newElem returns a cleared element from the record's arena.
func (p *parser) newElem() *elem {
	b, i := p.nelem/elemBlock, p.nelem%elemBlock
	if b == len(p.blocks) {
		p.blocks = append(p.blocks, make([]elem, elemBlock))
	}
	p.nelem++
	el := &p.blocks[b][i]
	el.name = ""
	el.attrs = el.attrs[:0]
	el.children = el.children[:0]
	el.text = el.text[:0]
	if cap(el.text) > 1<<16 { // do not keep a hostile record's buffers
		el.text = nil
	}
	return el
}

// internBytes returns b as a string, shared with earlier equal strings.
func (p *parser) internBytes(b []byte) string {
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	if p.intern == nil || len(p.intern) >= 1<<14 {
		p.intern = make(map[string]string, 1024)
	}
	s := string(b)
	p.intern[s] = s
	return s
}

// maxTokens bounds the work for one record (a real record has a few hundred
// tokens; templates that refer to each other could otherwise blow up).
const maxTokens = 1 << 16

const maxDepth = 64

var errTruncated = errors.New("binxml truncated")

func (p *parser) reset(chunk []byte) {
	p.c = chunk
	if p.names == nil || len(p.names) > 4096 {
		p.names = map[uint32]string{}
	} else {
		clear(p.names)
	}
	p.depth = 0
	if len(p.blocks) > 64 { // a hostile record: do not keep its arena
		p.blocks = nil
	}
	if cap(p.attrBuf) > 1<<20 {
		p.attrBuf = nil
	}
	if cap(p.vals) > 1<<20 {
		p.vals = nil
	}
}

// document renders the BinXML in [pos, end) and returns the root element.
func (p *parser) document(pos, end int) (*elem, error) {
	p.nelem = 0
	p.attrBuf = p.attrBuf[:0]
	p.subBuf = p.subBuf[:0]
	holder := p.newElem()
	p.depth = 0
	p.budget = maxTokens
	if _, err := p.content(pos, end, nil, holder, false); err != nil {
		return nil, err
	}
	if len(holder.children) == 0 {
		return nil, errors.New("record has no element")
	}
	return holder.children[0], nil
}

func (p *parser) u16(pos int) (int, error) {
	if pos+2 > len(p.c) || pos < 0 {
		return 0, errTruncated
	}
	return int(binary.LittleEndian.Uint16(p.c[pos:])), nil
}

func (p *parser) u32(pos int) (int, error) {
	if pos+4 > len(p.c) || pos < 0 {
		return 0, errTruncated
	}
	return int(binary.LittleEndian.Uint32(p.c[pos:])), nil
}

// name returns the name string at a chunk offset, and the length of the
// name structure (used when it is stored inline).
func (p *parser) name(off int) (string, int, error) {
	n, err := p.u16(off + 6)
	if err != nil {
		return "", 0, err
	}
	size := 8 + 2*n + 2
	if off+8+2*n > len(p.c) {
		return "", 0, errTruncated
	}
	if s, ok := p.names[uint32(off)]; ok {
		return s, size, nil
	}
	p.tmp = appendUTF16(p.tmp[:0], p.c[off+8:off+8+2*n])
	s := p.internBytes(p.tmp)
	p.names[uint32(off)] = s
	return s, size, nil
}

// inlineName reads a name reference at pos (a uint32 chunk offset); a name
// stored right there is skipped. nodeStart is the offset of the token.
func (p *parser) inlineName(pos, nodeStart int) (string, int, error) {
	off, err := p.u32(pos)
	if err != nil {
		return "", 0, err
	}
	pos += 4
	s, size, err := p.name(off)
	if err != nil {
		return "", 0, fmt.Errorf("name at %d: %w", off, err)
	}
	if off > nodeStart {
		pos += size
	}
	return s, pos, nil
}

// content parses tokens into parent until EOF, the end of the range, or
// (inElement) an end-element token, which it consumes.
func (p *parser) content(pos, end int, subs []subst, parent *elem, inElement bool) (int, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return 0, errors.New("binxml nested too deep")
	}
	for pos < end {
		if p.budget--; p.budget < 0 {
			return 0, errors.New("binxml too complex")
		}
		tok := p.c[pos]
		switch tok &^ 0x40 {
		case 0x00: // end of stream
			return pos + 1, nil
		case 0x0f: // fragment header
			pos += 4
		case 0x01: // open start element
			var err error
			pos, err = p.element(pos, end, subs, parent)
			if err != nil {
				return 0, err
			}
		case 0x04: // end element
			if inElement {
				return pos + 1, nil
			}
			return 0, fmt.Errorf("unexpected end element at %d", pos)
		case 0x05, 0x0d, 0x0e, 0x08, 0x09, 0x07:
			var err error
			pos, err = p.text(pos, end, subs, parent)
			if err != nil {
				return 0, err
			}
		case 0x0a: // PI target
			_, next, err := p.inlineName(pos+1, pos)
			if err != nil {
				return 0, err
			}
			pos = next
		case 0x0b: // PI data
			n, err := p.u16(pos + 1)
			if err != nil {
				return 0, err
			}
			pos += 3 + 2*n
		case 0x0c:
			var err error
			pos, err = p.templateInstance(pos, end, parent)
			if err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("unknown binxml token 0x%02x at %d", tok, pos)
		}
	}
	if inElement {
		return 0, errTruncated
	}
	return pos, nil
}

func (p *parser) element(pos, end int, subs []subst, parent *elem) (int, error) {
	start := pos
	hasAttrs := p.c[pos]&0x40 != 0
	if pos+11 > end {
		return 0, errTruncated
	}
	name, next, err := p.inlineName(pos+7, start)
	if err != nil {
		return 0, err
	}
	pos = next
	if hasAttrs {
		pos += 4
	}
	el := p.newElem()
	el.name = name
	for pos < end && p.c[pos]&^0x40 == 0x06 {
		aname, next, err := p.inlineName(pos+1, pos)
		if err != nil {
			return 0, err
		}
		pos = next
		holder := p.newElem()
		pos, err = p.text(pos, end, subs, holder)
		if err != nil {
			return 0, err
		}
		// Further value tokens of the same attribute.
		for pos < end && isValueToken(p.c[pos]) {
			pos, err = p.text(pos, end, subs, holder)
			if err != nil {
				return 0, err
			}
		}
		if len(holder.text) > 0 || !holder.nullSubst() {
			vs := len(p.attrBuf)
			p.attrBuf = append(p.attrBuf, holder.text...)
			el.attrs = append(el.attrs, attr{aname, vs, len(p.attrBuf)})
		}
	}
	if pos >= end {
		return 0, errTruncated
	}
	switch p.c[pos] {
	case 0x02: // close start element: content follows
		pos, err = p.content(pos+1, end, subs, el, true)
		if err != nil {
			return 0, err
		}
	case 0x03: // close empty element
		pos++
	default:
		return 0, fmt.Errorf("unexpected token 0x%02x in element %s at %d", p.c[pos], name, pos)
	}
	parent.children = append(parent.children, el)
	return pos, nil
}

// nullSubst marks an attribute holder whose value was an empty optional
// substitution (the attribute is then left out).
func (e *elem) nullSubst() bool { return e.name == "\x00null" }

func isValueToken(t byte) bool {
	switch t &^ 0x40 {
	case 0x05, 0x0d, 0x0e, 0x08, 0x09, 0x07:
		return true
	}
	return false
}

// text parses one value-like token and appends its text to parent.
func (p *parser) text(pos, end int, subs []subst, parent *elem) (int, error) {
	if pos >= end {
		return 0, errTruncated
	}
	switch p.c[pos] &^ 0x40 {
	case 0x05: // value
		if pos+2 > end {
			return 0, errTruncated
		}
		typ := p.c[pos+1]
		if typ != 0x01 {
			return 0, fmt.Errorf("value of type 0x%02x in binxml at %d", typ, pos)
		}
		n, err := p.u16(pos + 2)
		if err != nil {
			return 0, err
		}
		if pos+4+2*n > end {
			return 0, errTruncated
		}
		parent.text = appendUTF16(parent.text, p.c[pos+4:pos+4+2*n])
		return pos + 4 + 2*n, nil
	case 0x0d, 0x0e: // normal or optional substitution
		id, err := p.u16(pos + 1)
		if err != nil {
			return 0, err
		}
		pos += 4
		if id >= len(subs) {
			if p.c[pos-4]&^0x40 == 0x0e {
				return pos, nil
			}
			return 0, fmt.Errorf("substitution %d of %d", id, len(subs))
		}
		s := subs[id]
		if s.typ == 0x21 { // nested BinXML
			_, err := p.content(s.off, s.off+len(s.data), nil, parent, false)
			return pos, err
		}
		empty := len(parent.text) == 0
		var null bool
		parent.text, null = appendValue(parent.text, s.typ, s.data)
		if null && parent.name == "" && empty {
			parent.name = "\x00null"
		}
		return pos, nil
	case 0x08: // character reference
		n, err := p.u16(pos + 1)
		if err != nil {
			return 0, err
		}
		parent.text = utf8.AppendRune(parent.text, rune(n))
		return pos + 3, nil
	case 0x09: // entity reference
		name, next, err := p.inlineName(pos+1, pos)
		if err != nil {
			return 0, err
		}
		parent.text = append(parent.text, entity(name)...)
		return next, nil
	case 0x07: // CDATA
		n, err := p.u16(pos + 1)
		if err != nil {
			return 0, err
		}
		if pos+3+n > end {
			return 0, errTruncated
		}
		parent.text = appendUTF16(parent.text, p.c[pos+3:pos+3+n])
		return pos + 3 + n, nil
	}
	return 0, fmt.Errorf("unexpected token 0x%02x at %d", p.c[pos], pos)
}

func entity(name string) string {
	switch name {
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "amp":
		return "&"
	case "quot":
		return `"`
	case "apos":
		return "'"
	}
	return "&" + name + ";"
}

// templateInstance renders a template with its substitution values.
func (p *parser) templateInstance(pos, end int, parent *elem) (int, error) {
	start := pos
	if pos+10 > end {
		return 0, errTruncated
	}
	defOff, _ := p.u32(pos + 6)
	pos += 10
	if defOff+24 > len(p.c) || defOff < chunkHeader {
		return 0, fmt.Errorf("template definition offset %d out of range", defOff)
	}
	dataSize, _ := p.u32(defOff + 20)
	if defOff+24+dataSize > len(p.c) {
		return 0, fmt.Errorf("template definition at %d overruns the chunk", defOff)
	}
	if defOff > start {
		pos = defOff + 24 + dataSize // resident: the definition follows
	}
	count, err := p.u32(pos)
	if err != nil {
		return 0, err
	}
	pos += 4
	if count > 4096 || pos+4*count > end {
		return 0, fmt.Errorf("bad substitution count %d", count)
	}
	base := len(p.subBuf)
	p.subBuf = append(p.subBuf, make([]subst, count)...)
	subs := p.subBuf[base : base+count : base+count]
	defer func() { p.subBuf = p.subBuf[:base] }()
	dpos := pos + 4*count
	for i := range subs {
		size, _ := p.u16(pos + 4*i)
		subs[i].typ = p.c[pos+4*i+2]
		if dpos+size > end {
			return 0, errTruncated
		}
		subs[i].data = p.c[dpos : dpos+size]
		subs[i].off = dpos
		dpos += size
	}
	if _, err := p.content(defOff+24, defOff+24+dataSize, subs, parent, false); err != nil {
		return 0, fmt.Errorf("template at %d: %w", defOff, err)
	}
	return dpos, nil
}

const filetimeEpochDelta = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns

func filetimeNanos(ft uint64) int64 {
	if ft < filetimeEpochDelta {
		return 0
	}
	return int64(ft-filetimeEpochDelta) * 100
}
