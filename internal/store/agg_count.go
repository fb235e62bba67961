package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/mamori/mamori/internal/event"
)

// ValueCounter is implemented by the BlockRefs of parts (type-assert a
// BlockRef for it): it counts the rows of a constant or dictionary column
// that hold one of a few values, reading the codes as stored, without
// decoding them into an array (field=value | count).
type ValueCounter interface {
	// CountValues returns the number of rows of column name whose value
	// is one of vals (rows without the field never count), and false
	// when the block stores the column neither as a constant nor as a
	// dictionary (the caller then decides per row). A block without the
	// column gives 0 and true; so does one whose dictionary holds none
	// of vals, without reading its codes. buf holds the decompressed
	// body (see DictBuf).
	CountValues(name string, vals []string, buf *DictBuf) (n int, ok bool, err error)
}

// maxCountCodes is the most matching codes CountValues counts in passes
// over the stored codes; with more it decodes them.
const maxCountCodes = 4

// CountValues implements ValueCounter.
func (r *partRef) CountValues(name string, vals []string, buf *DictBuf) (int, bool, error) {
	if buf == nil {
		buf = new(DictBuf)
	}
	p, i := r.p, r.i
	switch name {
	case event.FieldTime, event.FieldSource, event.FieldHost, event.FieldPartition:
		return 0, false, nil
	}
	bm := &p.blocks[i]
	c, ok := p.valueColumn(bm, name)
	switch {
	case !ok:
		return 0, true, nil
	case c.size == 0:
		return 0, false, nil
	}
	switch p.data[c.off] {
	case kindConst:
		dc, err := p.loadDictTo(i, name, buf) // cached per part
		if err != nil || dc == nil {
			return 0, false, err
		}
		if len(dc.Dict) == 1 && slices.Contains(vals, dc.Dict[0]) {
			return int(bm.rows), true, nil
		}
		return 0, true, nil
	case kindDict:
	default:
		return 0, false, nil
	}
	ch, err := p.chunk(c)
	if err != nil {
		return 0, false, err
	}
	n, err := countDictValues(ch, int(bm.rows), vals, buf)
	if err != nil {
		return 0, false, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
	}
	return n, true, nil
}

// countDictValues counts the rows of a kindDict chunk of rows values
// whose value is one of vals.
func countDictValues(chunk []byte, rows int, vals []string, buf *DictBuf) (int, error) {
	var (
		body string
		pk   packedDict
		err  error
	)
	packed := isPacked(chunk)
	if packed {
		// The head (the values) only: the codes are counted packed.
		pk, err = packedChunk(chunk)
		if err == nil && pk.rows != rows {
			err = fmt.Errorf("%d rows, want %d", pk.rows, rows)
		}
		body = bytesToString(pk.head)
	} else {
		var kind byte
		kind, body, err = chunkBodyTo(chunk, &buf.sc)
		if err == nil && kind != kindDict {
			err = fmt.Errorf("kind %d is not dict", kind)
		}
	}
	buf.clear()
	if err != nil {
		return 0, fmt.Errorf("decode dictionary: %w", err)
	}
	r := &reader{s: body}
	want, k, err := wantedCodes(r, vals, buf)
	if err != nil || k == 0 {
		return 0, err // k == 0: the codes cannot hold a wanted value, not read
	}
	nd := len(buf.allow) - 1
	if packed {
		return countPacked(&pk, want, k, buf), nil
	}
	if k <= len(want) {
		total := 0
		for _, c := range want[:k] {
			n, ok := countCode(body[r.off:], rows, nd, c)
			if !ok {
				total = -1
				break
			}
			total += n
		}
		if total >= 0 {
			return total, nil
		}
	}
	// The general way (more values, codes of more than two bytes, or
	// codes the fast passes do not take): decode, then count.
	buf.codes = slices.Grow(buf.codes[:0], rows)[:rows]
	end, err := decodeCodes(body, r.off, nd, buf.codes)
	if err == nil && end != len(body) {
		err = fmt.Errorf("%d trailing bytes", len(body)-end)
	}
	if err != nil {
		return 0, fmt.Errorf("decode dictionary: %w", err)
	}
	n := 0
	for _, c := range buf.codes {
		if buf.allow[c] { // decodeCodes checked c <= nd
			n++
		}
	}
	return n, nil
}

// wantedCodes reads a dictionary's values (r at the start of a kindDict
// body) and marks in buf.allow, by code, those in vals; it returns the
// first maxCountCodes of their codes and how many there are. r is left
// after the values.
func wantedCodes(r *reader, vals []string, buf *DictBuf) ([maxCountCodes]uint16, int, error) {
	var want [maxCountCodes]uint16
	body := r.s
	nd := r.count(1)
	if r.err != nil {
		return want, 0, fmt.Errorf("decode dictionary: %w", r.err)
	}
	if nd > maxDict {
		return want, 0, fmt.Errorf("decode dictionary: %d values, at most %d", nd, maxDict)
	}
	allow := slices.Grow(buf.allow[:0], nd+1)[:nd+1] // by code; 0: rows without the field
	clear(allow)
	buf.allow = allow
	k := 0
	for c := 1; c <= nd; c++ {
		var v string
		// Fast path: a length of one byte, and the value left unread
		// when no wanted value is that long.
		if off := r.off; off < len(body) && body[off] < 0x80 && int(body[off]) < len(body)-off {
			l := int(body[off])
			r.off += 1 + l
			if !lengthIn(vals, l) {
				continue
			}
			v = body[off+1 : off+1+l]
		} else if v = r.str(); r.err != nil {
			return want, 0, fmt.Errorf("decode dictionary: %w", r.err)
		}
		if slices.Contains(vals, v) {
			allow[c] = true
			if k < len(want) {
				want[k] = uint16(c) // #nosec G602 -- k < len(want) is checked just above
			}
			k++
		}
	}
	return want, k, nil
}

