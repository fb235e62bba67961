package query

import (
	"math/rand/v2"
	"testing"

	"github.com/mamori/mamori/internal/token"
)

// plainEndSplits and plainStartSplits are endSplits and startSplits by
// their definitions, without tables or fast paths.
func plainEndSplits(term, p string, openL bool) uint64 {
	var ks uint64
	for k := 1; k < len(term); k++ {
		l := min(len(p), k)
		if l < k && !openL {
			continue
		}
		if token.EqualFold(p[len(p)-l:], term[k-l:k]) {
			ks |= 1 << min(k, 63)
		}
	}
	return ks
}

func plainStartSplits(term, p string, openR bool) uint64 {
	var ks uint64
	m := len(term)
	for k := 1; k < m; k++ {
		l := min(len(p), m-k)
		if l < m-k && !openR {
			continue
		}
		if token.EqualFold(p[:l], term[k:k+l]) {
			ks |= 1 << min(k, 63)
		}
	}
	return ks
}

// checkSplits compares the finder's splits of piece p with the plain
// ones, for both boundary kinds and open sides.
func checkSplits(t *testing.T, term, p string) {
	t.Helper()
	if p == "" {
		return
	}
	for _, bounds := range []bool{true, false} {
		tf := newTmplFinder(term, bounds)
		for _, open := range []bool{true, false} {
			if got, want := tf.endSplits(p, open), plainEndSplits(term, p, open); got != want {
				t.Fatalf("endSplits(%q, %q, open %v) = %b, want %b", term, p, open, got, want)
			}
			if got, want := tf.startSplits(p, open), plainStartSplits(term, p, open); got != want {
				t.Fatalf("startSplits(%q, %q, open %v) = %b, want %b", term, p, open, got, want)
			}
		}
	}
}

// TestSplitsShortPieces checks the tables for pieces of one and two
// bytes (and longer ones, through the fast paths) against the
// definitions, on random terms over a small alphabet with case and
// long terms (bit 63 shared).
func TestSplitsShortPieces(t *testing.T) {
	const alpha = "aAbB :.-x1"
	rng := rand.New(rand.NewPCG(7, 8))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	terms := []string{"Failed password for invalid user ", "invalid user", "a", "ab", " :", "x1 x1"}
	for range 300 {
		terms = append(terms, word(1+rng.IntN(8)))
	}
	terms = append(terms, word(70), word(64))
	for _, term := range terms {
		for a := range len(alpha) {
			checkSplits(t, term, alpha[a:a+1])
			for b := range len(alpha) {
				checkSplits(t, term, alpha[a:a+1]+alpha[b:b+1])
			}
		}
		for range 20 {
			checkSplits(t, term, word(1+rng.IntN(6)))
		}
	}
}

func FuzzSplits(f *testing.F) {
	f.Add("Failed password for invalid user ", " ")
	f.Add("invalid user", "r ")
	f.Add("ab", "b")
	f.Fuzz(func(t *testing.T, term, p string) {
		if term == "" || len(term) > 200 {
			return
		}
		checkSplits(t, term, p)
	})
}
