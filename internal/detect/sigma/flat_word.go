//go:build amd64 || arm64 || 386 || ppc64le

package sigma

import "unsafe"

// unalignedWords says wordAt is one load (no bounds check).
const unalignedWords = true

// wordAt returns the eight bytes of s at i as a little-endian word (what
// load64 returns) without a bounds check: one load on these architectures
// (little-endian, unaligned loads allowed). The caller guarantees
// 0 <= i && i+8 <= len(s); the flattener's hot loops check that once per
// compare or scan round.
func wordAt(s string, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i)) // #nosec G103 -- callers check 0 <= i, i+8 <= len(s)
}
