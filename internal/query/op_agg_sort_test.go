package query

import (
	"math/rand/v2"
	"testing"
)

// TestSortGroups checks the precomputed ordering against lessKeys on
// mixed keys: numbers, text, IPs, times and nulls.
func TestSortGroups(t *testing.T) {
	pool := []val{strVal("10"), strVal("9"), strVal("-1.5"), strVal("abc"), strVal("10.0.0.2"), strVal("10.0.0.10"),
		strVal(""), nullVal, numVal(3), timeVal(5), timeVal(2), strVal("B"), strVal("a")}
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 200; round++ {
		var gs []*group
		for i := 0; i < 30; i++ {
			gs = append(gs, &group{keys: []val{pool[r.IntN(len(pool))], pool[r.IntN(len(pool))]}})
		}
		sortGroups(gs, 2)
		for i := 1; i < len(gs); i++ {
			if lessKeys(gs[i].keys, gs[i-1].keys) {
				t.Fatalf("round %d: %v sorted after %v", round, gs[i-1].keys, gs[i].keys)
			}
		}
	}
}
