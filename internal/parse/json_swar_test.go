package parse

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

func TestStrSpecial(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			w := uint64(0)
			for i := 7; i >= 0; i-- {
				w = w<<8 | uint64(b[i])
			}
			want := c == '"' || c == '\\' || c < 0x20 || c >= 0x80
			if got := strSpecial(w); got != want {
				t.Fatalf("strSpecial(byte %#x at %d) = %v, want %v", c, pos, got, want)
			}
		}
	}
}

// TestStrSpecialMaskFirst checks that the lowest bit of the mask marks the
// first special byte, whatever follows it.
func TestStrSpecialMaskFirst(t *testing.T) {
	specials := []byte{'"', '\\', 0, 0x1f, 0x80, 0xff}
	for _, c := range specials {
		for pos := 0; pos < 8; pos++ {
			for _, after := range append([]byte{'a'}, specials...) {
				b := []byte("abcdefgh")
				b[pos] = c
				for i := pos + 1; i < 8; i++ {
					b[i] = after
				}
				w := binary.LittleEndian.Uint64(b)
				if got := bits.TrailingZeros64(strSpecialMask(w)) >> 3; got != pos {
					t.Fatalf("first special in %q at %d, want %d", b, got, pos)
				}
			}
		}
	}
}

// TestStrSpecialMaskRandom checks strSpecialMask on random words made of
// special and plain bytes: it is zero exactly when no byte is special,
// and its lowest bit marks the first special byte (plainEnd relies on it).
func TestStrSpecialMaskRandom(t *testing.T) {
	alphabet := []byte{'a', 'Z', ' ', '!', '#', '[', ']', '~', 0x7f, 0x20, 0x21, 0x5b, 0x5d, 0x23, 0x01, '"', '\\', 0, 0x1f, 0x80, 0x81, 0xa0, 0xc3, 0xff}
	rng := rand.New(rand.NewPCG(1, 2))
	var b [8]byte
	for n := 0; n < 200000; n++ {
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		first := 8
		for i, c := range b {
			if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				first = i
				break
			}
		}
		m := strSpecialMask(binary.LittleEndian.Uint64(b[:]))
		if got := bits.TrailingZeros64(m) >> 3; got != first {
			t.Fatalf("%q: first special at %d, want %d", b, got, first)
		}
		if got := plainEnd(b[:], 0); got != first {
			t.Fatalf("plainEnd(%q) = %d, want %d", b, got, first)
		}
	}
}
