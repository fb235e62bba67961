//go:build !(amd64 || arm64 || 386 || ppc64le)

package sigma

// word32At returns the four bytes of s at i as a little-endian word (see
// stride_word.go); here, load32 with its bounds check.
func word32At(s string, i int) uint32 {
	return load32(s, i)
}
