package store

import (
	"errors"
	"fmt"
	"math/bits"
)

// This file holds the read side's fast decoding loops: they work on the
// chunk bytes directly (no copy for stored chunks), with the varint loop
// inlined, because the per-row cost of a scan over 10M rows is paid in
// these loops.

var errVarintOverflow = errors.New("varint overflows 64 bits")

// decodeDeltas fills dst with the running sum of the zig-zag varints in
// body (a kindInt body) and returns the number of bytes read.
func decodeDeltas(body string, dst []int64) (int, error) {
	off := 0
	var prev int64
	i := 0
fast:
	// Fastest path: a varint of at most eight bytes read as one word
	// (no branch per byte), while eight bytes are left.
	for ; i < len(dst) && off+8 <= len(body); i++ {
		x := le64(body[off : off+8])
		stop := ^x & 0x8080808080808080 // the last byte's high bit is clear
		if stop == 0 {
			break // nine bytes or more: byte by byte
		}
		off += (bits.TrailingZeros64(stop) + 1) >> 3
		// The varint's bytes (through its last), then their 7-bit groups
		// packed pairwise: 14 bits in each 16, 28 in each 32, 56.
		x &= stop ^ (stop - 1)
		x = x&0x007f007f007f007f | x>>1&0x3f803f803f803f80
		x = x&0x00003fff00003fff | x>>2&0x0fffc0000fffc000
		x = x&0x000000000fffffff | x>>4&0x00fffffff0000000
		prev += int64(x>>1) ^ -int64(x&1)
		dst[i] = prev
	}
	for ; i < len(dst); i++ {
		// Byte by byte: the last bytes, and varints of nine bytes or more.
		var u uint64
		var s uint
		for {
			if off >= len(body) {
				return off, fmt.Errorf("row %d: %w", i, errShort)
			}
			c := body[off]
			off++
			if c < 0x80 {
				if s == 63 && c > 1 {
					return off, fmt.Errorf("row %d: %w", i, errVarintOverflow)
				}
				u |= uint64(c) << s
				break
			}
			u |= uint64(c&0x7f) << s
			s += 7
			if s > 63 {
				return off, fmt.Errorf("row %d: %w", i, errVarintOverflow)
			}
		}
		x := int64(u >> 1)
		if u&1 != 0 {
			x = ^x
		}
		prev += x
		dst[i] = prev
		if off+8 <= len(body) {
			// A varint of nine bytes or more (a block's first time, the
			// delta from 0): back to words for the rest.
			i++
			goto fast
		}
	}
	return off, nil
}

// le64 is the little-endian uint64 of the eight bytes of s.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
