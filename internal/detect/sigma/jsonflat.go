package sigma

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/event"
)

// jsonFlattener flattens one JSON object per call into dotted fields. Values
// without escapes are substrings of the input (no copy), values with escapes
// are unescaped into a buffer the flattener reuses, and field names are
// interned, so a stream of same-shaped lines allocates nothing. The values
// returned stay valid until the next call (and as long as the input).
// TODO(sigma): switch to parse.FlattenJSON once it is benchmarked against
// this one (it copies every value).
type jsonFlattener struct {
	s     string
	pos   int
	out   []event.Field
	name  []byte
	names map[string]string
	// mems are, per member position in document order (nested members
	// included), the member seen there in the last line; onTrack says
	// every member of this line so far had the same key and depth as
	// there, so this member's full name is the one remembered.
	mems    []memberGuess
	mem     int // position of the next member in the line
	onTrack bool
	leaf    string // the full name of the member whose value is parsed
	arena   []byte // unescaped values of the current line
}

// memberGuess is a member remembered at one position: its key as written
// (only when it has no escapes), its depth and its interned full name.
type memberGuess struct {
	key   string
	name  string
	depth int32
	plain bool // key is the member name as written (no escapes)
}

// maxFlatArena bounds the unescape buffer kept between lines.
const maxFlatArena = 1 << 20

const maxFlatDepth = 64

// JSONSyntaxError is malformed JSON input with the byte offset.
type JSONSyntaxError struct {
	Offset int
	Msg    string
}

