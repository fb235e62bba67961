//go:build amd64 || arm64 || 386 || ppc64le

package sigma

import "unsafe"

// word32At returns the four bytes of s at i as a little-endian word (what
// load32 returns) without a bounds check: one load on these architectures
// (little-endian, unaligned loads allowed). The caller guarantees
// 0 <= i && i+4 <= len(s): the stride matcher's probe loops check it
// once per probe.
func word32At(s string, i int) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i)) // #nosec G103 -- callers check 0 <= i, i+4 <= len(s)
}
