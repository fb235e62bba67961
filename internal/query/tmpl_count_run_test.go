package query

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestVerdictRun checks selectBySkeletons's branch-free row loop
// (verdictRun, resumed after each undecided row) against selecting row by
// row: verdict 1 selects, 2 rejects, 0 stops at the row, which the
// caller keeps or not (here: every third).
func TestVerdictRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 4))
	for round := range 600 {
		ns := 1 + rng.IntN(40)
		if round%3 == 2 {
			ns = 1 + rng.IntN(1<<16-1) // ids up to the table's end
		}
		verdict := make([]uint8, ns+1)
		for x := range verdict {
			verdict[x] = uint8(rng.IntN(3))
			if round%5 == 1 {
				verdict[x] = uint8(1 + rng.IntN(2)) // runs of decided rows only
			}
		}
		if round%4 == 0 {
			verdict[rng.IntN(ns+1)] = 0
		}
		n := rng.IntN(200)
		if round%7 == 3 {
			n = rng.IntN(3000)
		}
		ids := make([]uint32, n)
		for i := range ids {
			ids[i] = uint32(rng.IntN(ns + 1))
		}
		lo := 0
		if n > 0 {
			lo = rng.IntN(n)
		}
		keepUndecided := func(i int) bool { return i%3 == 0 }
		var want []int
		for i := lo; i < n; i++ {
			switch verdict[ids[i]] {
			case 1:
				want = append(want, i)
			case 0:
				if keepUndecided(i) {
					want = append(want, i)
				}
			}
		}
		sel := make([]int, n-lo)
		k := 0
		for i := lo; i < n; i++ {
			if i, k = verdictRun(ids, verdict, sel, i, k); i == n {
				break
			}
			if sel[k] != i {
				t.Fatalf("round %d: sel[%d] = %d at undecided row %d", round, k, sel[k], i)
			}
			if keepUndecided(i) {
				k++
			}
		}
		if got := sel[:k]; !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Fatalf("round %d: selected %v, want %v", round, got, want)
		}
	}
}
