package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// loadDict returns column name of block i as dictionary codes when it is
// stored as a constant or a dictionary, an empty DictColumn when the block
// lacks it, and nil otherwise (see ColumnLoader.LoadDict).
func (p *part) loadDict(i int, name string) (*DictColumn, error) {
	return p.loadDictTo(i, name, nil)
}

// loadDictTo is loadDict decoding into buf's buffers when buf is not nil
// (see DictBuf): the result is then valid until buf's next use.
func (p *part) loadDictTo(i int, name string, buf *DictBuf) (*DictColumn, error) {
	switch name {
	case event.FieldTime, event.FieldSource, event.FieldHost, event.FieldPartition:
		return nil, nil
	}
	bm := &p.blocks[i]
	c, ok := p.valueColumn(bm, name) // an alias of a dict column is one
	if !ok {
		if buf != nil {
			buf.clear()
			buf.dc.Name = name
			return &buf.dc, nil
		}
		return &DictColumn{Name: name}, nil
	}
	if c.size == 0 {
		return nil, nil
	}
	k := p.data[c.off]
	if k != kindConst && k != kindDict {
		return nil, nil
	}
	// Fast path: a constant column decoded before (count by host, say,
	// runs over the same blocks again and again). The cached value is
	// shared: callers must not modify a DictColumn.
	key := constKey{block: i, col: c.name}
	if k == kindConst {
		if v, ok := p.consts.Load(key); ok {
			return v.(*DictColumn), nil
		}
	}
	ch, err := p.chunk(c)
	if err != nil {
		return nil, err
	}
	if k == kindConst {
		buf = nil // a constant is cached: it must own its memory
	}
	dc, err := decodeDictTo(ch, int(bm.rows), buf)
	if err != nil {
		return nil, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
	}
	dc.Name = name
	if k == kindConst {
		p.consts.Store(key, dc)
	}
	return dc, nil
}

// constKey names a column chunk of a part: block index and name index.
type constKey struct {
	block int
	col   uint32
}

// decodeDict decodes a kindConst or kindDict chunk of rows values into
// codes; the strings do not alias chunk.
func decodeDict(chunk []byte, rows int) (*DictColumn, error) {
	return decodeDictTo(chunk, rows, nil)
}

// decodeDictTo is decodeDict into buf's buffers when buf is not nil: the
// strings then alias buf or chunk, and the result is buf's.
func decodeDictTo(chunk []byte, rows int, buf *DictBuf) (*DictColumn, error) {
	if isPacked(chunk) {
		return decodePackedDict(chunk, rows, buf)
	}
	var (
		kind byte
		body string
		err  error
		dc   *DictColumn
	)
	if buf != nil {
		kind, body, err = chunkBodyTo(chunk, &buf.sc)
		buf.clear()
		dc = &buf.dc
	} else {
		kind, body, err = chunkBody(chunk)
		dc = &DictColumn{}
	}
	if err != nil {
		return nil, fmt.Errorf("decode dictionary: %w", err)
	}
	// The values are views into body: the strings of a decoded copy do
	// not alias chunk, those decoded into buf alias buf or chunk.
	r := &reader{s: body}
	switch kind {
	case kindConst:
		if buf != nil {
			buf.dict = append(buf.dict[:0], r.str())
			dc.Dict = buf.dict
		} else {
			dc.Dict = []string{r.str()}
		}
	case kindDict:
		n := r.count(1)
		if n > maxDict {
			return nil, fmt.Errorf("decode dictionary: %d values, at most %d", n, maxDict)
		}
		if buf != nil {
			dc.Dict = slices.Grow(buf.dict[:0], n)[:n]
			dc.Codes = slices.Grow(buf.codes[:0], rows)[:rows]
			buf.dict, buf.codes = dc.Dict, dc.Codes
		} else {
			dc.Dict = make([]string, n)
			dc.Codes = make([]uint16, rows)
		}
		for i := range dc.Dict {
			dc.Dict[i] = r.str()
		}
		if r.err != nil {
			break
		}
		// Every code in one byte: a view of them, when asked for.
		if rest := body[r.off:]; buf != nil && buf.narrow && n < 128 && len(rest) == rows {
			if !bytesAtMost(rest, n) {
				i := strings.IndexFunc(rest, func(c rune) bool { return int(c) > n })
				r.err = fmt.Errorf("dictionary index %d out of %d", rest[i], n)
				break
			}
			dc.Codes, buf.codes8 = nil, unsafe.Slice(unsafe.StringData(rest), len(rest)) // #nosec G103 -- read-only view of the decoded body
			r.off = len(body)
			break
		}
		r.off, r.err = decodeCodes(body, r.off, n, dc.Codes)
	default:
		return nil, fmt.Errorf("decode dictionary: kind %d is not const or dict", kind)
	}
	if r.err == nil && r.off != len(body) {
		r.err = fmt.Errorf("%d trailing bytes", len(body)-r.off)
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode dictionary: %w", r.err)
	}
	return dc, nil
}

