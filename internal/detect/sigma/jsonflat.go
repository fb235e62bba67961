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
	names map[string]flatName
	// eng, when set (bind), resolves every interned name to its slot in
	// the engine once, and slots lists the fields of out that have one
	// (the others: no rule or pipeline reads them), so Match needs no name
	// lookup or guess (matchSlots).
	eng   *Engine
	slots fieldSlots
	// root holds the member guesses of the top-level object (see
	// objGuess); objs counts the objGuess tables made since the last reset.
	root  *objGuess
	objs  int
	leaf  string    // the full name of the member whose value is parsed
	slot  int32     // leaf's slot (see eng)
	child *objGuess // the guesses of the member's value, when it is an object
	arena []byte    // unescaped values of the current line
}

// objGuess is what the flattener remembers of one object, identified by
// the path of member guesses that leads to it (so its full name, the
// prefix of its members' names, is fixed): per member position, the
// member seen there last, and its members by key. Lines of one source
// share their shape, so a member is usually found by one compare of the
// text from the end of the previous value (or the brace) to the start of
// its own value with the text seen there last; an object whose members
// differ between lines (Sysmon's event_data per event ID) only misses
// inside itself, and the members after it are guessed again.
type objGuess struct {
	mems  []memberGuess
	byKey map[string]keyGuess
}

// memberGuess is a member remembered at one position: the text before its
// value as written (separator, white space, key and colon, a copy), and
// what its key gives.
type memberGuess struct {
	pre []byte
	// pre's first, last and second eight bytes (when it has that many)
	p0, p1, pm uint64
	keyGuess
}

// keyGuess is what a member's key gives in its object: the member's
// interned full name (the key unescaped is its last keyLen bytes) and the
// guesses of its value when that was an object (nil: not yet).
type keyGuess struct {
	name   string
	child  *objGuess
	keyLen int32
	slot   int32 // the name's slot in the bound engine (-1: none, or unbound)
}

// flatName is an interned full name and its slot in the bound engine.
type flatName struct {
	name string
	slot int32
}

// Bounds of the guesses: members remembered per position list and per key
// map, and objGuess tables before all are dropped (a stream of ever new
// shapes must not grow them without end).
const (
	maxPredNames  = 512
	maxGuessKeys  = 256
	maxObjGuesses = 4096
	maxGuessPre   = 128 // longest text before a value remembered
)

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
		f.eng, f.names, f.root = e, nil, nil
	}
}