func (e *JSONSyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

func (f *jsonFlattener) flatten(line string, dst []event.Field) ([]event.Field, error) {
	if f.names == nil {
		f.names = map[string]string{}
	}
	f.s, f.pos, f.out, f.name = line, 0, dst[:0], f.name[:0]
	f.mem, f.onTrack = 0, true
	if cap(f.arena) > maxFlatArena {
		f.arena = nil
	}
	f.arena = f.arena[:0]
	f.space()
	if f.pos >= len(f.s) || f.s[f.pos] != '{' {
		return dst[:0], f.errf("want an object")
	}
	if err := f.object(0); err != nil {
		return dst[:0], err
	}
	f.space()
	if f.pos < len(f.s) {
		return dst[:0], f.errf("data after the object")
	}
	return f.out, nil
}

func (f *jsonFlattener) errf(format string, args ...any) error {
	return &JSONSyntaxError{Offset: f.pos, Msg: fmt.Sprintf(format, args...)}
}

func (f *jsonFlattener) space() {
	for f.pos < len(f.s) {
		switch f.s[f.pos] {
		case ' ', '\t', '\n', '\r':
			f.pos++
		default:
			return
		}
	}
}

func (f *jsonFlattener) object(depth int) error {
	if depth > maxFlatDepth {
		return f.errf("nested too deep")
	}
	f.pos++ // {
	f.space()
	if f.pos < len(f.s) && f.s[f.pos] == '}' {
		f.pos++
		return nil
	}
	base := len(f.name)
	for {
		f.space()
		if f.pos >= len(f.s) || f.s[f.pos] != '"' {
			return f.errf("want a member name")
		}
		if err := f.member(depth, base); err != nil {
			return err
		}
		f.space()
		if f.pos < len(f.s) && f.s[f.pos] == ':' {
			f.pos++
		} else {
			return f.errf("want ':'")
		}
		f.space()
		if err := f.value(depth); err != nil {
			return err
		}
		f.name = f.name[:base]
		f.space()
		if f.pos >= len(f.s) {
			return f.errf("unexpected end in object")
		}
		switch f.s[f.pos] {
		case ',':
			f.pos++
		case '}':
			f.pos++
			return nil
		default:
			return f.errf("want ',' or '}'")
		}
	}
}

// member reads a member name at f.pos (on the quote) and sets f.leaf to
// the member's full name (interned); base is the length of the enclosing
// object's name in f.name. Lines of one source share their shape, so
// while every member so far had the key and depth of the same position in
// the last line, the name is the one remembered there, found by comparing
// the key as written (no scan for escapes, no name built, no lookup).
func (f *jsonFlattener) member(depth, base int) error {
	k := f.mem
	f.mem++
	if k < len(f.mems) {
		g := &f.mems[k]
		if f.onTrack && g.plain && int(g.depth) == depth {
			if end := f.pos + 1 + len(g.key); end < len(f.s) && f.s[end] == '"' && f.s[f.pos+1:end] == g.key {
				f.pos = end + 1
				f.leaf = g.name // f.name is set by value when the member is an object
				return nil
			}
		}
	}
	f.onTrack = false
	start := f.pos + 1
	key, err := f.str()
	if err != nil {
		return err
	}
	plain := f.pos-1-start == len(key) // no escapes: key is the text as written
	f.name = f.name[:base]
	if base > 0 {
		f.name = append(f.name, '.')
	}
	f.name = append(f.name, key...)
	var name string
	if k < len(f.mems) && f.mems[k].name == string(f.name) {
		name = f.mems[k].name
	} else if n, ok := f.names[string(f.name)]; ok {
		name = n
	} else {
		name = string(f.name)
		if len(f.names) < 1<<16 {
			f.names[name] = name
		}
	}
	f.leaf = name
	if k < maxPredNames && k <= len(f.mems) {
		g := memberGuess{name: name, depth: int32(depth), plain: plain}
		if plain {
			g.key = name[len(name)-len(key):]
		}
		// The guesses after k were another line's: drop them, so the
		// guesses always are the members of one line, in order (a guess
		// is only right when all before it were).
		f.mems = append(f.mems[:k], g)
	}
	return nil
}

func (f *jsonFlattener) emit(v string) {
	f.out = append(f.out, event.Field{Name: f.leaf, Value: v})
}

// maxPredNames bounds the members remembered per line.
const maxPredNames = 512

// scanPlain returns the offset of the first byte at or after i that ends
// the plain part of a JSON string: a quote, a backslash or a control
// character (len(s) when none).
func scanPlain(s string, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8] // one bounds check; the compiler loads the eight bytes at once
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		q := x ^ ('"' * lo)
		b := x ^ ('\\' * lo)
		// A byte is flagged when it is zero in q or b, or below 0x20 in x;
		// borrows only flag bytes above a true one, so the lowest flag is exact.
		m := ((q - lo) &^ q) | ((b - lo) &^ b) | ((x - 0x20*lo) &^ x)
		if m &= hi; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

func (f *jsonFlattener) value(depth int) error {
	if f.pos >= len(f.s) {
		return f.errf("want a value")
	}
	switch c := f.s[f.pos]; {
	case c == '{':
		f.name = append(f.name[:0], f.leaf...)
		return f.object(depth + 1)
	case c == '"':
		v, err := f.str()
		if err != nil {
			return err
		}
		f.emit(v)
	case c == '[':
		start := f.pos
		if err := f.skip(depth + 1); err != nil {
			return err
		}
		f.emit(f.s[start:f.pos])
	case c == 'n':
		return f.lit("null")
	case c == 't':
		if err := f.lit("true"); err != nil {
			return err
		}
		f.emit("true")
	case c == 'f':
		if err := f.lit("false"); err != nil {
			return err
		}
		f.emit("false")
	case c == '-' || (c >= '0' && c <= '9'):
		start := f.pos
		if err := f.number(); err != nil {
			return err
		}
		f.emit(f.s[start:f.pos])
	default:
		return f.errf("unexpected %q", c)
	}
	return nil
}

func (f *jsonFlattener) lit(want string) error {
	if !strings.HasPrefix(f.s[f.pos:], want) {
		return f.errf("want %s", want)
	}
	f.pos += len(want)
	return nil
}

// skip passes over one value (used for arrays, kept as text).
func (f *jsonFlattener) skip(depth int) error {
	if depth > maxFlatDepth {
		return f.errf("nested too deep")
	}
	f.space()
	if f.pos >= len(f.s) {
		return f.errf("want a value")
	}
	switch c := f.s[f.pos]; c {
	case '"':
		_, err := f.str()
		return err
	case '{', '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		f.pos++
		f.space()
		if f.pos < len(f.s) && f.s[f.pos] == end {
			f.pos++
			return nil
		}
		for {
			if c == '{' {
				f.space()
				if f.pos >= len(f.s) || f.s[f.pos] != '"' {
					return f.errf("want a member name")
				}
				if _, err := f.str(); err != nil {
					return err
				}
				f.space()
				if f.pos >= len(f.s) || f.s[f.pos] != ':' {
					return f.errf("want ':'")
				}
				f.pos++
			}
			if err := f.skip(depth + 1); err != nil {
				return err
			}
			f.space()
			if f.pos >= len(f.s) {
				return f.errf("unexpected end")
			}
			if f.s[f.pos] == ',' {
				f.pos++
				continue
			}
			if f.s[f.pos] == end {
				f.pos++
				return nil
			}
			return f.errf("want ',' or %q", end)
		}
	case 'n':
		return f.lit("null")
	case 't':
		return f.lit("true")
	case 'f':
		return f.lit("false")
	}
	if c := f.s[f.pos]; c == '-' || (c >= '0' && c <= '9') {
		return f.number()
	}
	return f.errf("unexpected %q", f.s[f.pos])
}

// number passes over a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (f *jsonFlattener) number() error {
	digits := func() int {
		n := 0
		for f.pos < len(f.s) && f.s[f.pos] >= '0' && f.s[f.pos] <= '9' {
			f.pos++
			n++
		}
		return n
	}
	if f.s[f.pos] == '-' {
		f.pos++
	}
	start := f.pos
	if n := digits(); n == 0 || (n > 1 && f.s[start] == '0') {
		return f.errf("bad number")
	}
	if f.pos < len(f.s) && f.s[f.pos] == '.' {
		f.pos++
		if digits() == 0 {
			return f.errf("bad number")
		}
	}
	if f.pos < len(f.s) && (f.s[f.pos] == 'e' || f.s[f.pos] == 'E') {
		f.pos++
		if f.pos < len(f.s) && (f.s[f.pos] == '+' || f.s[f.pos] == '-') {
			f.pos++
		}
		if digits() == 0 {
			return f.errf("bad number")
		}
	}
	return nil
}

