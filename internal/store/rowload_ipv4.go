package store

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// IPv4EqualMarker is implemented by the BlockRefs of parts: the search
// `field=address` on a column stored as ipv4 (kind 7), decided on the
// stored byte planes without decoding the block's addresses. The rows
// that find a needle are a few in 8,192, so comparing the most varied
// plane (the fourth octets) eight bytes at a time and only the rare
// candidates' other octets costs a small part of a decode and compare
// of every address.
type IPv4EqualMarker interface {
	// MarkIPv4Equal clears keep[i] (len(keep) is the block's rows) for
	// every row i whose column name does not hold addr; an absent row
	// keeps keep[i] when missing, else it is cleared. It reports
	// whether a row is left marked (hit). ok is false when the column is
	// not stored as ipv4 in this block (keep is then unchanged: decide
	// another way). buf holds the decompressed body (nil: allocated).
	MarkIPv4Equal(name string, addr uint32, missing bool, keep []bool, buf *DictBuf) (hit, ok bool, err error)
}

// MarkIPv4Equal implements IPv4EqualMarker.
func (r *partRef) MarkIPv4Equal(name string, addr uint32, missing bool, keep []bool, buf *DictBuf) (hit, ok bool, err error) {
	if buf == nil {
		buf = new(DictBuf)
	}
	p, i := r.p, r.i
	body, ok, err := p.ipv4Body(r.bb, i, name, &buf.sc)
	if !ok || err != nil {
		return false, false, err
	}
	if hit, err = markIPv4Equal(body, int(p.blocks[i].rows), addr, missing, keep, &buf.addrs); err != nil {
		return false, false, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
	}
	return hit, true, nil
}

// markIPv4Equal is MarkIPv4Equal on a kindIPv4 body of rows values;
// scratch holds the matching rows. On an error keep is unchanged.
func markIPv4Equal(body string, rows int, addr uint32, missing bool, keep []bool, scratch *[]uint32) (bool, error) {
	if len(keep) != rows {
		return false, fmt.Errorf("%w: %d rows marked of %d", errIPv4, len(keep), rows)
	}
	bitmap, rest, n, err := ipv4Planes(body, rows)
	if err != nil {
		return false, err
	}
	match := planesEqual(rest, n, addr, (*scratch)[:0]) // present ranks
	*scratch = match
	if bitmap != "" {
		rowsOfRanks(bitmap, match)
	}
	hit := false
	if bitmap == "" || !missing {
		// Only the matching rows stay marked.
		for j, r := range match {
			match[j] = r<<1 | b2u(keep[r])
		}
		clear(keep)
		for _, m := range match {
			keep[m>>1] = m&1 != 0
			hit = hit || m&1 != 0
		}
		return hit, nil
	}
	// Absent rows keep their mark; present ones only when they match.
	j := 0
	for i := range keep {
		switch {
		case bitmap[i>>3]>>(i&7)&1 != 0:
		case j < len(match) && match[j] == uint32(i):
			j++
		default:
			keep[i] = false
		}
		hit = hit || keep[i]
	}
	return hit, nil
}

