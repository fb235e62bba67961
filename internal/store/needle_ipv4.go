package store

import (
	"fmt"
)

// IPv4EqualRower is implemented by the BlockRefs of parts: the rows of a
// block whose column, stored as ipv4 (kind 7), holds one address. A bare
// term that is a dotted quad ("203.0.113.77") matches such a column only
// where the value equals it, and the rows that hold a needle are a few in
// 8,192: they are found on the stored byte planes (as MarkIPv4Equal),
// without decoding the block's addresses and without a mark per row.
type IPv4EqualRower interface {
	// IPv4EqualRows appends to dst the rows (ascending) whose column name
	// holds addr; absent rows hold none. ok is false when the column is
	// not stored as ipv4 in this block (dst is then returned as is:
	// decide another way). buf holds the decompressed body (nil:
	// allocated).
	IPv4EqualRows(name string, addr uint32, dst []int, buf *DictBuf) (rows []int, ok bool, err error)
}

// IPv4EqualRows implements IPv4EqualRower.
func (r *partRef) IPv4EqualRows(name string, addr uint32, dst []int, buf *DictBuf) ([]int, bool, error) {
	if buf == nil {
		buf = new(DictBuf)
	}
	p, i := r.p, r.i
	body, ok, err := p.ipv4Body(r.bb, i, name, &buf.sc)
	if !ok || err != nil {
		return dst, false, err
	}
	out, err := ipv4EqualRows(body, int(p.blocks[i].rows), addr, dst, &buf.addrs)
	if err != nil {
		return dst, false, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
	}
	return out, true, nil
}

// ipv4EqualRows is IPv4EqualRows on a kindIPv4 body of rows values;
// scratch holds the matching ranks. On an error dst is returned as is.
func ipv4EqualRows(body string, rows int, addr uint32, dst []int, scratch *[]uint32) ([]int, error) {
	bitmap, planes, n, err := ipv4Planes(body, rows)
	if err != nil {
		return dst, err
	}
	match := planesEqual(planes, n, addr, (*scratch)[:0]) // present ranks
	*scratch = match
	if bitmap != "" {
		rowsOfRanks(bitmap, match)
	}
	for _, r := range match {
		dst = append(dst, int(r))
	}
	return dst, nil
}
