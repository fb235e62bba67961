package parse

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/event"
)

// JSONError describes malformed JSON: what and at which byte offset.
type JSONError struct {
	Offset int
	Msg    string
}

func (e *JSONError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
const maxJSONDepth = 64

// FlattenJSON parses one JSON object and appends its members to dst as
// fields: nested objects are flattened with dots ("a.b.c"), arrays are kept
// as their compact JSON text, strings are unescaped, numbers and booleans
// keep their literal text, and null members are left out. Anything after
// the object other than white space is an error. On error dst is returned
// as it was.
func FlattenJSON(line []byte, dst []event.Field) ([]event.Field, error) {
	return flattenJSON(line, "", dst)
}

// flattenJSON is FlattenJSON where src, when not empty, holds the same
// bytes as line: values without escapes are then substrings of src instead
// of copies. Every other value (unescaped strings, arrays with white
// space, and all values when src is "") is collected in one buffer that
// becomes a single string when the document ends, so a document costs at
// most one allocation for its values.
func flattenJSON(line []byte, src string, dst []event.Field) ([]event.Field, error) {
	// Member names and values are built in pooled buffers (names are
	// interned or copied before they are kept, values copied at the end).
	sc := getJSONScratch()
	fs, err := sc.flatten(line, src, dst)
	putJSONScratch(sc)
	return fs, err
}

// flatten is flattenJSON with the caller's decoder (its buffers kept, its
// state reset here, not copied); on success d.infos describes the names of
// the fields it appended to dst.
func (d *jsonDecoder) flatten(line []byte, src string, dst []event.Field) ([]event.Field, error) {
	d.buf, d.src, d.pos, d.out = line, src, 0, dst
	d.aliased, d.known = false, nil
	d.names, d.vals, d.refs, d.infos = d.names[:0], d.vals[:0], d.refs[:0], d.infos[:0]
	d.roles = docRoles{timeIdx: -1, msgIdx: -1, timeRank: int8(len(TimeKeys)), msgRank: int8(len(MessageKeys))}
	return d.document()
}

// document decodes the whole of d.buf, one object.
func (d *jsonDecoder) document() ([]event.Field, error) {
	dst := d.out
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

// jsonScratch holds a decoder's reusable buffers.
type jsonScratch struct {
	names []byte   // the dotted name of the member being decoded
	vals  []byte   // values that are not substrings of src, back to back
	refs  []valRef // the fields whose value is in vals
	// infos[i] describes the name of the i-th field emitted (out[n0+i]);
	// decodeJSONEvent reads them after flatten.
	infos []nameClass
	roles docRoles // what the names of infos say of the document
}

// docRoles is what emit learns of a document's members from their names:
// the first best time member (by TimeKeys), the first best message member
// (by MessageKeys), as indexes into infos (-1: none), the union of the
// names' flags and the union of their bits among jsonMap's ECS names
// (nameInfo.ecsBit; normalizeInfos needs it before its first append).
type docRoles struct {
	timeIdx, msgIdx   int
	timeRank, msgRank int8
	flags             uint8
	have              uint64
}

// note records the role of the member with name in at index i of infos.
func (r *docRoles) note(in *nameInfo, i int) {
	if tr := in.timeRank; tr >= 0 && tr < r.timeRank {
		r.timeIdx, r.timeRank = i, tr
	}
	if mr := in.msgRank; mr >= 0 && mr < r.msgRank {
		r.msgIdx, r.msgRank = i, mr
	}
	r.flags |= in.flags
	r.have |= in.ecsBit
}

// valRef says that out[field].Value is vals[start:end].
type valRef struct{ field, start, end int }

// jsonScratchPool holds decoders with their buffers (a decoder is reset
// in place by flatten rather than copied out of a scratch and back).
var jsonScratchPool = sync.Pool{New: func() any { return &jsonDecoder{jsonScratch: jsonScratch{names: make([]byte, 0, 256)}} }}

func getJSONScratch() *jsonDecoder { return jsonScratchPool.Get().(*jsonDecoder) }

func putJSONScratch(d *jsonDecoder) {
	if !d.release() {
		return // a hostile document: let it go
	}
	jsonScratchPool.Put(d)
}

// release drops d's references to the caller's line and fields (a pooled
// or kept decoder must not hold them alive) and reports whether its
// buffers are small enough to keep.
func (d *jsonDecoder) release() bool {
	d.buf, d.src, d.out, d.known = nil, "", nil, nil
	return cap(d.names) <= 64<<10 && cap(d.vals) <= 64<<10 && cap(d.refs) <= 4<<10 && cap(d.infos) <= 4<<10
}

type jsonDecoder struct {
	buf []byte
	src string // "" or string(buf): values are substrings of it
	pos int
	out []event.Field
	jsonScratch
	aliased bool      // the last str() result aliases buf (no escapes)
	known   *nameInfo // the name of the member being decoded, when known (emit)
}

// emitCopy emits a value that is not a substring of src: its bytes go
// to vals and the field's Value is set by setValues.
func (d *jsonDecoder) emitCopy(name, v []byte) {
	start := len(d.vals)
	d.vals = append(d.vals, v...)
	d.emitVals(name, start)
}

// emitVals emits vals[start:] (the bytes appended last) as the value.
func (d *jsonDecoder) emitVals(name []byte, start int) {
	d.refs = append(d.refs, valRef{field: len(d.out), start: start, end: len(d.vals)})
	d.emit(name, "")
}

// emitStr emits the string just read by str (s) when it is not a
// substring of src.
func (d *jsonDecoder) emitStr(name, s []byte) {
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
func (d *jsonDecoder) setValues() {
	if len(d.refs) == 0 {
		return
	}
	all := string(d.vals)
	for _, r := range d.refs {
		d.out[r.field].Value = all[r.start:r.end]
	}
}

func (d *jsonDecoder) errf(format string, args ...any) error {
	return &JSONError{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

func (d *jsonDecoder) skipSpace() {
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
func (d *jsonDecoder) object(prefix []byte, depth int) error {
	if depth > maxJSONDepth {
		return d.errf("nested deeper than %d", maxJSONDepth)
	}
	d.pos++ // '{'
	d.skipSpace()
	if d.pos < len(d.buf) && d.buf[d.pos] == '}' {
		d.pos++
		return nil
	}
	// At the top level each member's name is first guessed from the
	// previous member's (nameInfo.next: documents of one source list their
	// members in the same order): a guess that matches the bytes costs a
	// compare of two words instead of str and internName.
	guess := firstName.guess.Load() // top level: the name expected next; nil: no guess
	hint := &firstName              // where the name that follows is remembered
	for {
		if depth == 0 && guess != nil && d.src != "" && d.pos+len(guess.name)+3 < len(d.buf) && d.buf[d.pos+len(guess.name)+3] == '"' {
			// The members the fast path takes, if any (the test: the
			// guessed name's value would be a string; not in documents
			// of nested objects).
			var st fastStop
			var err error
			guess, hint, st, err = d.fastMembers(guess, hint)
			if err != nil {
				return err
			}
			switch st {
			case fastEnd:
				return nil
			case fastSep:
				goto sep
			}
		}
		{
			if d.pos >= len(d.buf) || d.buf[d.pos] != '"' {
				d.skipSpace()
				if d.pos >= len(d.buf) {
					return d.errf("unexpected end in object")
				}
				if d.buf[d.pos] != '"' {
					return d.errf("want a member name")
				}
			}
			var key []byte
			var known *nameInfo // the member's name when the guess matched
			hit := false
			if depth == 0 && guess != nil {
				// isName, its fast path written out (the call cost as much).
				if i := d.pos + 1; guess.quoted[2] != 0 && i >= 0 && i+16 <= len(d.buf) {
					b := d.buf[i : i+16]
					hit = binary.LittleEndian.Uint64(b)&guess.quoted[2] == guess.quoted[0] && binary.LittleEndian.Uint64(b[8:])&guess.quoted[3] == guess.quoted[1]
				} else {
					hit = d.isNameSlow(guess)
				}
			}
			if !hit && depth == 0 && hint != nil {
				// The other name that followed the previous one: taken
				// as the guess, it leaves the hint as it is.
				if alt := hint.alt.Load(); alt != nil && alt != guess && d.isName(alt) {
					guess, hit = alt, true
				}
			}
			if hit {
				known = guess
				d.pos += len(guess.name) + 2
			} else {
				var err error
				if key, err = d.str(); err != nil {
					return err
				}
			}
			if p := d.pos; p+1 < len(d.buf) && d.buf[p] == ':' && d.buf[p+1] > ' ' {
				d.pos = p + 1 // Fast path: compact JSON, no white space around ':'
			} else {
				d.skipSpace()
				if d.pos >= len(d.buf) || d.buf[d.pos] != ':' {
					return d.errf("want ':' after member name")
				}
				d.pos++
				d.skipSpace()
			}
			// prefix is d.names[:len(prefix)]; the member's name extends it in
			// place and the buffer is cut back after the value. A top-level
			// name read straight from buf is used as it is, unless the value
			// is an object (its members' names extend it in d.names).
			n := len(prefix)
			name := key
			isObj := d.pos < len(d.buf) && d.buf[d.pos] == '{'
			if known != nil {
				if isObj {
					name = append(d.names[:0], known.name...)
					d.names = name
				} else {
					d.known = known // emit takes it instead of interning name
				}
			} else if n > 0 || !d.aliased || isObj {
				name = d.names[:n]
				if n > 0 {
					name = append(name, '.')
				}
				name = append(name, key...)
				d.names = name
			}
			if depth == 0 && known == nil && !isObj {
				// Interned here rather than in emit: the hint below
				// needs it.
				d.known = internName(name)
			}
			e0 := len(d.infos)
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
			if depth == 0 {
				// Remember which name followed the previous one.
				in := known
				if in == nil && !isObj && len(d.infos) == e0+1 {
					in = d.known
				}
				if hint != nil && in != guess && in != nil && in.plain {
					if guess != nil {
						hint.alt.Store(guess)
					}
					hint.guess.Store(in)
				}
				guess, hint = nil, nil
				if in != nil {
					guess, hint = in.next.guess.Load(), &in.next
				}
			}
			d.known = nil // a null value emits nothing
		}
	sep:
		if d.pos < len(d.buf) && d.buf[d.pos] == ',' {
			d.pos++ // Fast path: compact JSON
			continue
		}
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

// fastStop says where fastMembers stopped.
type fastStop uint8

const (
	fastMore fastStop = iota // at a member it does not take (d.pos: its '"')
	fastSep                  // after a value, before a separator that is not ',"'
	fastEnd                  // after the object's closing brace
)

// fastMembers decodes, at the top level of a document with a source
// string, the run of members from d.pos whose names are guessed right
// (guess, then each name's next) and whose values are plain strings:
// compact JSON, ASCII without escapes. That is most members of
// application logs, and object's general path costs a call to str and to
// emit for each and keeps d.pos in memory. It returns the guess and the
// hint for the member after the last it took (the ones it was given when
// it took none) and where it stopped. The fields it appends are the ones
// object's general path would append.
func (d *jsonDecoder) fastMembers(guess *nameInfo, hint *nameHint) (*nameInfo, *nameHint, fastStop, error) {
	buf, src := d.buf, d.src
	p := d.pos
	st := fastMore
	for guess != nil && p >= 0 && p+17 <= len(buf) {
		// The name and `":"`: as object's guess (isName's fast path).
		if buf[p] != '"' {
			break
		}
		b := buf[p+1 : p+17]
		w0, w1 := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
		var start int // the value's first byte
		if q := &guess.member; q[2] != 0 {
			if w0&q[2] != q[0] || w1&q[3] != q[1] {
				break
			}
			start = p + len(guess.name) + 4
		} else {
			// A long name: its compare, then ':' and '"'.
			q := &guess.quoted
			if q[2] == 0 || w0&q[2] != q[0] || w1&q[3] != q[1] {
				break
			}
			v := p + len(guess.name) + 2 // after the name's closing quote
			if v+1 >= len(buf) || buf[v] != ':' || buf[v+1] != '"' {
				break
			}
			start = v + 2
		}
		// The value: str's plain scan, a word at a time (values are short).
		i := start
		for {
			if i+16 <= len(buf) {
				b := buf[i : i+16]
				m0 := strSpecialMask(binary.LittleEndian.Uint64(b))
				m1 := strSpecialMask(binary.LittleEndian.Uint64(b[8:]))
				if m0|m1 != 0 {
					if m0 != 0 {
						i += bits.TrailingZeros64(m0) >> 3
					} else {
						i += 8 + bits.TrailingZeros64(m1)>>3
					}
					break
				}
				i += 16
				continue
			}
			if i+8 <= len(buf) {
				if m := strSpecialMask(binary.LittleEndian.Uint64(buf[i:])); m != 0 {
					i += bits.TrailingZeros64(m) >> 3
					break
				}
				i += 8
				continue
			}
			for i < len(buf) {
				if c := buf[i]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
					break
				}
				i++
			}
			break
		}
		in := guess
		if i >= len(buf) {
			break // unterminated: the general path reports it
		}
		if buf[i] == '"' {
			// emit, with the name known.
			if in.role {
				d.roles.note(in, len(d.infos))
			}
			d.out = append(d.out, event.Field{Name: in.name, Value: src[start:i]})
			d.infos = append(d.infos, in.class)
			p = i + 1
		} else {
			// An escape, non-ASCII or a control character at i: the rest
			// of the string as str goes on after its plain start.
			var err error
			if p, err = d.fastRest(in, start, i); err != nil {
				return nil, nil, fastMore, err
			}
		}
		guess, hint = in.next.guess.Load(), &in.next
		if p+2 <= len(buf) && binary.LittleEndian.Uint16(buf[p:]) == ','|'"'<<8 {
			p++
			continue
		}
		st = fastSep
		if p < len(buf) && buf[p] == '}' {
			p, st = p+1, fastEnd
		}
		break
	}
	d.pos = p
	return guess, hint, st, nil
}

// fastRest is fastMembers' way out for a string value with a special byte
// at i (start is its first byte): str's own continuation (strRest), then
// the value emitted as object emits it under the known name in. It
// returns the position after the string.
func (d *jsonDecoder) fastRest(in *nameInfo, start, i int) (int, error) {
	s, err := d.strRest(start, i)
	if err != nil {
		return 0, err
	}
	d.known = in
	if d.aliased {
		d.emit(nil, d.src[start:start+len(s)])
	} else {
		d.emitStr(nil, s)
	}
	d.known = nil
	return d.pos, nil
}

// isName reports whether the member name at d.pos (its opening quote) is
// exactly in's name (which has no bytes JSON escapes: nameInfo.plain),
// closing quote included. Fast path: a name under 16 bytes, 16 bytes of
// input at hand: two masked words (object has this fast path written out).
func (d *jsonDecoder) isName(in *nameInfo) bool {
	if i := d.pos + 1; in.quoted[2] != 0 && i >= 0 && i+16 <= len(d.buf) {
		b := d.buf[i : i+16]
		return binary.LittleEndian.Uint64(b)&in.quoted[2] == in.quoted[0] && binary.LittleEndian.Uint64(b[8:])&in.quoted[3] == in.quoted[1]
	}
	return d.isNameSlow(in)
}

// isNameSlow is isName for long names and the end of the input.
func (d *jsonDecoder) isNameSlow(in *nameInfo) bool {
	buf := d.buf
	i, n := d.pos+1, len(in.name)
	if i+n >= len(buf) || buf[i+n] != '"' {
		return false
	}
	b := buf[i : i+n]
	switch {
	case n >= 8 && n <= 16:
		return binary.LittleEndian.Uint64(b) == in.w0 && binary.LittleEndian.Uint64(b[n-8:]) == in.w1
	case n >= 4 && n < 8:
		return uint64(binary.LittleEndian.Uint32(b)) == in.w0 && uint64(binary.LittleEndian.Uint32(b[n-4:])) == in.w1
	case n > 0 && n < 4:
		return uint64(b[0])|uint64(b[n/2])<<8|uint64(b[n-1])<<16 == in.w0
	}
	return string(b) == in.name
}

// value parses one value other than a string (object reads those
// itself) and emits it under name.
func (d *jsonDecoder) value(name []byte, depth int) error {
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

func (d *jsonDecoder) emit(name []byte, v string) {
	in := d.known
	if in == nil {
		in = internName(name)
	}
	if in.role {
		d.roles.note(in, len(d.infos))
	}
	d.out = append(d.out, event.Field{Name: in.name, Value: v})
	d.infos = append(d.infos, in.class)
}

func (d *jsonDecoder) literal(lit string) error {
	if len(d.buf)-d.pos < len(lit) || string(d.buf[d.pos:d.pos+len(lit)]) != lit {
		return d.errf("invalid literal, want %s", lit)
	}
	d.pos += len(lit)
	return nil
}

func (d *jsonDecoder) number() error {
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

// skipValue validates and skips one value (used for arrays).
func (d *jsonDecoder) skipValue(depth int) error {
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

// isCompactJSON reports whether valid JSON text b has no white space
// outside its strings (compactJSON would return it unchanged).
func isCompactJSON(b []byte) bool {
	inStr := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// appendCompactJSON appends valid JSON text b without insignificant white
// space to out.
func appendCompactJSON(out, b []byte) []byte {
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			out = append(out, c)
			if c == '\\' && i+1 < len(b) {
				i++
				out = append(out, b[i])
			} else if c == '"' {
				inStr = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inStr = true
		}
		out = append(out, c)
	}
	return out
}
