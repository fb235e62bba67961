package evtx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// elem is one XML element of a rendered record.
type elem struct {
	name     string
	attrs    []attr
	children []*elem
	text     strings.Builder
}

type attr struct{ name, value string }

// subst is one substitution value of a template instance.
type subst struct {
	typ  byte
	data []byte
	off  int // chunk offset of data (for nested BinXML)
}

// parser renders BinXML from one chunk. Name strings are cached per chunk.
type parser struct {
	c      []byte
	names  map[uint32]string
	depth  int
	budget int // tokens left for this record: bounds hostile nesting
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
}

// document renders the BinXML in [pos, end) and returns the root element.
func (p *parser) document(pos, end int) (*elem, error) {
	holder := &elem{}
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
	s := utf16String(p.c[off+8 : off+8+2*n])
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
	el := &elem{name: name}
	for pos < end && p.c[pos]&^0x40 == 0x06 {
		aname, next, err := p.inlineName(pos+1, pos)
		if err != nil {
			return 0, err
		}
		pos = next
		holder := &elem{}
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
		if holder.text.Len() > 0 || !holder.nullSubst() {
			el.attrs = append(el.attrs, attr{aname, holder.text.String()})
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
		parent.text.WriteString(utf16String(p.c[pos+4 : pos+4+2*n]))
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
		v, null := formatValue(s.typ, s.data)
		if null && parent.name == "" && parent.text.Len() == 0 {
			parent.name = "\x00null"
		}
		parent.text.WriteString(v)
		return pos, nil
	case 0x08: // character reference
		n, err := p.u16(pos + 1)
		if err != nil {
			return 0, err
		}
		parent.text.WriteRune(rune(n))
		return pos + 3, nil
	case 0x09: // entity reference
		name, next, err := p.inlineName(pos+1, pos)
		if err != nil {
			return 0, err
		}
		parent.text.WriteString(entity(name))
		return next, nil
	case 0x07: // CDATA
		n, err := p.u16(pos + 1)
		if err != nil {
			return 0, err
		}
		if pos+3+n > end {
			return 0, errTruncated
		}
		parent.text.WriteString(utf16String(p.c[pos+3 : pos+3+n]))
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
	subs := make([]subst, count)
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

func utf16String(b []byte) string {
	// Fast path: ASCII only.
	ascii := true
	n := len(b) / 2
	for i := 0; i < n; i++ {
		if b[2*i+1] != 0 || b[2*i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		out := make([]byte, 0, n)
		for i := 0; i < n; i++ {
			out = append(out, b[2*i])
		}
		for len(out) > 0 && out[len(out)-1] == 0 {
			out = out[:len(out)-1]
		}
		return string(out)
	}
	// Slow path: UTF-16 with surrogates.
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	out := make([]byte, 0, len(u))
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return string(out)
}

const filetimeEpochDelta = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns

func filetimeNanos(ft uint64) int64 {
	if ft < filetimeEpochDelta {
		return 0
	}
	return int64(ft-filetimeEpochDelta) * 100
}

// formatValue renders a substitution value as evtx_dump does. null is true
// for the null type and empty values.
func formatValue(typ byte, d []byte) (string, bool) {
	if typ&0x80 != 0 {
		return formatArray(typ&0x7f, d), len(d) == 0
	}
	if len(d) == 0 || typ == 0 {
		return "", true
	}
	le := binary.LittleEndian
	switch typ {
	case 0x01:
		return utf16String(d), false
	case 0x02:
		return strings.TrimRight(string(d), "\x00"), false
	case 0x03:
		return strconv.Itoa(int(int8(d[0]))), false
	case 0x04:
		return strconv.Itoa(int(d[0])), false
	}
	if int(typ) < len(typeSize) && len(d) < typeSize[typ] {
		return hexUpper(d), false
	}
	switch typ {
	case 0x05:
		return strconv.Itoa(int(int16(le.Uint16(d)))), false
	case 0x06:
		return strconv.Itoa(int(le.Uint16(d))), false
	case 0x07:
		return strconv.Itoa(int(int32(le.Uint32(d)))), false
	case 0x08:
		return strconv.FormatUint(uint64(le.Uint32(d)), 10), false
	case 0x09:
		return strconv.FormatInt(int64(le.Uint64(d)), 10), false
	case 0x0a:
		return strconv.FormatUint(le.Uint64(d), 10), false
	case 0x0b:
		return strconv.FormatFloat(float64(float32frombits(le.Uint32(d))), 'g', -1, 32), false
	case 0x0c:
		return strconv.FormatFloat(float64frombits(le.Uint64(d)), 'g', -1, 64), false
	case 0x0d:
		return strconv.FormatBool(le.Uint32(d) != 0), false
	case 0x0f:
		return formatGUID(d), false
	case 0x10:
		if len(d) == 4 {
			return "0x" + strconv.FormatUint(uint64(le.Uint32(d)), 16), false
		}
		if len(d) >= 8 {
			return "0x" + strconv.FormatUint(le.Uint64(d), 16), false
		}
	case 0x11:
		return formatTime(filetimeNanos(le.Uint64(d))), false
	case 0x12:
		t := time.Date(int(le.Uint16(d)), time.Month(le.Uint16(d[2:])), int(le.Uint16(d[6:])),
			int(le.Uint16(d[8:])), int(le.Uint16(d[10:])), int(le.Uint16(d[12:])), int(le.Uint16(d[14:]))*1e6, time.UTC)
		return formatTime(t.UnixNano()), false
	case 0x13:
		return formatSID(d), false
	case 0x14:
		return "0x" + strconv.FormatUint(uint64(le.Uint32(d)), 16), false
	case 0x15:
		return "0x" + strconv.FormatUint(le.Uint64(d), 16), false
	}
	return hexUpper(d), false
}

// typeSize is the byte size of the fixed-size value types (0: variable).
var typeSize = [...]int{0x03: 1, 0x04: 1, 0x05: 2, 0x06: 2, 0x07: 4, 0x08: 4, 0x09: 8, 0x0a: 8, 0x0b: 4, 0x0c: 8,
	0x0d: 4, 0x0f: 16, 0x11: 8, 0x12: 16, 0x14: 4, 0x15: 8}

func formatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000Z")
}

func hexUpper(d []byte) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 2*len(d))
	for i, c := range d {
		b[2*i], b[2*i+1] = hex[c>>4], hex[c&0xf]
	}
	return string(b)
}

func formatGUID(d []byte) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, 36)
	for i, idx := range [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15} {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[d[idx]>>4], hex[d[idx]&0xf])
	}
	return string(b)
}

