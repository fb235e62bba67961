package parse

import (
	"encoding/binary"
	"errors"
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
// of copies (one allocation per document instead of one per member).
func flattenJSON(line []byte, src string, dst []event.Field) ([]event.Field, error) {
	// Member names are built in a pooled buffer (they are interned or
	// copied before they are kept), which saves two allocations per line.
	nb := getNames()
	d := jsonDecoder{buf: line, src: src, out: dst, names: *nb}
	defer func() { *nb = d.names; putNames(nb) }() // keep a grown buffer
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
	return d.out, nil
}

var namesPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func getNames() *[]byte { return namesPool.Get().(*[]byte) }

func putNames(b *[]byte) {
	if cap(*b) > 64<<10 {
		return // a hostile name: let it go
	}
	*b = (*b)[:0]
	namesPool.Put(b)
}

type jsonDecoder struct {
	buf     []byte
	src     string // "" or string(buf): values are substrings of it
	pos     int
	out     []event.Field
	scratch []byte
	names   []byte // the dotted name of the member being decoded
	aliased bool   // the last str() result aliases buf (no escapes)
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
		// place and the buffer is cut back after the value.
		n := len(prefix)
		name := d.names[:n]
		if n > 0 {
			name = append(name, '.')
		}
		name = append(name, key...)
		d.names = name
		if err := d.value(name, depth); err != nil {
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

// value parses one value and emits it under name.
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
		d.emit(name, compactJSON(d.buf[start:d.pos]))
		return nil
	case c == '"':
		start := d.pos + 1
		s, err := d.str()
		if err != nil {
			return err
		}
		if d.aliased && d.src != "" {
			d.emit(name, d.src[start:start+len(s)])
		} else {
			d.emit(name, string(s))
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
			d.emit(name, string(d.buf[start:d.pos]))
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
// result aliases d.buf when there are no escapes, else d.scratch: use it
// before the next call. Invalid UTF-8 is replaced by U+FFFD.
func (d *jsonDecoder) str() ([]byte, error) {
	d.pos++ // opening quote
	start := d.pos
	// Fast path: ASCII without escapes, eight bytes at a time, then bytewise.
	// The lowest bit of the mask marks the first special byte exactly, so
	// the bytewise loop below starts on it.
	for d.pos+8 <= len(d.buf) {
		if m := strSpecialMask(binary.LittleEndian.Uint64(d.buf[d.pos:])); m != 0 {
			d.pos += bits.TrailingZeros64(m) >> 3
			break
		}
		d.pos += 8
	}
	for d.pos < len(d.buf) {
		c := d.buf[d.pos]
		if c == '"' {
			s := d.buf[start:d.pos]
			d.pos++
			d.aliased = true
			return s, nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
		d.pos++
	}
	// Slow path: escapes, control characters or non-ASCII.
	d.aliased = false
	out := append(d.scratch[:0], d.buf[start:d.pos]...)
	for d.pos < len(d.buf) {
		c := d.buf[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.scratch = out
			return out, nil
		case c < 0x20:
			return nil, d.errf("control character in string")
		case c == '\\':
			if d.pos+1 >= len(d.buf) {
				return nil, d.errf("unexpected end in string escape")
			}
			e := d.buf[d.pos+1]
			d.pos += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
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
				out = utf8.AppendRune(out, r)
			default:
				return nil, d.errf("invalid escape \\%c", e)
			}
		case c < 0x80:
			out = append(out, c)
			d.pos++
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

// strSpecial reports whether any byte of w is '"', '\\', a control
// character or non-ASCII (SWAR: exact for "any", no false negatives).
func strSpecial(w uint64) bool { return strSpecialMask(w) != 0 }

// strSpecialMask has the high bit of each byte of w that may be special
// set; the lowest set bit is exact (borrows only run upwards from a true
// hit), higher ones may be false positives.
func strSpecialMask(w uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := w ^ (lo * '"')
	b := w ^ (lo * '\\')
	return ((q-lo)&^q | (b-lo)&^b | (w-lo*0x20)&^w | w) & hi
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

// compactJSON returns valid JSON text without insignificant white space.
func compactJSON(b []byte) string {
	out := make([]byte, 0, len(b))
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
	return string(out)
}

// JSONEventOptions says how a JSON document becomes an event.
type JSONEventOptions struct {
	// TimeField names the member that holds the event time; "" means the
	// first of _time, @timestamp, timestamp, time, ts, eventTime.
	TimeField string
}

// TimeKeys are the members searched for the event time, in order.
var TimeKeys = []string{"_time", "@timestamp", "timestamp", "time", "ts", "eventTime"}

// MessageKeys are the members whose value becomes the event's Raw message.
var MessageKeys = []string{"_msg", "message", "msg"}

// ErrNoTime is wrapped by DecodeJSONEvent when a time member exists but
// cannot be parsed; the event is still filled in.
var ErrNoTime = errors.New("time member not understood")

// DecodeJSONEvent fills ev from one JSON document: the time from the time
// member (left unchanged when there is none), Raw from the first message
// member (the whole line when there is none), metadata members (_source,
// _host, _category, _partition) into the metadata, and every other member
// into ev.Fields. The time and message members are not kept as fields.
// When the line is not valid JSON, ev is untouched and the error is returned.
func DecodeJSONEvent(line []byte, ev *event.Event, opts JSONEventOptions) error {
	n0 := len(ev.Fields)
	fields, err := FlattenJSON(line, ev.Fields)
	if err != nil {
		return err
	}
	timeIdx, msgIdx := -1, -1
	timeRank, msgRank := len(TimeKeys), len(MessageKeys)
	for i := n0; i < len(fields); i++ {
		name := fields[i].Name
		if opts.TimeField != "" {
			if name == opts.TimeField {
				timeIdx, timeRank = i, 0
			}
		} else if r := timeKeyRank(name); r >= 0 && r < timeRank {
			timeIdx, timeRank = i, r
		}
		if r := msgKeyRank(name); r >= 0 && r < msgRank {
			msgIdx, msgRank = i, r
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
		ev.Raw = string(line)
	}
	out := fields[:n0]
	for i := n0; i < len(fields); i++ {
		if i == timeIdx || i == msgIdx {
			continue
		}
		f := fields[i]
		switch f.Name {
		case event.FieldSource, event.FieldHost, event.FieldCategory, event.FieldPartition:
			ev.Set(f.Name, f.Value)
			continue
		}
		out = append(out, f)
	}
	ev.Fields = out
	return timeErr
}

// timeKeyRank is the index of name in TimeKeys, or -1, as a switch: the compiler
// makes it a search by length and bytes. It runs for every member of
// every JSON document (TestKeyRanks keeps it in step with TimeKeys).
func timeKeyRank(name string) int {
	switch name {
	case "_time":
		return 0
	case "@timestamp":
		return 1
	case "timestamp":
		return 2
	case "time":
		return 3
	case "ts":
		return 4
	case "eventTime":
		return 5
	}
	return -1
}

// msgKeyRank is the index of name in MessageKeys, or -1, as timeKeyRank.
func msgKeyRank(name string) int {
	switch name {
	case "_msg":
		return 0
	case "message":
		return 1
	case "msg":
		return 2
	}
	return -1
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
