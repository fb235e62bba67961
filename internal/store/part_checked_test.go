package store

import (
	"bytes"
	"math/rand/v2"
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
