package store

import (
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestVarsFilterReport counts, over every skeleton block of a store
// (MAMORI_NEEDLE_STORE; MAMORI_NEEDLE_TOKENS narrows the blocks as
// TestNeedleBlocksReport), the distinct variables per group of framed
// vars bodies by minimum length: what per-group filters of the long
// variables would hold. Opt-in: a measuring tool, not a check.
func TestVarsFilterReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory to count its long variables")
	}
	s, snap, f := needleStore(t, dir)
	defer s.Close()
	defer snap.Release()
	q := Query{}
	if os.Getenv("MAMORI_NEEDLE_TOKENS") != "" {
		q.Filter = f
	}
	refs, _, err := snap.Blocks(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	mins := []int{8, 12, 16, 20, 24, 32, 48, 64}
	samples := map[int]int{}
	distinct := make([]int, len(mins))
	all := make([]int, len(mins))
	filters, filterBytes, minLens := 0, 0, map[int]int{}
	blocks, framed, groups, rows, nvars, varBytes := 0, 0, 0, 0, 0, 0
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		bm := pr.bm()
		rows += int(bm.rows)
		for _, c := range bm.cols {
			if pr.p.names[c.name] != event.FieldRaw {
				continue
			}
			ch, err := pr.p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if ch[0] != kindSkeleton {
				continue
			}
			if err := checkVarsFilter(ch, int(bm.rows), pr.p.pool); err != nil {
				t.Errorf("part %s block %d: %v", pr.p.path, pr.i, err)
			}
			sb, err := decodeSkeletonHead(ch, int(bm.rows), pr.p.pool)
			if err != nil {
				t.Fatal(err)
			}
			if err := sb.loadVars(); err != nil {
				t.Fatal(err)
			}
			blocks++
			nv := len(sb.voff) - 1
			nvars += nv
			varBytes += len(sb.vb)
			ends := []int{nv}
			if vg, err := openVarGroups(sb); err == nil && vg != nil {
				if vg.filter {
					filters++
					minLens[vg.f.minLen]++
					filterBytes += len(vg.f.words)
				}
				vg.release()
				sb.loaded = false
				if err := sb.loadVars(); err != nil {
					t.Fatal(err)
				}
			}
			if sb.vars[1] == codecFramed {
				framed++
				n, k := binary.Uvarint(sb.vars[2:])
				var ft frameTable
				if err := ft.parse(sb.vars[2+k:], n); err != nil {
					t.Fatal(err)
				}
				ends = ft.itemEnds
				if ends[len(ends)-1] > nv {
					ends = ends[:len(ends)-1] // the filter's group
				}
			}
			start := 0
			for _, e := range ends {
				groups++
				for m, min := range mins {
					seen := map[string]bool{}
					for j := start; j < e; j++ {
						v := sb.vb[sb.voff[j]:sb.voff[j+1]]
						if len(v) >= min {
							if m == 0 && samples[len(v)] < 3 && blocks%50 == 1 {
								samples[len(v)]++
								t.Logf("sample of %d bytes: %q", len(v), v)
							}
							all[m]++
							seen[v] = true
						}
					}
					distinct[m] += len(seen)
				}
				start = e
			}
			sb.release()
		}
	}
	t.Logf("%d blocks (%d framed vars), %d groups, %d rows, %d variables, %d bytes", blocks, framed, groups, rows, nvars, varBytes)
	t.Logf("%d filters, %d bytes of words, minimum lengths %v", filters, filterBytes, minLens)
	for m, min := range mins {
		t.Logf("len >= %2d: %9d variables, %9d distinct per group (%.3f per row; at 8 bits each %.3f bytes/row)",
			min, all[m], distinct[m], float64(distinct[m])/float64(rows), float64(distinct[m])/float64(rows))
	}
}
