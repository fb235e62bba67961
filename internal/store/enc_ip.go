package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/mamori/mamori/internal/event"
)

// kindIPv4 stores a column whose every present value is a canonical dotted
// quad (exactly what AppendIPv4 prints back) as one uint32 per present
// row, in byte planes:
//
//	u8 flags | [ceil(rows/8) bytes absence bitmap, when flags&ipv4HasAbsent]
//	| n bytes of the first octets | n of the second | n of the third | n of the fourth
//
// where n is the number of present rows and bit i%8 of bitmap byte i/8
// set means row i lacks the field. Planes compress better than whole
// addresses: the first octets of a block's addresses repeat a lot.
const (
	kindIPv4 byte = 7

	ipv4HasAbsent byte = 1
)

var errIPv4 = errors.New("ipv4 column")

// octets holds the decimal text of 0..255, for AppendIPv4.
var octets = func() (t [256]string) {
	for i := range t {
		t[i] = string(appendInt(nil, int64(i)))
	}
	return t
}()

// AppendIPv4 appends the dotted-quad text of a (big-endian: the first
// octet in the high byte) to dst.
func AppendIPv4(dst []byte, a uint32) []byte {
	dst = append(dst, octets[a>>24]...)
	dst = append(dst, '.')
	dst = append(dst, octets[a>>16&0xff]...)
	dst = append(dst, '.')
	dst = append(dst, octets[a>>8&0xff]...)
	dst = append(dst, '.')
	return append(dst, octets[a&0xff]...)
}

// parseIPv4 returns s as a number when it is a canonical dotted quad:
// four decimal octets of at most 255 without leading zeros, so that
// AppendIPv4 gives back exactly s.
func parseIPv4(s string) (uint32, bool) {
	if len(s) < 7 || len(s) > 15 {
		return 0, false
	}
	var a, n uint32
	dots, digits := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if digits == 0 || dots == 3 {
				return 0, false
			}
			a, n, digits = a<<8|n, 0, 0
			dots++
			continue
		}
		if c < '0' || c > '9' || (digits == 1 && n == 0) {
			return 0, false // not a digit, or a leading zero
		}
		n = n*10 + uint32(c-'0')
		digits++
		if n > 255 {
			return 0, false
		}
	}
	if digits == 0 || dots != 3 {
		return 0, false
	}
	return a<<8 | n, true
}

// encodeIPv4 returns the kindIPv4 body of vals, or false as soon as a
// present value is not a canonical dotted quad (or no row is present).
func encodeIPv4(vals []string, absent []bool) ([]byte, bool) {
	n := 0
	for i, v := range vals {
		if absent == nil || !absent[i] {
			// Fast path out: a dotted quad starts with a digit.
			if v == "" || v[0] < '0' || v[0] > '9' {
				return nil, false
			}
			n++
		}
	}
	if n == 0 {
		return nil, false
	}
	size := 1 + 4*n
	if n < len(vals) {
		size += (len(vals) + 7) / 8
	}
	b := make([]byte, size)
	planes := b[size-4*n:]
	if n < len(vals) {
		b[0] = ipv4HasAbsent
		for i := range vals {
			if absent[i] {
				b[1+i/8] |= 1 << (i % 8)
			}
		}
	}
	j := 0
	for i, v := range vals {
		if absent != nil && absent[i] {
			continue
		}
		a, ok := parseIPv4(v)
		if !ok {
			return nil, false
		}
		planes[j], planes[n+j], planes[2*n+j], planes[3*n+j] = byte(a>>24), byte(a>>16), byte(a>>8), byte(a)
		j++
	}
	return b, true
}

// decodeIPv4 decodes a kindIPv4 body of rows values into addrs (0 where
// absent) and the absence flags (nil when every row is present).
func decodeIPv4(body string, rows int, addrs []uint32) ([]uint32, []bool, error) {
	return decodeIPv4To(body, rows, addrs, nil)
}

