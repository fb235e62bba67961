package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"
)

// TestGroupedHeadReport compares, over the blocks a token filter keeps
// (MAMORI_NEEDLE_STORE, MAMORI_NEEDLE_TOKENS as TestFramedBlocksReport;
// a filter of one common token measures a store's every block), the
// skeleton heads' stored bytes as one zstd frame and grouped
// (codecGrouped), at the better level. Opt-in: a measuring tool.
func TestGroupedHeadReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory to compare grouped heads")
	}
	s, snap, f := needleStore(t, dir)
	defer s.Close()
	defer snap.Release()
	if os.Getenv("MAMORI_NEEDLE_TOKENS") == "*" {
		f = nil
	}
	refs, _, err := snap.Blocks(context.Background(), Query{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	var rows, whole, grouped, heads, kept int
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		bm := pr.bm()
		for _, c := range bm.cols {
			ch, err := pr.p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if ch[0] != kindSkeleton || ch[1] != codecNone {
				continue
			}
			_, k := binary.Uvarint(ch[2:])
			body := ch[2+k:]
			hl, k := binary.Uvarint(body)
			_, head, err := chunkBody(body[k : k+int(hl)])
			if err != nil {
				t.Fatal(err)
			}
			heads++
			rows += int(bm.rows)
			one := encodeChunk(nil, kindSkeleton, []byte(head), levelBetter)
			whole += len(one)
			if g, ok := groupedHead(nil, []byte(head), levelBetter); ok {
				grouped += len(g)
				kept++
			} else {
				grouped += len(one)
			}
		}
	}
	t.Logf("%d heads (%d grouped), %d rows: one frame %d bytes, grouped %d (%+.3f bytes a row)",
		heads, kept, rows, whole, grouped, float64(grouped-whole)/float64(max(rows, 1)))
}

// TestStoredChunksReport lists, over every block of a store
// (MAMORI_NEEDLE_STORE), the zstd chunks that compress their body by
// less than 1/MAMORI_STORE_SHARE (default 8), by kind: what storing them
// uncompressed would cost, and their bodies (what loads would no longer
// decompress). Opt-in: a measuring tool.
func TestStoredChunksReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory")
	}
	share := 8
	if v := os.Getenv("MAMORI_STORE_SHARE"); v != "" {
		share = atoiOr(v, 8)
	}
	s, err := Open(Options{Dir: dir, MaintainInterval: -1, Sync: SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap := s.Snapshot()
	defer snap.Release()
	refs, _, err := snap.Blocks(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	type stat struct{ n, stored, body int }
	stats := map[byte]*stat{}
	rows := 0
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		bm := pr.bm()
		rows += int(bm.rows)
		for _, c := range bm.cols {
			ch, err := pr.p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch) < 3 || ch[1] != codecZstd {
				continue
			}
			n, k := binary.Uvarint(ch[2:])
			z := len(ch) - 2 - k
			if uint64(z)*uint64(share) <= n*uint64(share-1) {
				continue
			}
			st := stats[ch[0]]
			if st == nil {
				st = &stat{}
				stats[ch[0]] = st
			}
			st.n++
			st.stored += z
			st.body += int(n)
		}
	}
	t.Logf("%d blocks, %d rows", len(refs), rows)
	for k, st := range stats {
		t.Logf("kind %d: %d chunks, %d compressed, %d body: %+.3f bytes a row stored", k, st.n, st.stored, st.body, float64(st.body-st.stored)/float64(rows))
	}
}

// TestChunkBytesReport sums, over every block of a store
// (MAMORI_NEEDLE_STORE), the stored bytes of the column chunks by kind
// and codec (skeleton heads and variables apart), to compare two stores
// written by different code. Opt-in: a measuring tool.
func TestChunkBytesReport(t *testing.T) {
	dir := os.Getenv("MAMORI_NEEDLE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_NEEDLE_STORE to a copy of a store directory")
	}
	s, err := Open(Options{Dir: dir, MaintainInterval: -1, Sync: SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap := s.Snapshot()
	defer snap.Release()
	refs, _, err := snap.Blocks(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]int{}
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		bm := pr.bm()
		sums["time"] += int(bm.timeCol.size)
		for _, c := range bm.cols {
			ch, err := pr.p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if ch[0] == kindSkeleton && ch[1] == codecNone {
				_, k := binary.Uvarint(ch[2:])
				body := ch[2+k:]
				hl, k := binary.Uvarint(body)
				sums["skel head"] += int(hl)
				sums["skel vars"] += len(body) - k - int(hl)
				continue
			}
			sums[fmt.Sprintf("kind %d codec %d", ch[0], ch[1])] += len(ch)
		}
	}
	keys := slices.Sorted(maps.Keys(sums))
	for _, k := range keys {
		t.Logf("%-20s %12d", k, sums[k])
	}
}

// TestVerifyStoreDir runs Verify over the store in MAMORI_VERIFY_STORE (a
// stopped store, not changed): a check of a large store written by new
// encodings. Opt-in.
func TestVerifyStoreDir(t *testing.T) {
	dir := os.Getenv("MAMORI_VERIFY_STORE")
	if dir == "" {
		t.Skip("set MAMORI_VERIFY_STORE to a store directory to verify it")
	}
	rep, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("%s at %d: %s", p.File, p.Offset, p.What)
	}
}
