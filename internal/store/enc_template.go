package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// The _raw column of a part block is stored as templates: the raw text
// with each first occurrence of a field's value (and of the stream's host
// and source) replaced by a two-byte reference, so a value is not stored
// twice. A literal 0x01 byte is escaped as 0x01 0x01.
//
//	0x01 0x01      literal 0x01
//	0x01 0x02      the stream's host
//	0x01 0x03      the stream's source
//	0x01 (4+k)     the value of the block's column k in the same row
//
// Templates are stored with kindTemplate (the body of kindPlain).
const (
	kindTemplate byte = 5

	tmplEsc      = 0x01
	tmplHost     = 0x02
	tmplSource   = 0x03
	tmplColBase  = 0x04
	tmplMaxCols  = 256 - tmplColBase
	tmplMinValue = 3 // shorter values are cheaper as text
)

type tmplRef struct {
	pos, n int
	code   byte
}

// templater builds templates; it reuses its buffers between rows.
type templater struct {
	refs []tmplRef
	seen []seenValue // the values looked for in the current row
	// seenLens has bit len(v)%64 set for each value v of seen, so most
	// values new to the row skip the scan of seen.
	seenLens uint64
	data     []byte
	ends     []int // per row: end of its template in data
	sk       skeletoner
}

// seenValue is a value appendTemplate looked for in the current row and
// where it found it (-1: nowhere in the raw text).
type seenValue struct {
	v   string
	pos int
}

// chunk appends the _raw chunk of the rows to dst: kindSkeleton when the
// rows' templates share few skeletons (enc_skel.go), else kindTemplate.
// Like body, it marks the covered rows of cb's columns.
func (tp *templater) chunk(dst []byte, rows []*event.Event, cb *colBuilder, lv level) []byte {
	tp.build(rows, cb)
	if out, ok := tp.sk.encode(dst, tp.data, tp.ends, lv); ok {
		return out
	}
	return encodeChunk(dst, kindTemplate, tp.templateBody(), lv)
}

// body returns the kindTemplate chunk body for the rows' raw texts. As a
// side product it marks in each column's covered array the rows whose
// value occurs in the raw text at word boundaries: every token of such a
// value is also a token of the raw text (see coveredAt), so the bloom
// builder need not tokenize it again.
func (tp *templater) body(rows []*event.Event, cb *colBuilder) []byte {
	tp.build(rows, cb)
	return tp.templateBody()
}

// templateBody returns the kindTemplate body of the templates build made.
func (tp *templater) templateBody() []byte {
	lens := make([]byte, 0, 2*len(tp.ends)+len(tp.data))
	start := 0
	for _, e := range tp.ends {
		lens = binary.AppendUvarint(lens, uint64(e-start)+1)
		start = e
	}
	return append(lens, tp.data...)
}

// build makes the rows' templates (tp.data, tp.ends) and marks the
// covered rows (see body).
func (tp *templater) build(rows []*event.Event, cb *colBuilder) {
	for i := range cb.cols {
		c := &cb.cols[i]
		if cap(c.covered) < len(rows) {
			c.covered = make([]bool, len(rows))
		}
		c.covered = c.covered[:len(rows)]
		clear(c.covered)
	}
	data, ends := tp.data[:0], tp.ends[:0]
	for i, e := range rows {
		data = tp.appendTemplate(data, e.Raw, e, i, cb)
		ends = append(ends, len(data))
	}
	tp.data, tp.ends = data, ends
}

// appendTemplate appends the template of raw; e's fields map to columns
// through cb, and a field is referenced only when its column holds its
// value in row.
func (tp *templater) appendTemplate(b []byte, raw string, e *event.Event, row int, cb *colBuilder) []byte {
	tp.refs, tp.seen, tp.seenLens = tp.refs[:0], tp.seen[:0], 0
	// Any occurrence of a value will do. Fields mostly appear in the raw
	// text in their order, so each is looked for after the previous
	// field's first, then (start positions before that) in front of it
	// (see find).
	tp.find(raw, e.Host, tmplHost, 0)
	tp.find(raw, e.Source, tmplSource, 0)
	from := 0
	for fi := range e.Fields {
		f := &e.Fields[fi]
		j, ok := cb.find(fi, f.Name)
		if !ok || j >= tmplMaxCols {
			continue
		}
		c := &cb.cols[j]
		if !sameString(c.vals[row], f.Value) || (c.absent != nil && c.absent[row]) {
			continue
		}
		p := tp.find(raw, f.Value, byte(tmplColBase+j), from)
		if p < 0 {
			continue
		}
		from = p + len(f.Value)
		if coveredAt(raw, p, len(f.Value)) {
			c.covered[row] = true
		}
	}
	if len(tp.refs) == 0 {
		return appendEscaped(b, raw)
	}
	// Longest first at equal positions, then drop overlaps.
	sortRefs(tp.refs)
	at := 0
	for _, r := range tp.refs {
		if r.pos < at {
			continue
		}
		b = appendEscaped(b, raw[at:r.pos])
		b = append(b, tmplEsc, r.code)
		at = r.pos + r.n
	}
	return appendEscaped(b, raw[at:])
}

