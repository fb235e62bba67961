package parse

// The JSON decoder as it was before session 6 (values as substrings of the
// line, escapes in one buffer), kept as the oracle of the differential
// tests: the current decoder must give byte-equal fields and the same
// errors. Names are not interned here.

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/event"
)

func oldFlattenJSON(line []byte, src string, dst []event.Field) ([]event.Field, error) {
	// Member names and values are built in pooled buffers (names are
	// interned or copied before they are kept, values copied at the end).
	sc := oldGetScratch()
	d := oldJSONDecoder{buf: line, src: src, out: dst, oldJSONScratch: *sc}
	defer func() { *sc = d.oldJSONScratch; oldPutScratch(sc) }() // keep grown buffers
	n0 := len(dst)
	d.skipSpace()
	if d.pos >= len(d.buf) {
		return dst, &JSONError{Offset: d.pos, Msg: "empty input"}
	}
	if d.buf[d.pos] != '{' {
		return dst, &JSONError{Offset: d.pos, Msg: "want an object"}
	}
	if err := d.object(nil, 0); err != nil {
		return dst[:n0], err
	}
	d.skipSpace()
	if d.pos < len(d.buf) {
		return dst[:n0], &JSONError{Offset: d.pos, Msg: "data after the object"}
	}
	d.setValues()
	return d.out, nil
}

// oldJSONScratch holds a decoder's reusable buffers.
type oldJSONScratch struct {
	names []byte      // the dotted name of the member being decoded
	vals  []byte      // values that are not substrings of src, back to back
	refs  []oldValRef // the fields whose value is in vals
}

// oldValRef says that out[field].Value is vals[start:end].
type oldValRef struct{ field, start, end int }

var oldScratchPool = sync.Pool{New: func() any { return &oldJSONScratch{names: make([]byte, 0, 256)} }}

func oldGetScratch() *oldJSONScratch { return oldScratchPool.Get().(*oldJSONScratch) }

func oldPutScratch(sc *oldJSONScratch) {
	if cap(sc.names) > 64<<10 || cap(sc.vals) > 64<<10 || cap(sc.refs) > 4<<10 {
		return // a hostile document: let it go
	}
	sc.names, sc.vals, sc.refs = sc.names[:0], sc.vals[:0], sc.refs[:0]
	oldScratchPool.Put(sc)
}

type oldJSONDecoder struct {
	buf []byte
	src string // "" or string(buf): values are substrings of it
	pos int
	out []event.Field
	oldJSONScratch
	aliased bool // the last str() result aliases buf (no escapes)
}

// emitCopy emits a value that is not a substring of src: its bytes go
// to vals and the field's Value is set by setValues.
func (d *oldJSONDecoder) emitCopy(name, v []byte) {
	start := len(d.vals)
	d.vals = append(d.vals, v...)
	d.emitVals(name, start)
}

// emitVals emits vals[start:] (the bytes appended last) as the value.
func (d *oldJSONDecoder) emitVals(name []byte, start int) {
	d.refs = append(d.refs, oldValRef{field: len(d.out), start: start, end: len(d.vals)})
	d.emit(name, "")
}

// emitStr emits the string just read by str (s) when it is not a
// substring of src.
func (d *oldJSONDecoder) emitStr(name, s []byte) {
	switch {
	case d.aliased:
		d.emitCopy(name, s)
	default:
		// str unescaped s into the spare capacity of vals: keep it there.
		start := len(d.vals)
		d.vals = d.vals[:start+len(s)]
		d.emitVals(name, start)
	}
}

// setValues turns vals into one string and points the fields of refs
// at their parts of it.
func (d *oldJSONDecoder) setValues() {
	if len(d.refs) == 0 {
		return
	}
	all := string(d.vals)
	for _, r := range d.refs {
		d.out[r.field].Value = all[r.start:r.end]
	}
}

