package store

import (
	"math/rand/v2"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestRowVar reads the variables of random rows of fresh blocks with
// RowVar, against Var on a block whose variables are all decoded: the
// same values and errors; on framed variables (with and without filters)
// a few rows decode only some of the groups, and reads after them (Var,
// AppendRaw, RowVars of other rows) stay right. Out-of-range variables
// are refused as Var refuses them.
func TestRowVar(t *testing.T) {
	for _, off := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(5, 6))
		rows := filterRows(20000, rng, false)
		varsFilterOff = off
		p := loadTestPart(t, rows, 8192)
		varsFilterOff = false
		partial := 0
		for bi := range p.blocks {
			base, n := bi*8192, int(p.blocks[bi].rows)
			whole, err := p.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
			if err != nil {
				t.Fatal(err)
			}
			wt := whole.Raw
			for round := range 6 {
				b, err := p.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
				if err != nil {
					t.Fatal(err)
				}
				tm := b.Raw
				for k := range 1 + round*3 {
					r := rng.IntN(n)
					if tm.SkeletonOf(r) < 0 {
						continue
					}
					_, offs, err := wt.RowVars(r)
					if err != nil {
						t.Fatal(err)
					}
					nv := len(offs) - 1
					for j := -1; j <= nv; j++ {
						got, gerr := tm.RowVar(r, j)
						want, werr := wt.Var(r, j)
						if got != want || (gerr == nil) != (werr == nil) {
							t.Fatalf("off %v block %d row %d var %d of %d: RowVar %q, %v; Var %q, %v", off, bi, r, j, nv, got, gerr, want, werr)
						}
					}
					if k == 0 && round == 0 && tm.vg != nil && tm.vg.loaded < tm.vg.groups {
						partial++
					}
					if rng.IntN(3) == 0 {
						checkRowByGroups(t, tm, rows[base+r], r)
					}
					if o := rng.IntN(n); rng.IntN(3) == 0 {
						checkRowByGroups(t, tm, rows[base+o], o)
					}
				}
				tm.Release()
			}
			wt.Release()
		}
		if partial == 0 {
			t.Errorf("off %v: no block read one row's variables by groups", off)
		}
	}
}