// decodeIPv4To is decodeIPv4 reusing absentBuf for the absence flags.
func decodeIPv4To(body string, rows int, addrs []uint32, absentBuf []bool) ([]uint32, []bool, error) {
	if len(body) < 1 {
		return nil, nil, fmt.Errorf("%w: %w", errIPv4, errShort)
	}
	flags, rest := body[0], body[1:]
	if flags&^ipv4HasAbsent != 0 {
		return nil, nil, fmt.Errorf("%w: unknown flags %#x", errIPv4, flags)
	}
	var absent []bool
	n := rows
	if flags&ipv4HasAbsent != 0 {
		m := (rows + 7) / 8
		if len(rest) < m {
			return nil, nil, fmt.Errorf("%w: absence bitmap of %d bytes, want %d: %w", errIPv4, len(rest), m, errShort)
		}
		absent = slices.Grow(absentBuf[:0], rows)[:rows]
		n -= bitsToBools(absent, rest[:m])
		rest = rest[m:]
	}
	if len(rest) != 4*n {
		return nil, nil, fmt.Errorf("%w: %d bytes of addresses for %d present rows of %d", errIPv4, len(rest), n, rows)
	}
	addrs = slices.Grow(addrs[:0], rows)[:rows]
	p0, p1, p2, p3 := rest[:n], rest[n:2*n], rest[2*n:3*n], rest[3*n:]
	if absent == nil {
		p1, p2, p3 = p1[:len(p0)], p2[:len(p0)], p3[:len(p0)]
		addrs = addrs[:len(p0)]
		for i := 0; i < len(p0); i++ { // not range: p0 is a string
			addrs[i] = uint32(p0[i])<<24 | uint32(p1[i])<<16 | uint32(p2[i])<<8 | uint32(p3[i])
		}
		return addrs, nil, nil
	}
	if n == 0 {
		clear(addrs)
		return addrs, absent, nil
	}
	// Without branches: row i takes the next present address (the last
	// one again past the end) masked to 0 when absent.
	j, last := 0, n-1
	for i := range addrs {
		k := min(j, last)
		a := uint32(p0[k])<<24 | uint32(p1[k])<<16 | uint32(p2[k])<<8 | uint32(p3[k])
		pres := uint32(b2u8(!absent[i]))
		addrs[i] = a & -pres
		j += int(pres)
	}
	return addrs, absent, nil
}

