package parse

import (
	"encoding/binary"
	"math/bits"
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