func (d *oldJSONDecoder) errf(format string, args ...any) error {
	return &JSONError{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

func (d *oldJSONDecoder) skipSpace() {
	// Fast path: compact JSON has no white space; every white-space byte
	// is at most ' '.
	if d.pos < len(d.buf) && d.buf[d.pos] > ' ' {
		return
	}
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// object parses an object at d.pos ('{'), emitting members under prefix.
func (d *oldJSONDecoder) object(prefix []byte, depth int) error {
	if depth > maxJSONDepth {
		return d.errf("nested deeper than %d", maxJSONDepth)
	}
	d.pos++ // '{'
	d.skipSpace()
	if d.pos < len(d.buf) && d.buf[d.pos] == '}' {
		d.pos++
		return nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.buf) {
			return d.errf("unexpected end in object")
		}
		if d.buf[d.pos] != '"' {
			return d.errf("want a member name")
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		d.skipSpace()
		if d.pos >= len(d.buf) || d.buf[d.pos] != ':' {
			return d.errf("want ':' after member name")
		}
		d.pos++
		d.skipSpace()
		// prefix is d.names[:len(prefix)]; the member's name extends it in
		// place and the buffer is cut back after the value. A top-level
		// name read straight from buf is used as it is, unless the value
		// is an object (its members' names extend it in d.names).
		n := len(prefix)
		name := key
		if n > 0 || !d.aliased || (d.pos < len(d.buf) && d.buf[d.pos] == '{') {
			name = d.names[:n]
			if n > 0 {
				name = append(name, '.')
			}
			name = append(name, key...)
			d.names = name
		}
		if d.pos < len(d.buf) && d.buf[d.pos] == '"' {
			// A string, the common value, is read here rather than in
			// value: the call and its switch cost more than the work.
			start := d.pos + 1
			s, err := d.str()
			if err != nil {
				return err
			}
			if d.aliased && d.src != "" {
				d.emit(name, d.src[start:start+len(s)])
			} else {
				d.emitStr(name, s)
			}
		} else if err := d.value(name, depth); err != nil {
			return err
		}
		d.names = d.names[:n]
		d.skipSpace()
		if d.pos >= len(d.buf) {
			return d.errf("unexpected end in object")
		}
		switch d.buf[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.errf("want ',' or '}' in object")
		}
	}
}

// value parses one value other than a string (object reads those
// itself) and emits it under name.
func (d *oldJSONDecoder) value(name []byte, depth int) error {
	if d.pos >= len(d.buf) {
		return d.errf("unexpected end, want a value")
	}
	switch c := d.buf[d.pos]; {
	case c == '{':
		return d.object(name, depth+1)
	case c == '[':
		start := d.pos
		if err := d.skipValue(depth + 1); err != nil {
			return err
		}
		if arr := d.buf[start:d.pos]; d.src != "" && isCompactJSON(arr) {
			d.emit(name, d.src[start:d.pos])
		} else {
			start := len(d.vals)
			d.vals = appendCompactJSON(d.vals, arr)
			d.emitVals(name, start)
		}
		return nil
	case c == 'n':
		return d.literal("null")
	case c == 't':
		if err := d.literal("true"); err != nil {
			return err
		}
		d.emit(name, "true")
		return nil
	case c == 'f':
		if err := d.literal("false"); err != nil {
			return err
		}
		d.emit(name, "false")
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := d.pos
		if err := d.number(); err != nil {
			return err
		}
		if d.src != "" {
			d.emit(name, d.src[start:d.pos])
		} else {
			d.emitCopy(name, d.buf[start:d.pos])
		}
		return nil
	default:
		return d.errf("unexpected character %q", c)
	}
}

func (d *oldJSONDecoder) emit(name []byte, v string) {
	d.out = append(d.out, event.Field{Name: string(name), Value: v})
}

func (d *oldJSONDecoder) literal(lit string) error {
	if len(d.buf)-d.pos < len(lit) || string(d.buf[d.pos:d.pos+len(lit)]) != lit {
		return d.errf("invalid literal, want %s", lit)
	}
	d.pos += len(lit)
	return nil
}

func (d *oldJSONDecoder) number() error {
	start := d.pos
	if d.buf[d.pos] == '-' {
		d.pos++
	}
	digits := func() int {
		n := 0
		for d.pos < len(d.buf) && d.buf[d.pos] >= '0' && d.buf[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	lead := d.pos
	if n := digits(); n == 0 || (n > 1 && d.buf[lead] == '0') {
		return d.errf("invalid number")
	}
	if d.pos < len(d.buf) && d.buf[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return d.errf("invalid number")
		}
	}
	if d.pos < len(d.buf) && (d.buf[d.pos] == 'e' || d.buf[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.buf) && (d.buf[d.pos] == '+' || d.buf[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return d.errf("invalid number exponent")
		}
	}
	if d.pos == start {
		return d.errf("invalid number")
	}
	return nil
}

// str parses a string at d.pos ('"') and returns its unescaped bytes. The
// result aliases d.buf when it needs no change (no escapes, valid UTF-8:
// d.aliased), else it lies in the spare capacity of d.vals: use it before
// the next call (emitStr keeps it). Invalid UTF-8 is replaced by U+FFFD.
func (d *oldJSONDecoder) str() ([]byte, error) {
	buf := d.buf
	start := d.pos + 1 // after the opening quote
	// Fast path: plain ASCII up to the closing quote, eight bytes at a
	// time, then bytewise (plainEnd inlined: most strings end here). The
	// lowest bit of the SWAR mask marks the first special byte exactly.
	i := start
	for i+8 <= len(buf) {
		if m := strSpecialMask(binary.LittleEndian.Uint64(buf[i:])); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			break
		}
		i += 8
	}
	for i < len(buf) {
		c := buf[i]
		if c == '"' {
			d.pos = i + 1
			d.aliased = true
			return buf[start:i], nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	return d.strRest(start, i)
}

// strRest goes on with str from i, the first special byte of the string
// that started at start: valid UTF-8 sequences are kept as they are (the
// result still aliases buf), anything else takes strSlow.
func (d *oldJSONDecoder) strRest(start, i int) ([]byte, error) {
	buf := d.buf
	for {
		if i >= len(buf) {
			break // unterminated: the slow path reports it
		}
		c := buf[i]
		if c == '"' {
			d.pos = i + 1
			d.aliased = true
			return buf[start:i], nil
		}
		if c < utf8.RuneSelf {
			break // an escape or a control character
		}
		r, size := utf8.DecodeRune(buf[i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		i += size
		i = oldPlainEnd(buf, i)
	}
	d.pos = i
	return d.strSlow(start)
}

// strSlow unescapes the string that started at start, d.pos being at its
// first byte that needs a change, into the spare capacity of d.vals.
func (d *oldJSONDecoder) strSlow(start int) ([]byte, error) {
	d.aliased = false
	base := len(d.vals)
	out := append(d.vals, d.buf[start:d.pos]...)
	for d.pos < len(d.buf) {
		c := d.buf[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.vals = out[:base] // a grown buffer; the result stays beyond len
			return out[base:], nil
		case c < 0x20:
			return nil, d.errf("control character in string")
		case c == '\\':
			if d.pos+1 < len(d.buf) {
				if e := simpleEscapes[d.buf[d.pos+1]]; e != 0 { // inlined escape
					out = append(out, e)
					d.pos += 2
					continue
				}
			}
			var err error
			if out, err = d.escape(out); err != nil {
				return nil, err
			}
		case c < utf8.RuneSelf:
			// Copy the run of plain bytes up to the next special one.
			end := oldPlainEnd(d.buf, d.pos+1)
			out = append(out, d.buf[d.pos:end]...)
			d.pos = end
		default:
			r, size := utf8.DecodeRune(d.buf[d.pos:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, d.buf[d.pos:d.pos+size]...)
			}
			d.pos += size
		}
	}
	return nil, d.errf("unterminated string")
}

// escape appends the character of the escape sequence at d.pos ('\\')
// to out.
func (d *oldJSONDecoder) escape(out []byte) ([]byte, error) {
	if d.pos+1 >= len(d.buf) {
		return nil, d.errf("unexpected end in string escape")
	}
	e := d.buf[d.pos+1]
	d.pos += 2
	switch e {
	case '"', '\\', '/':
		return append(out, e), nil
	case 'b':
		return append(out, '\b'), nil
	case 'f':
		return append(out, '\f'), nil
	case 'n':
		return append(out, '\n'), nil
	case 'r':
		return append(out, '\r'), nil
	case 't':
		return append(out, '\t'), nil
	case 'u':
		r, err := d.hex4()
		if err != nil {
			return nil, err
		}
		if utf16.IsSurrogate(r) {
			r2 := rune(-1)
			if d.pos+1 < len(d.buf) && d.buf[d.pos] == '\\' && d.buf[d.pos+1] == 'u' {
				save := d.pos
				d.pos += 2
				if r2, err = d.hex4(); err != nil {
					return nil, err
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
				} else {
					d.pos = save
					r = utf8.RuneError
				}
			} else {
				r = utf8.RuneError
			}
		}
		return utf8.AppendRune(out, r), nil
	}
	return nil, d.errf("invalid escape \\%c", e)
}

func (d *oldJSONDecoder) hex4() (rune, error) {
	if len(d.buf)-d.pos < 4 {
		return 0, d.errf("short \\u escape")
	}
	v, err := strconv.ParseUint(string(d.buf[d.pos:d.pos+4]), 16, 32)
	if err != nil {
		return 0, d.errf("invalid \\u escape")
	}
	d.pos += 4
	return rune(v), nil
}

// skipValue validates and skips one value (used for arrays).
func (d *oldJSONDecoder) skipValue(depth int) error {
	if depth > maxJSONDepth {
		return d.errf("nested deeper than %d", maxJSONDepth)
	}
	if d.pos >= len(d.buf) {
		return d.errf("unexpected end, want a value")
	}
	switch c := d.buf[d.pos]; {
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		d.pos++
		d.skipSpace()
		if d.pos < len(d.buf) && d.buf[d.pos] == closer {
			d.pos++
			return nil
		}
		for {
			d.skipSpace()
			if c == '{' {
				if d.pos >= len(d.buf) || d.buf[d.pos] != '"' {
					return d.errf("want a member name")
				}
				if _, err := d.str(); err != nil {
					return err
				}
				d.skipSpace()
				if d.pos >= len(d.buf) || d.buf[d.pos] != ':' {
					return d.errf("want ':' after member name")
				}
				d.pos++
				d.skipSpace()
			}
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			d.skipSpace()
			if d.pos >= len(d.buf) {
				return d.errf("unexpected end")
			}
			if d.buf[d.pos] == ',' {
				d.pos++
				continue
			}
			if d.buf[d.pos] == closer {
				d.pos++
				return nil
			}
			return d.errf("want ',' or %q", closer)
		}
	case c == '"':
		_, err := d.str()
		return err
	case c == 'n':
		return d.literal("null")
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	default:
		return d.errf("unexpected character %q", c)
	}
}

func oldPlainEnd(buf []byte, i int) int {
	for ; i+8 <= len(buf); i += 8 {
		if m := strSpecialMask(binary.LittleEndian.Uint64(buf[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(buf); i++ {
		if c := buf[i]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

// oldDecodeJSONEvent is DecodeJSONEvent as it was, over oldFlattenJSON.
func oldDecodeJSONEvent(line []byte, ev *event.Event, opts JSONEventOptions) error {
	// One copy of the line: values without escapes, and Raw when there is
	// no message member, are substrings of it (one allocation per line,
	// not one per member).
	src := string(line)
	n0 := len(ev.Fields)
	fields, err := oldFlattenJSON(line, src, ev.Fields)
	if err != nil {
		return err
	}
	timeIdx, msgIdx := -1, -1
	timeRank, msgRank := len(TimeKeys), len(MessageKeys)
	for i := n0; i < len(fields); i++ {
		name := fields[i].Name
		tr, mr := keyRanks(name)
		if opts.TimeField != "" {
			tr = -1
			if name == opts.TimeField {
				tr = 0
			}
		}
		if tr >= 0 && tr < timeRank {
			timeIdx, timeRank = i, tr
		}
		if mr >= 0 && mr < msgRank {
			msgIdx, msgRank = i, mr
		}
	}
	var timeErr error
	if timeIdx >= 0 && fields[timeIdx].Value == "" {
		timeIdx = -1 // an empty time is no time; keep the member as a field
	}
	if timeIdx >= 0 {
		if ns, ok := ParseTimeValue(fields[timeIdx].Value); ok {
			ev.Time = ns
		} else {
			timeErr = fmt.Errorf("%w: %s=%q", ErrNoTime, fields[timeIdx].Name, truncate(fields[timeIdx].Value, 64))
			timeIdx = -1 // keep it as a field
		}
	}
	if msgIdx >= 0 {
		ev.Raw = fields[msgIdx].Value
	} else {
		ev.Raw = src
	}
	out := fields[:n0]
	for i := n0; i < len(fields); i++ {
		if i == timeIdx || i == msgIdx {
			continue
		}
		f := fields[i]
		if len(f.Name) > 0 && f.Name[0] == '_' { // metadata names all start with '_'
			switch f.Name {
			case event.FieldSource, event.FieldHost, event.FieldCategory, event.FieldPartition:
				ev.Set(f.Name, f.Value)
				continue
			}
		}
		out = append(out, f)
	}
	ev.Fields = out
	return timeErr
}