// countPacked counts the rows of pk whose code is one of the k wanted
// (want holds the first of them, buf.allow all of them by code).
func countPacked(pk *packedDict, want [maxCountCodes]uint16, k int, buf *DictBuf) int {
	n := 0
	if k <= len(want) {
		for _, c := range want[:k] {
			n += pk.count(c)
		}
		return n
	}
	buf.packed = pk.expand8(buf.packed)
	for _, c := range buf.packed { // parsePacked checked c <= nd
		if buf.allow[c] {
			n++
		}
	}
	return n
}

// lengthIn reports whether a value of vals is l bytes long.
func lengthIn(vals []string, l int) bool {
	for _, x := range vals {
		if len(x) == l {
			return true
		}
	}
	return false
}

// countCode returns how many of the rows codes stored in rest (the
// codes of a dictionary of nd values) are c (1 <= c <= nd), eight bytes
// at a time; false when the codes are not rows uvarints of one byte
// (nd < 128) or of one or two bytes (nd < 16384) filling rest exactly,
// each at most nd, or a code is above nd: the caller then decodes them
// the general way, which reports what is wrong.
func countCode(rest string, rows, nd int, c uint16) (int, bool) {
	switch {
	case nd < 128:
		if len(rest) != rows || !bytesAtMost(rest, nd) {
			return 0, false
		}
		return bytes.Count(unsafe.Slice(unsafe.StringData(rest), len(rest)), []byte{byte(c)}), true // #nosec G103 -- read-only view of rest
	case nd < 1<<14:
		return countCode2(rest, rows, nd, c)
	}
	return 0, false
}

const (
	lo7s = 0x7f7f7f7f7f7f7f7f
	his  = 0x8080808080808080
	ones = 0x0101010101010101
)

// zeroBytes returns the high bit of each zero byte of x, exactly (no
// false positives from borrows).
func zeroBytes(x uint64) uint64 {
	return ^((x&lo7s + lo7s) | x | lo7s)
}

// countCode2 is countCode for codes of one or two bytes (uvarints). A
// byte with the high bit starts a two-byte code; the next byte ends it.
// Per word: the high bits of the bytes (h) and of the bytes before them
// (prev, carried over words) give the code ends (bytes without the high
// bit), two starts in a row (not allowed), and the second bytes, which
// must not be 0 (one byte would do) and make a code of at most nd; a
// one-byte c is a byte equal to it not after a start, a two-byte c a
// start byte and a second byte equal to its two.
func countCode2(rest string, rows, nd int, c uint16) (int, bool) {
	if len(rest) == 0 {
		return 0, rows == 0
	}
	if rest[len(rest)-1] >= 0x80 {
		return 0, false // the last code is cut short
	}
	b := unsafe.Slice(unsafe.StringData(rest), len(rest)) // #nosec G103 -- read-only view of rest
	var (
		// Second bytes are below 128 (two starts in a row are bad): one
		// plus overHi has the high bit when above nd>>7, plus lo7s when
		// not 0, plus geLim when at least nd>>7. One equal to nd>>7 makes
		// a code above nd when the low bits of the byte before, plus
		// overLo, set the high bit.
		overHi = uint64(127-nd>>7) * ones
		geLim  = uint64(128-nd>>7) * ones
		overLo = uint64(127-nd&0x7f) * ones
		p0, p1 uint64 // the bytes c is made of, repeated
		one    = c < 0x80
	)
	if one {
		p0 = uint64(c) * ones
	} else {
		p0, p1 = uint64(byte(c)|0x80)*ones, uint64(c>>7)*ones
	}
	var (
		ends, n, pad int
		bad          uint64
		carryH       uint64 // the high bit of the byte before the word, at bit 7
		carryLo      uint64 // whether that byte is c's first byte, at bit 7
		before       uint64 // that byte, in the low byte
		tail         [8]byte
	)
	for off := 0; off < len(b); off += 8 {
		var w uint64
		if off+8 <= len(b) {
			w = binary.LittleEndian.Uint64(b[off:])
		} else {
			// Zero bytes after the end: each is a code end (taken off
			// below) and never part of c (c >= 1; a first byte has the
			// high bit), and the last real byte is no start.
			copy(tail[:], b[off:])
			w = binary.LittleEndian.Uint64(tail[:])
			pad = 8 - (len(b) - off)
		}
		h := w & his
		prev := h<<8 | carryH
		ends += 8 - bits.OnesCount64(h)
		wl := w & lo7s
		firstLo := (w<<8 | before) & lo7s
		bad |= h&prev | // two starts in a row
			(wl+overHi|^(wl+lo7s)|(wl+geLim)&(firstLo+overLo))&his&prev // a second byte out of range
		if one {
			n += bits.OnesCount64(zeroBytes(w^p0) &^ prev)
		} else {
			lo := zeroBytes(w ^ p0)
			n += bits.OnesCount64(zeroBytes(w^p1) & (lo<<8 | carryLo))
			carryLo = lo >> 56
		}
		carryH, before = h>>56, w>>56
	}
	if bad != 0 || ends-pad != rows {
		return 0, false
	}
	return n, true
}
