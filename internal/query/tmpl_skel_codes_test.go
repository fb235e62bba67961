package query

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestCodesAnswer checks codesAnswer (skelValues on a dictionary
// column's codes, read on row by row up to the first row that answers)
// against asking every row: on codes kept as stored (state 2) and
// decoded (state 1), with zeros, codes past the dictionary (no answer:
// the caller asks Value) and rows that do not ascend; and that the
// stored codes read on from where it stopped give every later row's code
// (colValue asks the skeleton's rows next).
func TestCodesAnswer(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 17))
	var tv tmplView
	for round := range 4000 {
		nd := 1 + rng.IntN(300)
		if round%5 == 0 {
			nd = 1 + rng.IntN(20000)
		}
		dict := make([]string, nd)
		for i := range dict {
			dict[i] = fmt.Sprint("v", i)
		}
		n := 1 + rng.IntN(400)
		codes := make([]uint64, n)
		var b []byte
		for r := range codes {
			c := uint64(rng.IntN(nd + 1))
			switch rng.IntN(40) {
			case 0:
				c = 0
			case 1:
				if round%3 == 0 {
					c = uint64(nd + 1 + rng.IntN(3)) // past the dictionary
				}
			}
			codes[r] = c
			b = binary.AppendUvarint(b, c)
		}
		var rows []int32
		for r := range n {
			if rng.IntN(1+round%7) == 0 {
				rows = append(rows, int32(r))
			}
		}
		if round%11 == 0 && len(rows) > 1 {
			rows[0], rows[1] = rows[1], rows[0] // not ascending
		}
		// f holds for a few of the values, or none.
		yes := map[string]bool{}
		for range rng.IntN(4) {
			yes[dict[rng.IntN(nd)]] = true
		}
		f := func(v string) bool { return yes[v] }
		want, wantOK, ascending := false, true, true
		for j, r := range rows {
			if j > 0 && r < rows[j-1] {
				ascending = false
			}
			c := codes[r]
			if c > uint64(nd) {
				wantOK = false
				break
			}
			if c == 0 || f(dict[c-1]) {
				want = true
				break
			}
		}
		for _, stored := range []bool{true, false} {
			var sc sparseCol
			sc.dict = dict
			if stored {
				if !sc.check(string(b), n) {
					t.Fatalf("round %d: check refuses the codes", round)
				}
				sc.state, sc.raw = 2, string(b)
			} else {
				if !sc.decode(string(b), n) {
					continue // codes past the dictionary: never state 1
				}
				sc.state = 1
			}
			got, ok := tv.codesAnswer(&sc, rows, f)
			if stored && !ascending && ok && !got {
				// Rows out of order give no answer unless one before
				// them answered yes.
				t.Fatalf("round %d: rows out of order answered %v", round, got)
			}
			if ok && (!wantOK || got != want) || !ok && wantOK && ascending {
				t.Fatalf("round %d stored %v: %v, %v; want %v, %v", round, stored, got, ok, want, wantOK)
			}
			if !stored || !ok || !ascending {
				continue
			}
			// Read on from where it stopped, as colValue does.
			from := sc.ended
			for r := from; r < n; r += 1 + rng.IntN(5) {
				c, ok := sc.seek(r)
				if ok != (codes[r] <= uint64(nd)) || ok && uint64(c) != codes[r] {
					t.Fatalf("round %d: seek(%d) after the answer = %d, %v; want %d", round, r, c, ok, codes[r])
				}
				if !ok {
					break
				}
			}
		}
	}
}
