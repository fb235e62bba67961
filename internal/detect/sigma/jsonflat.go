package sigma

import (
	"encoding/binary"
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
//
// It reads a line as a chain of steps (flat_steps.go): each step is the
// text from the end of a value (or the line's start) to the start of the
// next member's value, with the braces, separators and keys in between,
// and the member it leads to; a value's step is guessed as the one that
// followed the previous value's step last time, so a line of a known shape
// costs one compare of that text and one scan per value.
// TODO(sigma): switch to parse.FlattenJSON once it is benchmarked against
// this one (it copies every value).
type jsonFlattener struct {
	s     string
	pos   int
	out   []event.Field
	name  []byte
	names map[string]flatName
	// eng, when set (bind), resolves every interned name to its slot in
	// the engine once, and slots lists the fields of out that have one
	// (the others: no rule or pipeline reads them), so Match needs no name
	// lookup or guess (matchSlots).
	eng   *Engine
	slots fieldSlots
	// pack is set when bound to an engine whose keyword searches allow
	// packing (flat_pack.go): members no rule reads get deadSlot, and
	// their values of packMin bytes or more go to dead, each followed by
	// a zero byte, which becomes the line's last field (packedName).
	pack bool
	dead []byte
	// head is the state before a line (its next: the first step of the
	// last line), root the line's object's context, nsteps the steps and
	// contexts remembered since the last reset (flat_steps.go).
	head   *flatStep
	root   *flatCtx
	nsteps int
	arena  []byte // unescaped values of the current line
}

// flatName is an interned full name and its slot in the bound engine.
type flatName struct {
	name string
	slot int32
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

// bind makes the flattener resolve field names to e's slots (see slots);
// a flattener bound to another engine before forgets its names.
func (f *jsonFlattener) bind(e *Engine) {
	if f.eng != e {
		f.eng, f.names, f.head = e, nil, nil
		f.pack = e != nil && packSafe(e)
	}
}

func (f *jsonFlattener) flatten(line string, dst []event.Field) ([]event.Field, error) {
	if f.names == nil {
		f.names = map[string]flatName{}
	}
	if f.head == nil || f.nsteps >= maxFlatSteps {
		f.reset()
	}
	f.s, f.pos, f.out, f.name = line, 0, dst[:0], f.name[:0]
	f.slots = fieldSlots{live: f.slots.live[:0], size: len(line), eng: f.eng}
	if cap(f.arena) > maxFlatArena {
		f.arena = nil
	}
	f.arena = f.arena[:0]
	if cap(f.dead) < len(line) || cap(f.dead) > maxFlatArena {
		f.dead = make([]byte, 0, len(line)+len(line)/4+8) // see run
	}
	f.dead = f.dead[:0]
	if err := f.run(); err != nil {
		return dst[:0], err
	}
	if len(f.dead) > 0 {
		f.out = append(f.out, event.Field{Name: packedName, Value: bytesView(f.dead)})
	}
	return f.out, nil
}

// run reads the line step by step (see flatStep): the guessed step's text
// compared in place, else read by slowStep; then the member's value, a
// plain string read here. The common case (a guessed step, a plain
// string) makes no call, so the position stays in a register; f.out is
// synced around the calls that use it.
func (f *jsonFlattener) run() error {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	s := f.s
	pos := 0
	cur := f.head
	out := f.out
	for {
		// The guess: cur's next step, its text compared in place (for a
		// member whose value was a string, with the quote). When its value
		// is not a string, white space or a brace there means the text read
		// afresh is longer. The end step and unknown steps never match
		// here (slowStep reads them).
		t := cur.next
		p := -1
		if n := t.fn; len(s)-pos >= n+8 {
			// flatStep.at, inlined: up to 32 bytes as words.
			if (wordAt(s, pos)^t.p0)&t.mask == 0 && (n <= 8 || wordAt(s, pos+n-8) == t.p1 &&
				(n <= 16 || wordAt(s, pos+8) == t.pm && (n <= 24 || wordAt(s, pos+16) == t.pm2))) {
				p = pos + t.vn
			}
		} else if t.atSlow(s, pos) {
			p = pos + t.vn
		}
		if p >= 0 && !t.str && (p >= len(s) || s[p] <= ' ' || s[p] == '{') {
			p = -1
		}
		if p < 0 && cur.alts[0] != nil {
			t, p = f.altStep(cur, pos)
		}
		if p < 0 {
			var err error
			if t, err = f.slowStep(cur, pos); err != nil || t.end {
				f.out = out
				return err
			}
			p = f.pos
		}
		pos = p
		cur = t
		// Most values are plain strings: read here (scanPlain inlined
		// but for the line's last bytes); a packed member's value is
		// copied to f.dead as it is read.
		if pos < len(s) && s[pos] == '"' {
			if t.slot == deadSlot {
				// A packed member's value: its words are stored to f.dead
				// as they are read; k is where the byte at end goes. The
				// stores stay within f.dead's capacity: it has room for
				// the line (see flatten), and the values packed before
				// pos, each with its zero byte, take at most pos bytes
				// (each is at least as long in the line, and follows a
				// colon), so k < end, and a word is stored only where
				// one is read. A short value, or an escape or a control
				// byte, leaves f.dead as it was (the stores were past
				// its end).
				d := f.dead[:cap(f.dead)]
				k := len(f.dead)
				end := pos + 1
				for {
					if len(s)-end < 8 {
						end = scanPlain(s, end)
						k = -1
						break
					}
					x := wordAt(s, end)
					binary.LittleEndian.PutUint64(d[k:k+8], x)
					y := x ^ (0x02 * lo)
					b := x ^ ('\\' * lo)
					if m := ((y-0x21*lo)&^y | (b-lo)&^b) & hi; m != 0 {
						n := bits.TrailingZeros64(m) / 8
						end, k = end+n, k+n
						break
					}
					end, k = end+8, k+8
				}
				if end < len(s) && s[end] == '"' {
					switch {
					case end-pos <= packMin:
						// Short: a field (the prefilter passes over it
						// on a length test).
						out = append(out, event.Field{Name: t.name, Value: s[pos+1 : end]})
					case k < 0:
						// The line's last bytes: copied.
						f.dead = append(append(f.dead, s[pos+1:end]...), 0)
					default:
						d[k] = 0
						f.dead = d[:k+1]
					}
					pos = end + 1
					continue
				}
			} else {
				end := pos + 1
				for {
					if len(s)-end < 8 {
						end = scanPlain(s, end)
						break
					}
					// As scanPlain: x^0x02 is below 0x21 for a quote or
					// a control byte.
					x := wordAt(s, end)
					y := x ^ (0x02 * lo)
					b := x ^ ('\\' * lo)
					if m := ((y-0x21*lo)&^y | (b-lo)&^b) & hi; m != 0 {
						end += bits.TrailingZeros64(m) / 8
						break
					}
					end += 8
				}
				if end < len(s) && s[end] == '"' {
					if t.slot >= 0 {
						f.slots.add(len(out), t.slot)
					}
					out = append(out, event.Field{Name: t.name, Value: s[pos+1 : end]})
					pos = end + 1
					continue
				}
			}
		}
		f.pos, f.out = pos, out
		if err := f.value(t); err != nil {
			return err
		}
		pos, out = f.pos, f.out
	}
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

// ws skips white space at f.pos: in the common case (none) one compare.
func (f *jsonFlattener) ws() {
	if f.pos < len(f.s) && f.s[f.pos] <= ' ' {
		f.space()
	}
}

// at reports whether the next byte other than white space is c, and
// leaves f.pos on it: in the common case (no space) one compare.
func (f *jsonFlattener) at(c byte) bool {
	if f.pos < len(f.s) && f.s[f.pos] == c {
		return true
	}
	f.space()
	return f.pos < len(f.s) && f.s[f.pos] == c
}

func load64(s string, i int) uint64 {
	w := s[i : i+8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

func load32(s string, i int) uint32 {
	w := s[i : i+4]
	return uint32(w[0]) | uint32(w[1])<<8 | uint32(w[2])<<16 | uint32(w[3])<<24
}

// emit appends a field of t's member with value v (a packed member's
// value: to the packed text).
func (f *jsonFlattener) emit(t *flatStep, v string) {
	if t.slot < -1 && len(v) >= packMin {
		f.dead = append(append(f.dead, v...), 0)
		return
	}
	if t.slot >= 0 {
		f.slots.add(len(f.out), t.slot)
	}
	f.out = append(f.out, event.Field{Name: t.name, Value: v})
}

// fieldSlots is what a flattener bound to an engine knows of its fields'
// slots: the fields that have one, in order (the others have none: no
// rule or pipeline reads them), and a bound on the values' total length
// (the line's: unescaping only shortens text).
type fieldSlots struct {
	live []liveField
	size int
	eng  *Engine // whose slots they are (nil: none)
}

// liveField is an event field (its index) with a slot.
type liveField struct {
	field, slot int32
}

// add records that field i has slot.
func (fs *fieldSlots) add(i int, slot int32) {
	fs.live = append(fs.live, liveField{field: int32(i), slot: slot})
}

// scanPlain returns the offset of the first byte at or after i that ends
// the plain part of a JSON string: a quote, a backslash or a control
// character (len(s) when none).
func scanPlain(s string, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8] // one bounds check; the compiler loads the eight bytes at once
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// y's byte is below 0x21 for a quote (0x22^0x02) or a control
		// byte (below 0x20 either way), b's is zero for a backslash;
		// borrows only flag bytes above a true one, so the lowest flag is
		// exact.
		y := x ^ (0x02 * lo)
		b := x ^ ('\\' * lo)
		if m := ((y-0x21*lo)&^y | (b-lo)&^b) & hi; m != 0 {
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

// value reads the value of t's member at f.pos: anything but an object
// (a step's text ends before a value, and includes an object's brace).
func (f *jsonFlattener) value(t *flatStep) error {
	if f.pos >= len(f.s) {
		return f.errf("want a value")
	}
	switch c := f.s[f.pos]; {
	case c == '"':
		v, err := f.str()
		if err != nil {
			return err
		}
		f.emit(t, v)
	case c == '[':
		start := f.pos
		if end, ok := plainArray(f.s, start); ok && t.ctx.depth < maxFlatDepth {
			f.pos = end
		} else if err := f.skip(int(t.ctx.depth) + 1); err != nil {
			return err
		}
		f.emit(t, f.s[start:f.pos])
	case c == 'n':
		return f.lit("null")
	case c == 't':
		if err := f.lit("true"); err != nil {
			return err
		}
		f.emit(t, "true")
	case c == 'f':
		if err := f.lit("false"); err != nil {
			return err
		}
		f.emit(t, "false")
	case c == '-' || (c >= '0' && c <= '9'):
		start := f.pos
		if err := f.number(); err != nil {
			return err
		}
		f.emit(t, f.s[start:f.pos])
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
	s, pos := f.s, f.pos
	if s[pos] == '-' {
		pos++
	}
	start := pos
	pos = digits(s, pos)
	if n := pos - start; n == 0 || (n > 1 && s[start] == '0') {
		f.pos = pos
		return f.errf("bad number")
	}
	if pos < len(s) && s[pos] == '.' {
		pos++
		if end := digits(s, pos); end > pos {
			pos = end
		} else {
			f.pos = pos
			return f.errf("bad number")
		}
	}
	if pos < len(s) && (s[pos] == 'e' || s[pos] == 'E') {
		pos++
		if pos < len(s) && (s[pos] == '+' || s[pos] == '-') {
			pos++
		}
		if end := digits(s, pos); end > pos {
			pos = end
		} else {
			f.pos = pos
			return f.errf("bad number")
		}
	}
	f.pos = pos
	return nil
}

// digits returns the offset of the first byte at or after i that is not
// a decimal digit.
func digits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// plainArray returns the end of an array of plain strings at i (on the
// bracket) written without white space, such as `["10.0.0.1"]`: the
// common array in logs, read without skip's calls (ok false: anything
// else, left to skip).
func plainArray(s string, i int) (end int, ok bool) {
	i++ // [
	for {
		if i >= len(s) || s[i] != '"' {
			return 0, false
		}
		i = scanPlain(s, i+1)
		if i+1 >= len(s) || s[i] != '"' {
			return 0, false
		}
		switch s[i+1] {
		case ']':
			return i + 2, true
		case ',':
			i += 2
		default:
			return 0, false
		}
	}
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
	return f.unescape(start)
}

// unescape reads the rest of a string with escapes, from f.pos (on the
// first backslash); start is where the string's text begins. It unescapes
// into the arena, in place: a line's unescaped text is never longer than
// the line (an escape is never shorter than what it stands for), so once
// the arena has room for the line and eight bytes, it does not grow
// during the line, and plain runs are copied eight bytes at a time. A new
// arena leaves the values before it in the old one.
func (f *jsonFlattener) unescape(start int) (string, error) {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	s := f.s
	if cap(f.arena)-len(f.arena) < len(s)-start+8 {
		f.arena = make([]byte, 0, max(len(s)+8, min(2*cap(f.arena), maxFlatArena)))
	}
	a0 := len(f.arena)
	b := f.arena[:cap(f.arena)]
	j := a0 + copy(b[a0:], s[start:f.pos])
	pos := f.pos
	for pos < len(s) {
		c := s[pos]
		if c == '"' {
			f.pos, f.arena = pos+1, b[:j]
			return bytesView(b[a0:j]), nil
		}
		if c < 0x20 {
			f.pos = pos
			return "", f.errf("control character in string")
		}
		if c != '\\' {
			// A plain run up to the next quote, backslash or control
			// byte, copied as words (see scanPlain).
			for len(s)-pos >= 8 {
				x := wordAt(s, pos)
				binary.LittleEndian.PutUint64(b[j:j+8], x)
				y := x ^ (0x02 * lo)
				e := x ^ ('\\' * lo)
				if m := ((y-0x21*lo)&^y | (e-lo)&^e) & hi; m != 0 {
					k := bits.TrailingZeros64(m) / 8
					pos, j = pos+k, j+k
					break
				}
				pos, j = pos+8, j+8
			}
			if len(s)-pos < 8 {
				end := scanPlain(s, pos)
				j += copy(b[j:], s[pos:end])
				pos = end
			}
			continue
		}
		if pos+1 >= len(s) {
			f.pos = pos
			return "", f.errf("unterminated string")
		}
		e := s[pos+1]
		pos += 2
		switch e {
		case '"', '\\', '/':
			b[j] = e
			j++
		case 'b':
			b[j] = '\b'
			j++
		case 'f':
			b[j] = '\f'
			j++
		case 'n':
			b[j] = '\n'
			j++
		case 'r':
			b[j] = '\r'
			j++
		case 't':
			b[j] = '\t'
			j++
		case 'u':
			f.pos = pos
			r, ok := f.hex4()
			if !ok {
				return "", f.errf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// A pair, else U+FFFD and the next escape on its own (as
				// encoding/json does); a broken next escape is an error.
				r2 := utf8.RuneError
				if strings.HasPrefix(s[f.pos:], "\\u") {
					next := f.pos
					f.pos += 2
					x, ok := f.hex4()
					if !ok {
						return "", f.errf("bad \\u escape")
					}
					if r2 = utf16.DecodeRune(r, x); r2 == utf8.RuneError {
						f.pos = next
					}
				}
				r = r2
			}
			j += utf8.EncodeRune(b[j:], r)
			pos = f.pos
		default:
			f.pos = pos
			return "", f.errf("bad escape \\%c", e)
		}
	}
	f.pos = pos
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