func (f *jsonFlattener) flatten(line string, dst []event.Field) ([]event.Field, error) {
	if f.names == nil {
		f.names = map[string]flatName{}
	}
	if f.root == nil || f.objs > maxObjGuesses {
		f.root, f.objs = &objGuess{}, 0
	}
	f.s, f.pos, f.out, f.name = line, 0, dst[:0], f.name[:0]
	f.slots = fieldSlots{live: f.slots.live[:0], size: len(line), eng: f.eng}
	if cap(f.arena) > maxFlatArena {
		f.arena = nil
	}
	f.arena = f.arena[:0]
	f.space()
	if f.pos >= len(f.s) || f.s[f.pos] != '{' {
		return dst[:0], f.errf("want an object")
	}
	if err := f.object(0, f.root); err != nil {
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

// ws skips white space at f.pos: in the common case (none) one compare.
func (f *jsonFlattener) ws() {
	if f.pos < len(f.s) && f.s[f.pos] <= ' ' {
		f.space()
	}
}

// object reads an object at f.pos (on the brace); og holds its guesses.
// The position stays in a local variable through the guessed members and
// their plain string values (the common case: one compare of the text
// before the value, one scan of the string); f.pos is synced only around
// the calls that read it.
func (f *jsonFlattener) object(depth int, og *objGuess) error {
	if depth > maxFlatDepth {
		return f.errf("nested too deep")
	}
	s := f.s
	pos := f.pos + 1 // {
	base := len(f.name)
	for k := 0; ; k++ {
		// pos is after the brace or the previous value.
		var leaf string
		var slot int32
		var child *objGuess // written to f.child only for a value that is not a string
		var g *memberGuess
		if k < len(og.mems) {
			g = &og.mems[k]
			// The common pre (8-24 bytes: `,"EventID":`) compared here.
			if n := len(g.pre); n < 8 || n > 24 || len(s)-pos < n ||
				load64(s, pos) != g.p0 || load64(s, pos+n-8) != g.p1 ||
				n > 16 && load64(s, pos+8) != g.pm {
				if !g.at(s, pos) {
					g = nil
				}
			}
		}
		if g != nil {
			pos += len(g.pre)
			leaf, slot, child = g.name, g.slot, g.child
		} else {
			f.pos = pos
			end, err := f.member(og, k, base)
			if err != nil || end {
				return err
			}
			pos, leaf, slot, child = f.pos, f.leaf, f.slot, f.child
		}
		if pos < len(s) && s[pos] <= ' ' {
			f.pos = pos
			f.space()
			pos = f.pos
		}
		// Most values are plain strings: read here, without a call.
		if pos < len(s) && s[pos] == '"' {
			end := scanPlain(s, pos+1)
			if end < len(s) && s[end] == '"' {
				if slot >= 0 {
					f.slots.add(len(f.out), slot)
				}
				f.out = append(f.out, event.Field{Name: leaf, Value: s[pos+1 : end]})
				pos = end + 1
				continue
			}
		}
		f.pos, f.leaf, f.slot = pos, leaf, slot
		if pos < len(s) && s[pos] == '"' {
			v, err := f.str()
			if err != nil {
				return err
			}
			f.emit(v)
		} else {
			f.child = child
			if err := f.value(depth, og, k); err != nil {
				return err
			}
		}
		pos = f.pos
	}
}

// member reads the text before the k-th member's value of the object og
// guesses (f.pos is after the brace or the previous value): a separator
// and the member name, or the object's end (end is set). It sets f.leaf
// to the member's full name (interned) and f.child to the guesses of its
// value, and remembers the text at position k; base is the length of the
// enclosing object's name in f.name (valid when this object's name was
// built: it is rebuilt for every object value).
func (f *jsonFlattener) member(og *objGuess, k, base int) (end bool, err error) {
	start := f.pos
	f.ws()
	if f.pos < len(f.s) && f.s[f.pos] == '}' {
		f.pos++
		return true, nil
	}
	if k > 0 {
		switch {
		case f.pos >= len(f.s):
			return false, f.errf("unexpected end in object")
		case f.s[f.pos] != ',':
			return false, f.errf("want ',' or '}'")
		}
		f.pos++
	}
	if !f.at('"') {
		return false, f.errf("want a member name")
	}
	key, err := f.str()
	if err != nil {
		return false, err
	}
	if !f.at(':') {
		return false, f.errf("want ':'")
	}
	f.pos++
	f.ws()
	g, ok := og.byKey[key]
	if !ok {
		g = f.keyName(key, base)
		if og.byKey == nil {
			og.byKey = map[string]keyGuess{}
		}
		if len(og.byKey) < maxGuessKeys {
			og.byKey[g.name[len(g.name)-len(key):]] = g
		}
	}
	f.leaf, f.slot, f.child = g.name, g.slot, g.child
	pre := f.s[start:f.pos]
	if len(pre) > maxGuessPre {
		pre = "" // never matches (a value follows), but keeps the positions
	}
	switch {
	case k < len(og.mems):
		m := &og.mems[k]
		m.setPre(pre)
		m.keyGuess = g
	case k == len(og.mems) && k < maxPredNames:
		og.mems = append(og.mems, memberGuess{keyGuess: g})
		og.mems[k].setPre(pre)
	}
	return false, nil
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

// keyName builds and interns the full name of a member with this key in
// the object whose name is f.name[:base].
func (f *jsonFlattener) keyName(key string, base int) keyGuess {
	f.name = f.name[:base]
	if base > 0 {
		f.name = append(f.name, '.')
	}
	f.name = append(f.name, key...)
	n, ok := f.names[string(f.name)]
	if !ok {
		n = flatName{name: string(f.name), slot: -1}
		if f.eng != nil {
			n.slot = f.eng.resolve.slot(n.name)
		}
		if len(f.names) < 1<<16 {
			f.names[n.name] = n
		}
	}
	return keyGuess{name: n.name, keyLen: int32(len(key)), slot: n.slot}
}

// at reports whether s holds the member's pre at i (an empty pre never
// matches): its first, last and second eight bytes compare as words, and
// the rest (pre longer than 24 bytes) as a string. object inlines the
// cases up to 24 bytes.
func (m *memberGuess) at(s string, i int) bool {
	n := len(m.pre)
	if n < 8 {
		return n > 0 && len(s)-i >= n && s[i:i+n] == bytesView(m.pre)
	}
	if len(s)-i < n || load64(s, i) != m.p0 || load64(s, i+n-8) != m.p1 {
		return false
	}
	return n <= 16 || load64(s, i+8) == m.pm && (n <= 24 || s[i+16:i+n-8] == bytesView(m.pre[16:n-8]))
}

// setPre remembers pre (a copy) as the text before the member's value.
func (m *memberGuess) setPre(pre string) {
	m.pre = append(m.pre[:0], pre...)
	m.p0, m.p1, m.pm = 0, 0, 0
	if n := len(pre); n >= 8 {
		m.p0, m.p1 = load64(pre, 0), load64(pre, n-8)
	}
	if len(pre) >= 16 {
		m.pm = load64(pre, 8)
	}
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

func (f *jsonFlattener) emit(v string) {
	if f.slot >= 0 {
		f.slots.add(len(f.out), f.slot)
	}
	f.out = append(f.out, event.Field{Name: f.leaf, Value: v})
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

// value reads the value of og's k-th member (f.leaf, f.child) at f.pos,
// other than a string (object reads those).
func (f *jsonFlattener) value(depth int, og *objGuess, k int) error {
	if f.pos >= len(f.s) {
		return f.errf("want a value")
	}
	switch c := f.s[f.pos]; {
	case c == '{':
		f.name = append(f.name[:0], f.leaf...)
		child := f.child
		if child == nil {
			child = f.newChild(og, k)
		}
		return f.object(depth+1, child)
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

// newChild makes the guesses of og's k-th member's value (an object),
// kept with the member's guesses.
func (f *jsonFlattener) newChild(og *objGuess, k int) *objGuess {
	child := &objGuess{}
	f.objs++
	if k < len(og.mems) && og.mems[k].name == f.leaf {
		g := &og.mems[k]
		g.child = child
		key := g.name[len(g.name)-int(g.keyLen):]
		if kg, ok := og.byKey[key]; ok && kg.name == g.name {
			kg.child = child
			og.byKey[key] = kg
		}
	}
	return child
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
	return f.unescape(start)
}

// unescape reads the rest of a string with escapes, from f.pos (on the
// first backslash); start is where the string's text begins. It unescapes
// into the arena: a value keeps pointing into the old array when a later
// one grows the arena.
func (f *jsonFlattener) unescape(start int) (string, error) {
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
				// A pair, else U+FFFD and the next escape on its own (as
				// encoding/json does); a broken next escape is an error.
				r2 := utf8.RuneError
				if strings.HasPrefix(f.s[f.pos:], "\\u") {
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
