package logreduce

import (
	"encoding/binary"
	"unsafe"
)

// bytesView returns a string sharing b's memory, for map lookups and
// comparisons that do not keep the string. The caller must not keep the
// result past the next change of b.
func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b)) // #nosec G103 -- zero-copy view of a buffer the caller does not modify while the string is in use
}

// loadUint64 returns the eight bytes of s at i (i+8 <= len(s)) as a
// little-endian integer, without copying s.
func loadUint64(s string, i int) uint64 {
	// Bounds check: the read below stays inside s.
	_ = s[i+7]
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8)) // #nosec G103 -- 8-byte load, bounds-checked on the line above
}