// selectIPv4 decodes, from a kindIPv4 body of rows values, the addresses
// of the rows marked in keep (nil: all) that are present, in row order,
// into dst; it returns them and the number of rows marked.
func selectIPv4(body string, rows int, keep []bool, dst []uint32) ([]uint32, int, error) {
	if keep != nil && len(keep) != rows {
		return nil, 0, fmt.Errorf("%w: %d rows marked of %d", errIPv4, len(keep), rows)
	}
	if len(body) < 1 {
		return nil, 0, fmt.Errorf("%w: %w", errIPv4, errShort)
	}
	flags, rest := body[0], body[1:]
	if flags&^ipv4HasAbsent != 0 {
		return nil, 0, fmt.Errorf("%w: unknown flags %#x", errIPv4, flags)
	}
	var bitmap string
	n := rows
	if flags&ipv4HasAbsent != 0 {
		m := (rows + 7) / 8
		if len(rest) < m {
			return nil, 0, fmt.Errorf("%w: absence bitmap of %d bytes, want %d: %w", errIPv4, len(rest), m, errShort)
		}
		bitmap, rest = rest[:m], rest[m:]
		for k := 0; k < rows/8; k++ {
			n -= bits.OnesCount8(bitmap[k])
		}
		if rows%8 != 0 {
			n -= bits.OnesCount8(bitmap[m-1] & (1<<(rows%8) - 1)) // bits past the rows do not count
		}
	}
	if len(rest) != 4*n {
		return nil, 0, fmt.Errorf("%w: %d bytes of addresses for %d present rows of %d", errIPv4, len(rest), n, rows)
	}
	marked := rows
	var k8 []byte
	if keep != nil {
		k8 = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(keep))), len(keep)) // #nosec G103 -- bools are single bytes of 0 or 1
		marked = 0
	}
	dst = slices.Grow(dst[:0], rows)[:rows]
	if n == 0 {
		for _, k := range k8 {
			marked += int(k)
		}
		return dst[:0], marked, nil
	}
	p0, p1, p2, p3 := rest[:n], rest[n:2*n], rest[2*n:3*n], rest[3*n:]
	if bitmap == "" && k8 == nil {
		for i := range dst {
			dst[i] = uint32(p0[i])<<24 | uint32(p1[i])<<16 | uint32(p2[i])<<8 | uint32(p3[i])
		}
		return dst, marked, nil
	}
	// Eight rows at a time: the present rows (bitmap) and the marked ones
	// (keep, eight bools as one word) as bit masks; each row both marked
	// and present takes the address of its rank among the present rows.
	j, m := 0, 0
	full := rows / 8
	// (32-bit bit counts: instructions, where the 8-bit ones are tables.)
	for g := 0; g < full; g++ {
		pres := uint32(0xff)
		if bitmap != "" {
			pres = uint32(^bitmap[g])
		}
		want := pres
		if k8 != nil {
			km := uint32(binary.LittleEndian.Uint64(k8[8*g:]) * 0x0102040810204080 >> 56)
			marked += bits.OnesCount32(km)
			want &= km
		}
		for c := want; c != 0; c &= c - 1 {
			x := j + bits.OnesCount32(pres&(c&-c-1)) // the present rows before this one
			dst[m] = uint32(p0[x])<<24 | uint32(p1[x])<<16 | uint32(p2[x])<<8 | uint32(p3[x])
			m++
		}
		j += bits.OnesCount32(pres)
	}
	for i := 8 * full; i < rows; i++ {
		pres := bitmap == "" || bitmap[i>>3]>>(i&7)&1 == 0
		k := k8 == nil || k8[i] != 0
		if k && k8 != nil {
			marked++
		}
		if pres && k {
			dst[m] = uint32(p0[j])<<24 | uint32(p1[j])<<16 | uint32(p2[j])<<8 | uint32(p3[j])
			m++
		}
		if pres {
			j++
		}
	}
	return dst[:m], marked, nil
}

// bitsToBools sets dst[i] to bit i%8 of bits[i/8] (len(bits) is
// ceil(len(dst)/8)) and returns the number of bits set among them.
func bitsToBools(dst []bool, bitmap string) int {
	set := 0
	full := len(dst) / 8
	// Bools are bytes of 0 or 1: eight rows at a time from a table.
	d8 := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst)) // #nosec G103 -- bools are single bytes of 0 or 1
	for k := 0; k < full; k++ {
		b := bitmap[k]
		binary.LittleEndian.PutUint64(d8[8*k:], spreadBits[b])
		set += bits.OnesCount8(b)
	}
	for i := 8 * full; i < len(dst); i++ {
		a := bitmap[i/8]&(1<<(i%8)) != 0
		dst[i] = a
		set += int(b2u8(a))
	}
	return set
}

// spreadBits[b] holds bit i of b in byte i.
var spreadBits = func() (t [256]uint64) {
	for b := range t {
		for i := range 8 {
			if b&(1<<i) != 0 {
				t[b] |= 1 << (8 * i)
			}
		}
	}
	return t
}()

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// decodeIPv4Values is decodeBody for kindIPv4: the values as text, formatted
// into one buffer (sc.ints when sc is given) that never moves, so each
// value is a view into it.
func decodeIPv4Values(body string, vals []string, sc *colScratch) ([]string, []bool, error) {
	addrs, absent, err := decodeIPv4(body, len(vals), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("decode column: %w", err)
	}
	var buf []byte
	if sc != nil {
		buf = sc.ints[:0]
	}
	buf = slices.Grow(buf, len(vals)*15)
	for i, a := range addrs {
		if absent != nil && absent[i] {
			vals[i] = ""
			continue
		}
		start := len(buf)
		buf = AppendIPv4(buf, a)
		vals[i] = bytesToString(buf[start:])
	}
	if sc != nil {
		sc.ints = buf
	}
	return vals, absent, nil
}

