//go:build !(amd64 || arm64 || 386 || ppc64le)

package sigma

// unalignedWords says wordAt is one load (no bounds check).
const unalignedWords = false

// wordAt returns the eight bytes of s at i as a little-endian word (see
// flat_word.go); here, load64 with its bounds check.
func wordAt(s string, i int) uint64 {
	return load64(s, i)
}
