package parse

import "testing"

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