// decodeColumnRows is decodeColumnTo for a load of some rows
// (LoadOptions.Rows, ascending; nil means all): an ipv4 column is
// formatted as text only in those rows, the other rows' values are left
// empty (their absence flags stay exact).
func decodeColumnRows(chunk []byte, rows int, sc *colScratch, scratchVals bool, only []int) ([]string, []bool, error) {
	if only == nil || len(chunk) == 0 || chunk[0] != kindIPv4 {
		return decodeColumnTo(chunk, rows, sc, scratchVals)
	}
	_, body, err := chunkBodyTo(chunk, sc)
	if err != nil {
		return nil, nil, fmt.Errorf("decode column: %w", err)
	}
	addrs, absent, err := decodeIPv4(body, rows, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("decode column: %w", err)
	}
	var vals []string
	if sc != nil && scratchVals {
		vals = slices.Grow(sc.vals[:0], rows)[:rows]
		clear(vals)
		sc.vals = vals
	} else {
		vals = make([]string, rows)
	}
	var buf []byte
	if sc != nil {
		buf = sc.ints[:0]
	}
	buf = slices.Grow(buf, len(only)*15)
	for _, i := range only {
		if i < 0 || i >= rows {
			return nil, nil, fmt.Errorf("decode column: row %d outside the block of %d", i, rows)
		}
		if absent != nil && absent[i] {
			continue
		}
		// At most 15 bytes per listed row: buf never moves.
		start := len(buf)
		buf = AppendIPv4(buf, addrs[i])
		vals[i] = bytesToString(buf[start:])
	}
	if sc != nil {
		sc.ints = buf
	}
	return vals, absent, nil
}

// loadIPv4 returns column name of block i as numbers when it is stored
// with kindIPv4, else nil (see IPv4Loader).
func (p *part) loadIPv4(i int, name string) (*IPv4Column, error) {
	sc := getScratch()
	defer putScratch(sc)
	body, ok, err := p.ipv4Body(nil, i, name, sc)
	if !ok || err != nil {
		return nil, err
	}
	var col IPv4Column
	col.Addrs, col.Absent, err = decodeIPv4(body, int(p.blocks[i].rows), nil)
	if err != nil {
		return nil, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
	}
	col.Name = name
	return &col, nil
}

// ipv4Body returns the body of column name of block i, decompressed
// into sc, when it is stored with kindIPv4; ok is false otherwise.
func (p *part) ipv4Body(bb *BlockBodies, i int, name string, sc *colScratch) (body string, ok bool, err error) {
	c, ok := p.ipv4Column(i, name)
	if !ok {
		return "", false, nil
	}
	ch, err := bb.chunk(p, i, c)
	if err != nil {
		return "", false, err
	}
	if _, body, err = bb.decodeBody(p, i, c, ch, sc); err != nil {
		return "", false, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
	}
	return body, true, nil
}

// ipv4Column returns the chunk of column name of block i when it is
// stored with kindIPv4.
func (p *part) ipv4Column(i int, name string) (colMeta, bool) {
	switch name {
	case event.FieldTime, event.FieldSource, event.FieldHost, event.FieldPartition:
		return colMeta{}, false
	}
	c, ok := p.valueColumn(&p.blocks[i], name) // an alias of an ipv4 column is one
	if !ok || c.size == 0 || p.data[c.off] != kindIPv4 {
		return colMeta{}, false
	}
	return c, true
}

// LoadIPv4 implements IPv4Loader.
func (r *partRef) LoadIPv4(name string) (*IPv4Column, error) { return r.p.loadIPv4(r.i, name) }
