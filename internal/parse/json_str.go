package parse

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON strings: the scanner of json.go's decoder (plain strings alias the
// input, escaped ones are unescaped into the decoder's value buffer).

// str parses a string at d.pos ('"') and returns its unescaped bytes. The
// result aliases d.buf when it needs no change (no escapes, valid UTF-8:
// d.aliased), else it lies in the spare capacity of d.vals: use it before
// the next call (emitStr keeps it). Invalid UTF-8 is replaced by U+FFFD.
func (d *jsonDecoder) str() ([]byte, error) {
	buf := d.buf
	start := d.pos + 1 // after the opening quote
	// Fast path: plain ASCII up to the closing quote, sixteen bytes at a
	// time, then bytewise (plainEnd inlined: most strings end here). The
	// lowest bit of a word's SWAR mask marks its first special byte
	// exactly.
	i := start
	for i+16 <= len(buf) {
		// Two words a round: the loop's own cost is half of it.
		b := buf[i : i+16]
		m0 := strSpecialMask(binary.LittleEndian.Uint64(b))
		m1 := strSpecialMask(binary.LittleEndian.Uint64(b[8:]))
		if m0|m1 != 0 {
			if m0 != 0 {
				i += bits.TrailingZeros64(m0) >> 3
			} else {
				i += 8 + bits.TrailingZeros64(m1)>>3
			}
			goto bytewise
		}
		i += 16
	}
	if i+8 <= len(buf) {
		if m := strSpecialMask(binary.LittleEndian.Uint64(buf[i:])); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
		} else {
			i += 8
		}
	}
bytewise:
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
//
// The plain bytes are copied a word at a time: each word is stored whole
// and the output advances to its first special byte, so a run between two
// escapes costs one load, one store and the mask. The output has room for
// the rest of the input plus two words of slack (only an invalid UTF-8 byte,
// written as the 3-byte U+FFFD, grows it).
func (d *jsonDecoder) strSlow(start int) ([]byte, error) {
	d.aliased = false
	buf := d.buf
	base := len(d.vals)
	out := append(d.vals, buf[start:d.pos]...)
	n := len(out)
	i := d.pos
	out = growSpare(out, len(buf)-i+16)
	for {
		// Fast path: two words of plain bytes a round, then one.
		for i+16 <= len(buf) && n+16 <= len(out) {
			b, o := buf[i:i+16], out[n:n+16]
			w0, w1 := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
			binary.LittleEndian.PutUint64(o, w0)
			binary.LittleEndian.PutUint64(o[8:], w1)
			m0, m1 := strSpecialMask(w0), strSpecialMask(w1)
			if m0|m1 != 0 {
				k := 8 + bits.TrailingZeros64(m1)>>3
				if m0 != 0 {
					k = bits.TrailingZeros64(m0) >> 3
				}
				i, n = i+k, n+k
				goto special
			}
			i, n = i+16, n+16
		}
		for i+8 <= len(buf) && n+8 <= len(out) {
			w := binary.LittleEndian.Uint64(buf[i:])
			binary.LittleEndian.PutUint64(out[n:], w)
			m := strSpecialMask(w)
			if m != 0 {
				k := bits.TrailingZeros64(m) >> 3
				i, n = i+k, n+k
				break
			}
			i, n = i+8, n+8
		}
	special:
		if i >= len(buf) {
			d.pos = i
			return nil, d.errf("unterminated string")
		}
		c := buf[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.vals = out[:base] // a grown buffer; the result stays beyond len
			return out[base:n], nil
		case c == '\\':
			if i+1 < len(buf) {
				if e := simpleEscapes[buf[i+1]]; e != 0 { // inlined escape
					out[n] = e
					n++
					i += 2
					continue
				}
			}
			d.pos = i
			esc, err := d.escape(out[:n])
			if err != nil {
				return nil, err
			}
			i, n = d.pos, len(esc)
			out = growSpare(esc, len(buf)-i+16)
		case c < 0x20:
			d.pos = i
			return nil, d.errf("control character in string")
		case c < utf8.RuneSelf:
			// The tail of the input, shorter than a word: bytewise.
			out[n] = c
			n++
			i++
		default:
			r, size := utf8.DecodeRune(buf[i:])
			if r == utf8.RuneError && size == 1 {
				out = growSpare(utf8.AppendRune(out[:n], utf8.RuneError), len(buf)-i+16)
				n += 3
			} else {
				n += copy(out[n:], buf[i:i+size])
			}
			i += size
		}
	}
}

// growSpare returns b with its length extended to its capacity, which is
// at least len(b)+spare (the contents up to len(b) kept).
func growSpare(b []byte, spare int) []byte {
	if cap(b)-len(b) < spare {
		b = append(b[:len(b):len(b)], make([]byte, spare)...)
	}
	return b[:cap(b)]
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
