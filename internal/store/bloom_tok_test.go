package store

import (
	"math/rand/v2"
	"testing"
)

// TestTokenHashRandom compares appendTokenHashes with token.Each on
// random texts over an alphabet that makes dotted digit chains, long
// tokens, upper case and bytes over 0x7f common.
func TestTokenHashRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 34))
	const alpha = "0123456789..........aZ_ -:=\\/\x80\xc3\xa4"
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.IntN(200))
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
			if r.IntN(50) == 0 { // a long run of word bytes
				for k := 0; k < 140 && i < len(b); k++ {
					b[i] = 'x'
					i++
				}
				i--
			}
		}
		checkTokenHash(t, string(b))
	}
}
