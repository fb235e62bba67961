package parse

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf16"
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
	d := jsonDecoder{buf: line, src: src, out: dst, jsonScratch: *sc}
	defer func() { *sc = d.jsonScratch; putJSONScratch(sc) }() // keep grown buffers
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
}

// valRef says that out[field].Value is vals[start:end].
type valRef struct{ field, start, end int }

var jsonScratchPool = sync.Pool{New: func() any { return &jsonScratch{names: make([]byte, 0, 256)} }}

func getJSONScratch() *jsonScratch { return jsonScratchPool.Get().(*jsonScratch) }

func putJSONScratch(sc *jsonScratch) {
	if cap(sc.names) > 64<<10 || cap(sc.vals) > 64<<10 || cap(sc.refs) > 4<<10 {
		return // a hostile document: let it go
	}
	sc.names, sc.vals, sc.refs = sc.names[:0], sc.vals[:0], sc.refs[:0]
	jsonScratchPool.Put(sc)
}

type jsonDecoder struct {
	buf []byte
	src string // "" or string(buf): values are substrings of it
	pos int
	out []event.Field
	jsonScratch
	aliased bool // the last str() result aliases buf (no escapes)
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
	d.out = append(d.out, event.Field{Name: internName(name), Value: v})
}

// nameCache interns member names: documents of one source repeat the same
// few hundred names, so most lookups return an existing string and the
// name costs no allocation. Entries are replaced on collision; the cache
// is safe for concurrent use.
var nameCache [4096]atomic.Pointer[string]

func internName(b []byte) string {
	// Names of one source share prefixes and differ at the end: hash the
	// length, the first byte and the last eight bytes. Shorter names are
	// read whole, without a loop: two overlapping 4-byte words, or three
	// bytes.
	h := uint64(len(b)) * 0x9E3779B97F4A7C15
	switch {
	case len(b) >= 8:
		h ^= binary.LittleEndian.Uint64(b[len(b)-8:]) * 0xC2B2AE3D27D4EB4F
		h ^= uint64(b[0]) * 0x165667B19E3779F9
	case len(b) >= 4:
		h ^= uint64(binary.LittleEndian.Uint32(b[len(b)-4:])) * 0xC2B2AE3D27D4EB4F
		h ^= uint64(binary.LittleEndian.Uint32(b)) * 0x165667B19E3779F9
	case len(b) > 0:
		h ^= (uint64(b[0]) | uint64(b[len(b)/2])<<8 | uint64(b[len(b)-1])<<16) * 0xC2B2AE3D27D4EB4F
	}
	h ^= h >> 29
	slot := &nameCache[h&uint64(len(nameCache)-1)]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
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

// str parses a string at d.pos ('"') and returns its unescaped bytes. The
// result aliases d.buf when it needs no change (no escapes, valid UTF-8:
// d.aliased), else it lies in the spare capacity of d.vals: use it before
// the next call (emitStr keeps it). Invalid UTF-8 is replaced by U+FFFD.
func (d *jsonDecoder) str() ([]byte, error) {
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
func (d *jsonDecoder) strRest(start, i int) ([]byte, error) {
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
		i = plainEnd(buf, i)
	}
	d.pos = i
	return d.strSlow(start)
}

// strSlow unescapes the string that started at start, d.pos being at its
// first byte that needs a change, into the spare capacity of d.vals.
func (d *jsonDecoder) strSlow(start int) ([]byte, error) {
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
			end := plainEnd(d.buf, d.pos+1)
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

// simpleEscapes maps the byte after a backslash to the character it
// stands for, for the one-character escapes (0: not one).
var simpleEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// escape appends the character of the escape sequence at d.pos ('\\')
// to out.
func (d *jsonDecoder) escape(out []byte) ([]byte, error) {
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

// plainEnd returns the index of the first byte of buf at or after i that
// is '"', '\\', a control character or non-ASCII, or len(buf): eight
// bytes at a time, then bytewise. The lowest bit of the SWAR mask marks
// the first special byte of a word exactly.
func plainEnd(buf []byte, i int) int {
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

// strSpecial reports whether any byte of w is '"', '\\', a control
// character or non-ASCII (SWAR: exact for "any", no false negatives).
func strSpecial(w uint64) bool { return strSpecialMask(w) != 0 }

// strSpecialMask has the high bit of each byte of w that may be special
// set; the lowest set bit is exact (borrows only run upwards from a true
// hit), higher ones may be false positives.
//
// The usual has-zero test is (x-lo)&^x&hi; the &^x only clears the high
// bits of bytes that are 0x80 or more, which are special here anyway
// (the final |w), so it is left out: a byte of q, b or w-0x20 gets its
// high bit from the subtraction only when it is zero (below 0x20 for
// w), or when a borrow comes from a lower byte that was.
func strSpecialMask(w uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := w ^ (lo * '"')
	b := w ^ (lo * '\\')
	return ((q - lo) | (b - lo) | (w - lo*0x20) | w) & hi
}

func (d *jsonDecoder) hex4() (rune, error) {
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