// bytesAtMost reports whether every byte of s is at most n (n < 128),
// eight bytes at a time: a byte b < 128 plus 127-n has its high bit set
// exactly when b > n, and no carry leaves it.
func bytesAtMost(s string, n int) bool {
	add := uint64(127-n) * 0x0101010101010101
	var acc uint64
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8)) // #nosec G103 -- read-only view of 8 bytes of s
		acc |= w | (w + add)
	}
	if acc&0x8080808080808080 != 0 {
		return false
	}
	for ; i < len(s); i++ {
		if int(s[i]) > n {
			return false
		}
	}
	return true
}

// decodeCodes reads len(codes) dictionary codes (uvarints of at most n)
// from body[off:] and returns the offset after them.
func decodeCodes(body string, off, n int, codes []uint16) (int, error) {
	rows := len(codes)
	// Fast path: below 128 values every code is one byte.
	if rest := body[min(off, len(body)):]; n < 128 && len(rest) == rows {
		bad := false
		for i := range codes {
			c := rest[i]
			codes[i] = uint16(c)
			bad = bad || int(c) > n
		}
		if bad {
			i := slices.IndexFunc(codes, func(c uint16) bool { return int(c) > n })
			return off, fmt.Errorf("dictionary index %d out of %d", codes[i], n)
		}
		return len(body), nil
	}
	// Fast path: below 16384 values a code is one or two bytes.
	if n < 1<<14 {
		if end, ok := decodeCodes2(body, off, codes); ok {
			if i := slices.IndexFunc(codes, func(c uint16) bool { return int(c) > n }); i >= 0 {
				return end, fmt.Errorf("dictionary index %d out of %d", codes[i], n)
			}
			return end, nil
		}
	}
	r := &reader{s: body, off: off}
	for i := range codes {
		c := r.uvarint()
		if c > uint64(n) && r.err == nil {
			r.err = fmt.Errorf("dictionary index %d out of %d", c, n)
		}
		codes[i] = uint16(c)
	}
	return r.off, r.err
}

// decodeCodes2 reads len(codes) uvarints of at most two bytes from
// body[off:] into codes and returns the offset after them; false when one
// is longer or the body ends first (the caller then reads them the slow
// way, which reports the problem).
func decodeCodes2(body string, off int, codes []uint16) (int, bool) {
	i := 0
	// Fast path without branches on the codes (one-byte and two-byte
	// codes mix unpredictably): while two bytes are left, read both and
	// keep the second when the first has the continuation bit.
	var bad byte
	for ; i < len(codes) && off+1 < len(body); i++ {
		b0, b1 := body[off], body[off+1]
		two := b0 >> 7 // 1: a two-byte code
		codes[i] = uint16(b0&0x7f) | uint16(b1)<<7&-uint16(two)
		bad |= b1 & -two // a second byte with the continuation bit
		off += 1 + int(two)
	}
	if bad&0x80 != 0 {
		return off, false
	}
	for ; i < len(codes); i++ {
		if off >= len(body) {
			return off, false
		}
		c := uint16(body[off])
		off++
		if c >= 0x80 {
			if off >= len(body) || body[off] >= 0x80 {
				return off, false
			}
			c = c&0x7f | uint16(body[off])<<7
			off++
		}
		codes[i] = c
	}
	return off, true
}

// containsFold reports whether s contains sub, ASCII case-insensitively
// (token.EqualFold); a sub with non-ASCII bytes always answers true.
func containsFold(s, sub string) bool {
	m := len(sub)
	if m == 0 {
		return true
	}
	// Anchor on sub's rarest-looking byte: a non-letter if it has one.
	k := 0
	for j := 0; j < m; j++ {
		c := sub[j]
		if c >= 0x80 {
			return true
		}
		if !isASCIILetter(sub[k]) {
			continue
		}
		if !isASCIILetter(c) || c == 'q' || c == 'z' || c == 'x' || c == 'Q' || c == 'Z' || c == 'X' {
			k = j
		}
	}
	lo, up := sub[k], sub[k]
	if lo >= 'A' && lo <= 'Z' {
		lo += 'a' - 'A'
	} else if up >= 'a' && up <= 'z' {
		up -= 'a' - 'A'
	}
	end := len(s) - m + k + 1 // anchor positions are in s[k:end]
	nextLo, nextUp := -2, -2  // -2: not searched yet, -1: none left
	if lo == up {
		nextUp = -1
	}
	for i := k; i < end; {
		if nextLo != -1 && nextLo < i {
			nextLo = indexFrom(s[:end], lo, i)
		}
		if nextUp != -1 && nextUp < i {
			nextUp = indexFrom(s[:end], up, i)
		}
		p := nextLo
		if p < 0 || (nextUp >= 0 && nextUp < p) {
			p = nextUp
		}
		if p < 0 {
			return false
		}
		if token.EqualFold(s[p-k:p-k+m], sub) {
			return true
		}
		i = p + 1
	}
	return false
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// indexFrom returns the index of the first c in s at or after i, or -1.
func indexFrom(s string, c byte, i int) int {
	if j := strings.IndexByte(s[i:], c); j >= 0 {
		return i + j
	}
	return -1
}
