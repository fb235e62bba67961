package store

import (
	"context"
	"encoding/binary"
	"os"
	"runtime"
	"sort"
	"testing"
	"time"
)

// TestRowLoadColumnsReport measures the thread CPU of row-wise loads of
// each column alone (the middle row) over the blocks a token filter
// keeps (same variables as TestRowLoadCost). Opt-in: a measuring tool.
func TestRowLoadColumnsReport(t *testing.T) {
	refs, done := needleRefs(t, "time row-wise loads by column")
	defer done()
	took := map[string]time.Duration{}
	all := map[string]bool{}
	for _, r := range refs {
		if pr, ok := r.(*partRef); ok {
			for _, name := range pr.p.blockColumns(pr.bm()) {
				all[name] = true
			}
		}
	}
	if c := os.Getenv("MAMORI_ROW_COL"); c != "" {
		all = map[string]bool{c: true}
	}
	for range 5 {
		for name := range all {
			start := threadCPU()
			for _, r := range refs {
				if pr, ok := r.(*partRef); ok {
					if _, err := pr.LoadRows([]string{name}, []int{r.Rows() / 2}); err != nil {
						t.Fatal(err)
					}
				}
			}
			took[name] += threadCPU() - start
		}
	}
	names := make([]string, 0, len(took))
	var total time.Duration
	for n, d := range took {
		names = append(names, n)
		total += d
	}
	sort.Slice(names, func(i, j int) bool { return took[names[i]] > took[names[j]] })
	for _, n := range names {
		t.Logf("%-26s %8v a pass (%4.1f%%)", n, took[n]/5, 100*float64(took[n])/float64(total))
	}
	t.Logf("total %v a pass over %d blocks", total/5, len(refs))
}

// TestVarsGroupsReport re-frames the skeleton variables of the blocks a
// token filter keeps at MAMORI_VARS_GROUP bytes a group (default 16 KiB)
// and at frameBytes, at the better level, and reports the sizes (what a
// smaller group would cost) and the thread CPU of decoding one group's
// two frames (what a row load decodes). Opt-in: a measuring tool.
func TestVarsGroupsReport(t *testing.T) {
	size := atoiOr(os.Getenv("MAMORI_VARS_GROUP"), 16<<10)
	refs, done := needleRefs(t, "measure vars groups")
	defer done()
	var sizes [2]int
	var took [2]time.Duration
	var rows int64
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		bm := pr.bm()
		rows += int64(bm.rows)
		for _, c := range bm.cols {
			ch, err := pr.p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			_, vars, ok := groupedHeadOf(ch)
			if !ok || len(vars) < 2 || vars[1] != codecFramed {
				continue
			}
			_, body, err := chunkBodyTo(vars, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range []int{frameBytes, size} {
				out, ok := appendFramed(nil, kindSkeleton, []byte(body), levelBetter, g)
				if !ok {
					t.Fatalf("group %d: not framed", g)
				}
				sizes[i] += len(out)
				var ft frameTable
				n, k := binary.Uvarint(out[2:])
				if err := ft.parse(out[2+k:], n); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, n+frameSlack)
				groups := len(ft.ends) / 2
				start := threadCPU()
				for j := range 20 {
					gi := j * groups / 20
					if err := ft.decodeInto(gi, buf); err != nil {
						t.Fatal(err)
					}
					if err := ft.decodeInto(groups+gi, buf); err != nil {
						t.Fatal(err)
					}
				}
				took[i] += threadCPU() - start
			}
		}
	}
	t.Logf("%d rows: vars framed at %d: %d bytes, one group %v; at %d: %d bytes (%+.3f bytes a row), one group %v",
		rows, frameBytes, sizes[0], took[0]/20, size, sizes[1], float64(sizes[1]-sizes[0])/float64(rows), took[1]/20)
}

// needleRefs returns the blocks the filter of MAMORI_NEEDLE_TOKENS keeps
// in the store MAMORI_NEEDLE_STORE (skipping the test, which would
// what, without it), with the goroutine locked to its thread (for
// threadCPU) until done is called.
func needleRefs(t *testing.T, what string) (refs []BlockRef, done func()) {
	t.Helper()
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory to " + what)
	}
	s, snap, f := needleStore(t, dir)
	refs, _, err := snap.Blocks(context.Background(), Query{Filter: f})
	if err != nil {
		snap.Release()
		s.Close()
		t.Fatal(err)
	}
	runtime.LockOSThread()
	return refs, func() {
		runtime.UnlockOSThread()
		snap.Release()
		s.Close()
	}
}
