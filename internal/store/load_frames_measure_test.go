package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"
)

// TestFramedBlocksReport lists, over the blocks a token filter keeps
// (MAMORI_NEEDLE_STORE, MAMORI_NEEDLE_TOKENS as TestNeedleFramesReport),
// the column chunks by kind and codec: how many, their stored and
// uncompressed bytes. It shows what a row-wise load of such a block must
// decompress whole (unframed bodies) and what it reads by frames.
// Opt-in: a measuring tool, not a check.
func TestFramedBlocksReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory to list its chunks by codec")
	}
	s, snap, f := needleStore(t, dir)
	defer s.Close()
	defer snap.Release()
	refs, _, err := snap.Blocks(context.Background(), Query{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	type stat struct{ n, stored, body int }
	stats := map[string]*stat{}
	add := func(key string, ch []byte) {
		if len(ch) < 3 {
			return
		}
		n, _ := binary.Uvarint(ch[2:])
		st := stats[key]
		if st == nil {
			st = &stat{}
			stats[key] = st
		}
		st.n++
		st.stored += len(ch)
		st.body += int(n)
	}
	blocks := 0
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		blocks++
		bm := pr.bm()
		for _, c := range bm.cols {
			ch, err := pr.p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			name := pr.p.names[c.name]
			if ch[0] == kindSkeleton && ch[1] == codecNone {
				_, k := binary.Uvarint(ch[2:])
				body := ch[2+k:]
				hl, k := binary.Uvarint(body)
				add(fmt.Sprintf("skel head codec %d", body[k+1]), body[k:k+int(hl)])
				vars := body[k+int(hl):]
				add(fmt.Sprintf("skel vars codec %d", vars[1]), vars)
				continue
			}
			key := fmt.Sprintf("kind %d codec %d", ch[0], ch[1])
			if ch[1] != codecNone && (ch[0] == kindPlain || ch[0] == kindDict) {
				key += " " + name
			}
			add(key, ch)
		}
	}
	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	t.Logf("%d blocks", blocks)
	for _, k := range keys {
		st := stats[k]
		t.Logf("%-40s %6d chunks %10d stored %11d body (%.1f KB a chunk)", k, st.n, st.stored, st.body, float64(st.body)/float64(st.n)/1024)
	}
}

// TestRowLoadCost measures the thread CPU of row-wise loads (every
// column of one row: the middle one, or MAMORI_ROW_AT per mille of the
// block) over the blocks a token filter keeps, the best of five passes
// (same variables as TestFramedBlocksReport). Opt-in.
func TestRowLoadCost(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory to time row-wise loads")
	}
	at := 500
	if v := os.Getenv("MAMORI_ROW_AT"); v != "" {
		at = atoiOr(v, 500)
	}
	s, snap, f := needleStore(t, dir)
	defer s.Close()
	defer snap.Release()
	refs, _, err := snap.Blocks(context.Background(), Query{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread() // threadCPU
	defer runtime.UnlockOSThread()
	best := time.Duration(1 << 62)
	passes := 5 // atoiOr gives 0 for an unset variable
	if v := os.Getenv("MAMORI_ROW_PASSES"); v != "" {
		passes = atoiOr(v, 5)
	}
	for range passes {
		start := threadCPU()
		for _, r := range refs {
			rl, ok := r.(RowLoader)
			if !ok {
				continue
			}
			if _, err := rl.LoadRows(nil, []int{r.Rows() * at / 1000}); err != nil {
				t.Fatal(err)
			}
		}
		best = min(best, threadCPU()-start)
	}
	t.Logf("%d blocks: row-wise loads of one row %v CPU (%v a block)", len(refs), best, best/time.Duration(max(len(refs), 1)))
}
