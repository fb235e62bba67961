package query

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mamori/mamori/internal/store"
)

// sizedRef is a block of a given size, for the hand-out order.
type sizedRef struct {
	store.BlockRef
	rows, id int
}

func (r sizedRef) Rows() int { return r.rows }

func TestLargestFirst(t *testing.T) {
	var refs []store.BlockRef
	for i, n := range []int{5, 9, 1, 9, 7, 0, 5} {
		refs = append(refs, sizedRef{rows: n, id: i})
	}
	if got := largestFirst(refs, 1); &got[0] != &refs[0] {
		t.Error("one worker: the order should be kept as is")
	}
	got := largestFirst(refs, 2)
	var ids []int
	for _, r := range got {
		ids = append(ids, r.(sizedRef).id)
	}
	if want := []int{1, 3, 4, 0, 6, 2, 5}; !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v (rows descending, ties in the given order)", ids, want)
	}
	if refs[0].(sizedRef).id != 0 {
		t.Error("refs was reordered in place")
	}
}

// TestTopSumsLargeTables runs topSums on tables large enough to be read
// on goroutines of their own (eachTable) and checks it against merging.
func TestTopSumsLargeTables(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 6 {
		nt := 2 + round%3
		k := []int{1, 10, 50}[round%3]
		tables := make([]*ipTable, nt)
		merged := map[uint32]int64{}
		distinct := 20000 + r.IntN(20000)
		for i := range tables {
			tables[i] = &ipTable{}
			for range 60000 {
				x := int(float64(distinct) * r.Float64() * r.Float64() * r.Float64())
				a := uint32(x) * 2654435761
				tables[i].add(a, 1)
				merged[a]++
			}
			if tables[i].len() < minParallelTable {
				t.Fatalf("table of %d addresses: the test needs %d", tables[i].len(), minParallelTable)
			}
		}
		if !checkTopSums(t, round, tables, merged, k) {
			t.Fatalf("round %d: gave up", round)
		}
	}
}

// TestAppendTextsHalves checks that writing a table's texts in two
// halves gives the bytes of writing them in one pass.
func TestAppendTextsHalves(t *testing.T) {
	for _, n := range []int{0, 10, 3 * minParallelTable} {
		tb := &ipTable{}
		r := rand.New(rand.NewPCG(uint64(n), 9))
		tb.add(0, 2)
		for range n {
			tb.add(r.Uint32(), 1)
		}
		tb.add(12345, 1<<33) // a count beyond the slot's 32 bits
		want := tb.appendTexts([]byte("x"), false)
		got := tb.appendTexts([]byte("x"), true)
		if string(got) != string(want) {
			t.Fatalf("%d addresses: the halves differ from one pass", n)
		}
	}
}
