package store

import (
	"errors"
	"fmt"
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
	for i := range dst {
		// Fast path: the whole varint is in the body.
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
	}
	return off, nil
}