// str reads a JSON string at f.pos (on the quote).
func (f *jsonFlattener) str() (string, error) {
	f.pos++
	start := f.pos
	// Fast path: no escapes; eight bytes at a time, then byte by byte.
	f.pos = scanPlain(f.s, f.pos)
	if f.pos >= len(f.s) {
		return "", f.errf("unterminated string")
	}
	switch c := f.s[f.pos]; {
	case c == '"':
		v := f.s[start:f.pos]
		f.pos++
		return v, nil
	case c < 0x20:
		return "", f.errf("control character in string")
	}
	// Slow path: unescape into the arena. A value keeps pointing into the
	// old array when a later one grows the arena.
	a0 := len(f.arena)
	b := append(f.arena, f.s[start:f.pos]...)
	defer func() { f.arena = b }()
	for f.pos < len(f.s) {
		c := f.s[f.pos]
		switch {
		case c == '"':
			f.pos++
			return bytesView(b[a0:]), nil
		case c < 0x20:
			return "", f.errf("control character in string")
		case c != '\\':
			// A plain run up to the next quote, backslash or control byte.
			end := scanPlain(f.s, f.pos+1)
			b = append(b, f.s[f.pos:end]...)
			f.pos = end
			continue
		}
		if f.pos+1 >= len(f.s) {
			break
		}
		e := f.s[f.pos+1]
		f.pos += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := f.hex4()
			if !ok {
				return "", f.errf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if strings.HasPrefix(f.s[f.pos:], "\\u") {
					f.pos += 2
					if x, ok := f.hex4(); ok {
						r2 = utf16.DecodeRune(r, x)
					}
				}
				r = r2
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", f.errf("bad escape \\%c", e)
		}
	}
	return "", f.errf("unterminated string")
}

func (f *jsonFlattener) hex4() (rune, bool) {
	if f.pos+4 > len(f.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(f.s[f.pos:f.pos+4], 16, 32)
	if err != nil {
		return 0, false
	}
	f.pos += 4
	return rune(n), true
}