func formatSID(d []byte) string {
	if len(d) < 8 {
		return hexUpper(d)
	}
	n := int(d[1])
	var auth uint64
	for _, c := range d[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var b strings.Builder
	b.WriteString("S-")
	b.WriteString(strconv.Itoa(int(d[0])))
	b.WriteByte('-')
	b.WriteString(strconv.FormatUint(auth, 10))
	for i := 0; i < n && 8+4*i+4 <= len(d); i++ {
		b.WriteByte('-')
		b.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(d[8+4*i:])), 10))
	}
	return b.String()
}

// formatArray renders an array value as JSON array text.
func formatArray(typ byte, d []byte) string {
	var items []string
	if typ == 0x01 {
		// NUL-terminated UTF-16 strings.
		start := 0
		for i := 0; i+1 < len(d); i += 2 {
			if d[i] == 0 && d[i+1] == 0 {
				items = append(items, utf16String(d[start:i]))
				start = i + 2
			}
		}
		if start < len(d)-1 {
			items = append(items, utf16String(d[start:]))
		}
	} else {
		size := 0
		if int(typ) < len(typeSize) {
			size = typeSize[typ]
		}
		if typ == 0x10 {
			size = 8
		}
		if size == 0 {
			return hexUpper(d)
		}
		for i := 0; i+size <= len(d); i += size {
			v, _ := formatValue(typ, d[i:i+size])
			items = append(items, v)
		}
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(it))
	}
	b.WriteByte(']')
	return b.String()
}
