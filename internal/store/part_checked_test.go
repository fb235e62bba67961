package store

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// TestChunkCheckedOnce checks that a part checks each chunk's checksum on
// its first read only: a damage found there is reported on every read (a
// failed check is not remembered), a chunk whose check held is trusted
// afterwards, and a part opened afresh (as Verify does) checks again.
func TestChunkCheckedOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	good := loadTestPart(t, rowsOfKinds(1200, rng, false), 600).data
	p, err := parsePart(bytes.Clone(good))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for i := range p.blocks {
		bm := &p.blocks[i]
		for _, c := range append([]colMeta{bm.timeCol}, bm.cols...) {
			if c.seq == 0 || seen[c.seq] {
				t.Fatalf("block %d column %s: seq %d (0 or taken)", i, p.names[c.name], c.seq)
			}
			seen[c.seq] = true
		}
	}
	c0 := p.blocks[0].cols[0] // checked, then damaged: trusted
	c1 := p.blocks[1].cols[0] // damaged before its first read
	if _, err := p.chunk(c0); err != nil {
		t.Fatal(err)
	}
	p.data[c0.off] ^= 0x5a
	p.data[c1.off] ^= 0x5a
	if _, err := p.chunk(c0); err != nil {
		t.Errorf("a chunk whose check held is checked again: %v", err)
	}
	for range 2 {
		if _, err := p.chunk(c1); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Errorf("damaged chunk: err = %v, want a checksum mismatch", err)
		}
	}
	fresh, err := parsePart(bytes.Clone(p.data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.chunk(fresh.blocks[0].cols[0]); err == nil {
		t.Error("a part opened afresh trusts a damaged chunk")
	}
	// A chunk without a number (seq 0) is checked on every read.
	c := c0
	c.seq = 0
	if _, err := p.chunk(c); err == nil {
		t.Error("a chunk without a number skipped its check")
	}
}

// TestMergeChecksChunksAfresh checks that a merge checks every chunk it
// reads, also one whose check held on an earlier read: what a merge
// writes gets new CRCs, so a chunk damaged since a search read it (the
// mapping shows the disk's bytes) must fail the merge, not be copied into
// a part that verifies. Both ways are covered: a block copied verbatim
// (copyBlock) and a block decoded (cursor.fill).
func TestMergeChecksChunksAfresh(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	good := loadTestPart(t, rowsOfKinds(1200, rng, false), 600).data
	for _, c := range []struct {
		name  string
		merge func(src *part) error
	}{
		{"copied", func(src *part) error {
			w, err := createPart(filepath.Join(t.TempDir(), "m.part"), "main", 0, levelFast)
			if err != nil {
				t.Fatal(err)
			}
			defer w.abort()
			return w.copyBlock(src, 0)
		}},
		{"decoded", func(src *part) error {
			cur := &cursor{p: src, blocks: []int{0}, verbatim: []bool{false}}
			return cur.fill()
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, err := parsePart(bytes.Clone(good))
			if err != nil {
				t.Fatal(err)
			}
			bm := &src.blocks[0]
			for _, col := range append([]colMeta{bm.timeCol}, bm.cols...) {
				if _, err := src.chunk(col); err != nil { // a search read it
					t.Fatal(err)
				}
			}
			c0 := bm.cols[len(bm.cols)-1]
			src.data[c0.off+uint64(c0.size)-1] ^= 0x5a
			if err := c.merge(src); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
				t.Errorf("merge of a chunk damaged after its first check: err = %v, want a checksum mismatch", err)
			}
		})
	}
}