// find looks for v in raw for appendTemplate, first at or after from, then
// (start positions before from) in front of it, adds a reference with code
// where it is found and returns its position (-1: not found, or too short
// to reference). A value the row had already (the host beside its host
// field, the normalizer's ECS copies) is not looked for in front again: it
// is not in the raw text at all, or its earlier match (which a reference
// covers already) does.
func (tp *templater) find(raw, v string, code byte, from int) int {
	if len(v) < tmplMinValue || len(v) > len(raw) {
		return -1
	}
	prev := -2
	if lb := uint64(1) << (len(v) % 64); tp.seenLens&lb != 0 {
		for i := range tp.seen {
			if sv := &tp.seen[i]; sameString(sv.v, v) {
				prev = sv.pos
				break
			}
		}
	}
	if prev == -1 {
		return -1
	}
	p := indexValue(raw[from:], v)
	switch {
	case p >= 0:
		p += from
	case prev >= 0:
		return prev // its reference is there already
	case from > 0:
		p = indexValue(raw[:min(len(raw), from+len(v)-1)], v)
	}
	if prev == -2 {
		tp.seen = append(tp.seen, seenValue{v, p})
		tp.seenLens |= uint64(1) << (len(v) % 64)
	}
	if p >= 0 {
		tp.refs = append(tp.refs, tmplRef{p, len(v), code})
	}
	return p
}

// sameString is a == b, answered without comparing bytes when both share
// their memory (a column's value and the field it was taken from).
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b) // #nosec G103 -- pointer compare only
}

// sortRefs sorts refs by position, the longest first at equal positions
// (the first added first at equal lengths). Insertion sort: fields are
// mostly found in their order, so refs come nearly sorted.
func sortRefs(refs []tmplRef) {
	for i := 1; i < len(refs); i++ {
		r := refs[i]
		j := i
		for ; j > 0 && (refs[j-1].pos > r.pos || refs[j-1].pos == r.pos && refs[j-1].n < r.n); j-- {
			refs[j] = refs[j-1]
		}
		refs[j] = r
	}
}

// coveredAt reports whether raw[p:p+n] starts and ends at word boundaries
// of raw. Then every token of raw[p:p+n] is also a token of raw: its words
// are whole words of raw, and each dotted IPv4 window of four digit groups
// inside it is a window of the same groups in raw (TestCoveredTokens and
// FuzzCoveredTokens check this against the bloom tokens).
func coveredAt(raw string, p, n int) bool {
	return (p == 0 || !token.IsWordByte(raw[p-1])) && (p+n == len(raw) || !token.IsWordByte(raw[p+n]))
}

func appendEscaped(b []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, tmplEsc)
		if i < 0 {
			return append(b, s...)
		}
		b = append(b, s[:i+1]...)
		b = append(b, tmplEsc)
		s = s[i+1:]
	}
}

var errTemplate = errors.New("bad template reference")

// missingColError is expand's error for a reference to a column that is
// not decoded (or lacks the row); it wraps errTemplate.
type missingColError struct{ k, row int }

func (e *missingColError) Error() string {
	return fmt.Sprintf("%v: column %d in row %d", errTemplate, e.k, e.row)
}

func (e *missingColError) Unwrap() error { return errTemplate }

// expandLazy is expand that, on a template's first reference to a block
// column not decoded yet, decodes it with col (which fills cols[k]) and
// redoes the row. On error dst is returned as it was.
func expandLazy(dst []byte, t string, host, source string, cols []Column, row int, col func(k int) (Column, error)) ([]byte, error) {
	mark := len(dst)
	for {
		out, err := expand(dst, t, host, source, cols, row)
		if err == nil {
			return out, nil
		}
		var me *missingColError
		if !errors.As(err, &me) || me.k >= len(cols) || cols[me.k].Values != nil {
			return out[:mark], err
		}
		if _, err := col(me.k); err != nil {
			return out[:mark], err
		}
		dst = out[:mark]
	}
}

// expand returns the raw text of template t for row; cols are the block's
// decoded columns (nil where not needed) in block order.
func expand(dst []byte, t string, host, source string, cols []Column, row int) ([]byte, error) {
	for {
		i := strings.IndexByte(t, tmplEsc)
		if i < 0 {
			return append(dst, t...), nil
		}
		dst = append(dst, t[:i]...)
		if i+1 >= len(t) {
			return dst, errTemplate
		}
		switch code := t[i+1]; {
		case code == tmplEsc:
			dst = append(dst, tmplEsc)
		case code == tmplHost:
			dst = append(dst, host...)
		case code == tmplSource:
			dst = append(dst, source...)
		case code >= tmplColBase:
			k := int(code - tmplColBase)
			if k >= len(cols) || cols[k].Values == nil || !cols[k].Has(row) {
				return dst, &missingColError{k: k, row: row}
			}
			dst = append(dst, cols[k].Values[row]...)
		default:
			return dst, fmt.Errorf("%w: code %d", errTemplate, code)
		}
		t = t[i+2:]
	}
}