// ipv4Planes splits a kindIPv4 body of rows values: the absence bitmap
// ("" when every row is present), the four byte planes of the n present
// rows' addresses.
func ipv4Planes(body string, rows int) (bitmap, planes string, n int, err error) {
	if len(body) < 1 {
		return "", "", 0, fmt.Errorf("%w: %w", errIPv4, errShort)
	}
	flags, rest := body[0], body[1:]
	if flags&^ipv4HasAbsent != 0 {
		return "", "", 0, fmt.Errorf("%w: unknown flags %#x", errIPv4, flags)
	}
	n = rows
	if flags&ipv4HasAbsent != 0 {
		m := (rows + 7) / 8
		if len(rest) < m {
			return "", "", 0, fmt.Errorf("%w: absence bitmap of %d bytes, want %d: %w", errIPv4, len(rest), m, errShort)
		}
		bitmap, rest = rest[:m], rest[m:]
		n -= absentRows(bitmap, rows)
	}
	if len(rest) != 4*n {
		return "", "", 0, fmt.Errorf("%w: %d bytes of addresses for %d present rows of %d", errIPv4, len(rest), n, rows)
	}
	return bitmap, rest, n, nil
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// absentRows counts the set bits of the absence bitmap for rows rows
// (bits past the last row are ignored).
func absentRows(bitmap string, rows int) int {
	c := 0
	for len(bitmap) >= 8 && rows >= 64 {
		c += bits.OnesCount64(binary.LittleEndian.Uint64(stringBytes(bitmap)))
		bitmap, rows = bitmap[8:], rows-64
	}
	for i := 0; i < rows; i++ {
		c += int(bitmap[i>>3] >> (i & 7) & 1)
	}
	return c
}

// planesEqual appends to dst the ranks (0..n-1) of the addresses of the
// four byte planes (n bytes each) equal to addr: the fourth octets,
// which vary most, compared eight at a time; the candidates' other
// octets one by one.
func planesEqual(planes string, n int, addr uint32, dst []uint32) []uint32 {
	p0, p1, p2, p3 := planes[:n], planes[n:2*n], planes[2*n:3*n], planes[3*n:4*n]
	a0, a1, a2, a3 := byte(addr>>24), byte(addr>>16), byte(addr>>8), byte(addr)
	check := func(k int) {
		if p0[k] == a0 && p1[k] == a1 && p2[k] == a2 {
			dst = append(dst, uint32(k))
		}
	}
	rep := uint64(a3) * 0x0101010101010101
	k := 0
	for ; k+8 <= n; k += 8 {
		x := binary.LittleEndian.Uint64(stringBytes(p3[k:])) ^ rep
		// The zero bytes of x (an octet equal to a3) have their high bit
		// set in z, exactly: no borrow crosses bytes.
		z := ^((x&0x7f7f7f7f7f7f7f7f + 0x7f7f7f7f7f7f7f7f) | x | 0x7f7f7f7f7f7f7f7f)
		for z != 0 {
			check(k + bits.TrailingZeros64(z)>>3)
			z &= z - 1
		}
	}
	for ; k < n; k++ {
		if p3[k] == a3 {
			check(k)
		}
	}
	return dst
}

// rowsOfRanks replaces each rank (ascending) of a present row by its row,
// given the absence bitmap: the rank-th row whose bit is clear.
func rowsOfRanks(bitmap string, ranks []uint32) {
	row, seen := 0, 0 // rows before row: seen of them present
	for j, want := range ranks {
		// Whole bytes of the bitmap while the rank lies past them.
		for row&7 == 0 && row>>3 < len(bitmap) {
			present := 8 - bits.OnesCount8(bitmap[row>>3])
			if seen+present > int(want) {
				break
			}
			seen += present
			row += 8
		}
		for {
			if bitmap[row>>3]>>(row&7)&1 == 0 {
				if seen == int(want) {
					break
				}
				seen++
			}
			row++
		}
		ranks[j] = uint32(row)
		row++
		seen++
	}
}

// fewIPv4Rows: up to this many listed rows, a row load of a kindIPv4
// body reads each row's address at its rank (rowLoader.fewIPv4) instead
// of marking the rows and selecting over the whole block.
const fewIPv4Rows = 16

// fewIPv4 sets the listed rows' addresses of a kindIPv4 body: a present
// row's address is at its rank among the present rows (its row less the
// absent rows before it) in each of the four planes.
func (l *rowLoader) fewIPv4(body string, col Column, sc *rowScratch) error {
	bitmap, rest, n, err := ipv4Planes(body, len(col.Values))
	if err != nil {
		return err
	}
	text := slices.Grow(sc.text[:0], 15*len(l.rows))
	for _, i := range l.rows {
		k := i
		if bitmap != "" {
			if bitmap[i>>3]>>(i&7)&1 != 0 {
				col.Absent[i] = true
				continue
			}
			k -= absentRows(bitmap, i)
		}
		a := uint32(rest[k])<<24 | uint32(rest[n+k])<<16 | uint32(rest[2*n+k])<<8 | uint32(rest[3*n+k])
		start := len(text)
		text = AppendIPv4(text, a)
		col.Values[i] = bytesToString(text[start:])
	}
	sc.text = text
	return nil
}
