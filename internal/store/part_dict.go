package store

import (
	"encoding/binary"
	"fmt"
	"math/bits"
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
	return indexFold(s, sub, 0) != -1
}

// indexFold returns the first index at or after from at which s holds
// sub, ASCII case-insensitively (token.EqualFold), -1 when there is none,
// or -2 for a sub with non-ASCII bytes (not searched: it may match
// anywhere).
func indexFold(s, sub string, from int) int {
	m := len(sub)
	if m == 0 {
		if from > len(s) {
			return -1
		}
		return from
	}
	// Anchor on sub's rarest-looking byte: a non-letter if it has one.
	// Its longest run of non-letters, when it has two bytes or more,
	// is searched for as it is (case folding leaves non-letters as they
	// are): a hash's run of digits is rare in text, even in hex.
	k := 0
	ra, rb := 0, 0 // the longest run: sub[ra:rb]
	run := 0       // the run of non-letters ending at j
	for j := 0; j < m; j++ {
		c := sub[j]
		if c >= 0x80 {
			return -2
		}
		if isASCIILetter(c) {
			run = 0
		} else if run++; run > rb-ra {
			ra, rb = j+1-run, j+1
		}
		if !isASCIILetter(sub[k]) {
			continue
		}
		if !isASCIILetter(c) || c == 'q' || c == 'z' || c == 'x' || c == 'Q' || c == 'Z' || c == 'X' {
			k = j
		}
	}
	if len(s)-from < m {
		return -1
	}
	if rb-ra >= 2 {
		lit := sub[ra:rb]
		limit := len(s) - m + rb // lit's end: sub ends inside s
		for i := from + ra; i < limit; {
			j := indexExact(s[:limit], lit, i)
			if j < 0 {
				return -1
			}
			if p := j - ra; token.EqualFold(s[p:p+m], sub) {
				return p
			}
			i = j + 1
		}
		return -1
	}
	lo, up := sub[k], sub[k]
	if lo >= 'A' && lo <= 'Z' {
		lo += 'a' - 'A'
	} else if up >= 'a' && up <= 'z' {
		up -= 'a' - 'A'
	}
	end := len(s) - m + k + 1 // anchor positions are in s[from+k:end]
	nextLo, nextUp := -2, -2  // -2: not searched yet, -1: none left
	if lo == up {
		nextUp = -1
	}
	for i := from + k; i < end; {
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
			return -1
		}
		if token.EqualFold(s[p-k:p-k+m], sub) {
			return p - k
		}
		i = p + 1
	}
	return -1
}

// indexExact returns the first index at or after from at which s holds
// lit (two bytes or more), or -1. Where lit's first byte is rare it hops
// from one to the next (strings.IndexByte); where it is not (a run of
// digits of a hash in hex text: strings.Index stops at every sixteenth
// byte or so), it looks for lit's first two bytes eight positions at a
// time (SWAR), about three times faster there.
func indexExact(s, lit string, from int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	x, y := ones*uint64(lit[0]), ones*uint64(lit[1])
	i := from
	for i < len(s) {
		j := strings.IndexByte(s[i:], lit[0])
		if j < 0 {
			return -1
		}
		i += j
		// Eight positions at a time until four words in a row lack the
		// first byte.
		for miss := 0; miss < 4 && i+9 <= len(s); i += 8 {
			// A zero byte of a and b at the same place: lit's two bytes.
			// The test flags every zero byte (and maybe bytes past one).
			a := le64(s[i:i+8]) ^ x
			z := (a - ones) &^ a & highs
			if z == 0 {
				miss++
				continue
			}
			miss = 0
			b := le64(s[i+1:i+9]) ^ y
			z &= (b - ones) &^ b
			for z != 0 {
				k := i + bits.TrailingZeros64(z)>>3
				if k+len(lit) <= len(s) && s[k:k+len(lit)] == lit {
					return k
				}
				z &= z - 1
			}
		}
		if i+9 > len(s) {
			if i < len(s) {
				if j := strings.Index(s[i:], lit); j >= 0 {
					return i + j
				}
			}
			return -1
		}
	}
	return -1
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// indexFrom returns the index of the first c in s at or after i, or -1.
func indexFrom(s string, c byte, i int) int {
	if j := strings.IndexByte(s[i:], c); j >= 0 {
		return i + j
	}
	return -1
}
