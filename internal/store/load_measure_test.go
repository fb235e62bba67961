package store

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestNeedleBlocksReport lists, for the blocks an existing store keeps
// for a token filter (MAMORI_NEEDLE_STORE, a store directory opened
// read-only is not possible: use a copy; MAMORI_NEEDLE_TOKENS,
// comma-separated tokens or field=value pairs ANDed), the bytes and decompression time of each
// column, summed by column name. Opt-in: a measuring tool, not a check.
func TestNeedleBlocksReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory to measure needle blocks")
	}
	s, snap, f := needleStore(t, dir)
	defer s.Close()
	defer snap.Release()
	var bloomBytes, allRows int64
	for _, p := range snap.(*snapshot).parts {
		for _, bm := range p.blocks {
			bloomBytes += int64(bm.bloomLen)
			allRows += int64(bm.rows)
		}
	}
	if allRows > 0 {
		t.Logf("blooms: %d bytes for %d rows in parts (%.2f bytes/row)", bloomBytes, allRows, float64(bloomBytes)/float64(allRows))
	}
	refs, st, err := snap.Blocks(context.Background(), Query{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	type stat struct {
		chunks, packed, body int
		took                 time.Duration
		kinds                map[byte]int
	}
	stats := map[string]*stat{}
	rows := 0
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		bm := pr.bm()
		rows += int(bm.rows)
		for _, c := range append([]colMeta{bm.timeCol}, bm.cols...) {
			name := pr.p.names[c.name]
			s := stats[name]
			if s == nil {
				s = &stat{kinds: map[byte]int{}}
				stats[name] = s
			}
			ch, err := pr.p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			kind, body, err := chunkBody(ch)
			if err != nil {
				continue
			}
			s.took += time.Since(start)
			s.chunks++
			s.packed += len(ch)
			s.body += len(body)
			s.kinds[kind]++
		}
	}
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return stats[names[i]].took > stats[names[j]].took })
	var total time.Duration
	var packed, body int
	for _, n := range names {
		s := stats[n]
		total += s.took
		packed += s.packed
		body += s.body
		t.Logf("%-22s chunks %4d packed %9d body %10d took %8v kinds %v", n, s.chunks, s.packed, s.body, s.took, fmt.Sprint(s.kinds))
	}
	t.Logf("blocks %d (of %d), rows %d, %d bytes packed, %d bytes of bodies, decompression %v", len(refs), st.BlocksTotal, rows, packed, body, total)
}

// needleStore opens the store in dir and returns a snapshot and the filter
// of MAMORI_NEEDLE_TOKENS (comma-separated tokens or field=value pairs,
// ANDed).
func needleStore(t *testing.T, dir string) (*Store, Snapshot, *Filter) {
	t.Helper()
	s, err := Open(Options{Dir: dir, MaintainInterval: -1, Sync: SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	var kids []*Filter
	for _, tok := range strings.Split(os.Getenv("MAMORI_NEEDLE_TOKENS"), ",") {
		if f, v, ok := strings.Cut(tok, "="); ok {
			kids = append(kids, &Filter{Op: FilterEqual, Field: f, Value: v})
			continue
		}
		kids = append(kids, &Filter{Op: FilterToken, Token: tok})
	}
	return s, s.Snapshot(), &Filter{Op: FilterAnd, Kids: kids}
}

// TestNeedleFramesReport measures what sub-block frames would cost and
// save on the blocks a token filter keeps (same variables as
// TestNeedleBlocksReport, plus MAMORI_NEEDLE_FRAME rows per frame,
// default 1024, and MAMORI_NEEDLE_BLOCKS, the blocks to look at, default
// all): the _raw bodies compressed whole and in frames (same
// level), one frame's and the whole body's decompression time, and the
// distinct tokens of a block against the sum over its frames (what
// per-frame blooms would hold). Opt-in: a measuring tool, not a check.
func TestNeedleFramesReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory to measure sub-block frames")
	}
	frame := atoiOr(os.Getenv("MAMORI_NEEDLE_FRAME"), 1024)
	if frame <= 0 {
		frame = 1024 // atoiOr gives 0 for ""
	}
	s, snap, f := needleStore(t, dir)
	defer s.Close()
	defer snap.Release()
	refs, _, err := snap.Blocks(context.Background(), Query{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	var whole, framed, blockToks, frameToks int
	var wholeTook, frameTook time.Duration
	if n := atoiOr(os.Getenv("MAMORI_NEEDLE_BLOCKS"), 0); n > 0 && n < len(refs) {
		refs = refs[:n]
	}
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		bm := pr.bm()
		rows := int(bm.rows)
		k := slices.IndexFunc(bm.cols, func(c colMeta) bool { return pr.p.names[c.name] == "_raw" })
		if k < 0 {
			continue
		}
		ch, err := pr.p.chunk(bm.cols[k])
		if err != nil {
			t.Fatal(err)
		}
		kind, body, err := chunkBody(ch)
		if err != nil || kind != kindTemplate {
			continue
		}
		vals, absent, err := decodeBody(kind, body, rows, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		w := encodeChunk(nil, kind, []byte(body), levelBetter)
		whole += len(w)
		start := time.Now()
		if _, _, err := chunkBody(w); err != nil {
			t.Fatal(err)
		}
		wholeTook += time.Since(start)
		for lo := 0; lo < rows; lo += frame {
			hi := min(lo+frame, rows)
			var ab []bool
			if absent != nil {
				ab = absent[lo:hi]
			}
			f := encodeColumn(nil, vals[lo:hi], ab, levelBetter)
			framed += len(f)
			if lo == 0 {
				start := time.Now()
				if _, _, err := chunkBody(f); err != nil {
					t.Fatal(err)
				}
				frameTook += time.Since(start)
			}
		}
		b, err := pr.p.loadBlock(pr.i, nil)
		if err != nil {
			t.Fatal(err)
		}
		all := map[uint64]bool{}
		var buf []byte
		for lo := 0; lo < rows; lo += frame {
			hi := min(lo+frame, rows)
			fr := map[uint64]bool{}
			for _, c := range b.Cols {
				if c.Name == "_time" || c.Name == "_received" {
					continue
				}
				for i := lo; i < hi; i++ {
					if c.Has(i) {
						buf = tokenHashes(c.Values[i], buf, func(h uint64) { fr[h] = true; all[h] = true })
					}
				}
			}
			frameToks += len(fr)
		}
		blockToks += len(all)
	}
	t.Logf("%d blocks, frames of %d rows: _raw %d bytes whole, %d in frames (%+.1f%%); decompressing a whole body %v, a first frame %v (sums)",
		len(refs), frame, whole, framed, 100*float64(framed-whole)/float64(max(whole, 1)), wholeTook, frameTook)
	t.Logf("distinct tokens: %d by block, %d summed over frames (x%.2f)", blockToks, frameToks, float64(frameToks)/float64(max(blockToks, 1)))
}
