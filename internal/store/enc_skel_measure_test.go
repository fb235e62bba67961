package store

import (
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// TestSkeletonReport re-encodes the _raw column of sampled blocks (every
// MAMORI_SKEL_EVERY-th, default 10) of an existing store's parts
// (MAMORI_SKEL_PARTS, a parts directory, opened read-only) as templates
// (kind 5) and as skeletons (kind 8), and logs bytes per row, the head's
// share, skeletons per block and encode time. Opt-in: a measuring tool.
func TestSkeletonReport(t *testing.T) {
	dir := os.Getenv("MAMORI_SKEL_PARTS")
	if dir == "" {
		t.Skip("set MAMORI_SKEL_PARTS to a store's parts directory to measure skeleton chunks")
	}
	every := atoiOr(os.Getenv("MAMORI_SKEL_EVERY"), 10)
	var (
		rows, blocks, skelBlocks, skels, fallback int
		b5, b8, head8, b8fb                       int
		tb, t5, t8, t5f, t8f                      time.Duration
	)
	var tp templater
	var cb colBuilder
	sampleBlocks(t, dir, every, func(p *part, bi int) {
		b, err := p.loadBlock(bi, nil)
		if err != nil {
			t.Fatal(err)
		}
		evs := blockEvents(b)
		cb.build(evs)
		t0 := time.Now()
		tp.build(evs, &cb)
		tb += time.Since(t0)
		t0 = time.Now()
		ch5 := encodeChunk(nil, kindTemplate, tp.templateBody(), levelBetter)
		t5 += time.Since(t0)
		t0 = time.Now()
		ch8, ok := tp.sk.encode(nil, tp.data, tp.ends, levelBetter)
		t8 += time.Since(t0)
		t0 = time.Now()
		encodeChunk(nil, kindTemplate, tp.templateBody(), levelFast)
		t5f += time.Since(t0)
		t0 = time.Now()
		tp.sk.encode(nil, tp.data, tp.ends, levelFast)
		t8f += time.Since(t0)
		rows += len(evs)
		blocks++
		b5 += len(ch5)
		if !ok {
			fallback++
			b8fb += len(ch5)
			return
		}
		skelBlocks++
		skels += len(tp.sk.skels)
		b8 += len(ch8)
		b8fb += len(ch8)
		body := ch8[2:]
		_, k := binary.Uvarint(body)
		hl, k2 := binary.Uvarint(body[k:])
		_ = k2
		head8 += int(hl)
	})
	t.Logf("%d blocks (%d rows) sampled every %d; skeletons in %d blocks (%.1f per block), fallback %d", blocks, rows, every, skelBlocks, float64(skels)/float64(max(1, skelBlocks)), fallback)
	ns := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(rows) }
	t.Logf("templates built in %.0f ns/row; kind 5: %.2f B/row, encoded in %.0f ns/row (%.0f fast); kind 8 (with fallback): %.2f B/row, %.0f ns/row (%.0f fast); head %.2f B/row of skeleton rows",
		ns(tb), float64(b5)/float64(rows), ns(t5), ns(t5f), float64(b8fb)/float64(rows), ns(t8), ns(t8f), float64(head8)/float64(rows))
}

// blockEvents turns a loaded block back into events, as a writer would
// get them.
func blockEvents(b *Block) []*event.Event {
	evs := b.Events(nil)
	ptrs := make([]*event.Event, len(evs))
	for i := range evs {
		ptrs[i] = &evs[i]
	}
	return ptrs
}

// sampleBlocks calls fn with every every-th block of the parts under dir
// (opened read-only, released after).
func sampleBlocks(t *testing.T, dir string, every int, fn func(p *part, bi int)) {
	t.Helper()
	var paths []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, partExt) {
			paths = append(paths, p)
		}
		return nil
	})
	n := 0
	for _, path := range paths {
		p, err := openPart(path, partInfo{})
		if err != nil {
			t.Fatal(err)
		}
		for bi := range p.blocks {
			n++
			if n%every == 0 {
				fn(p, bi)
			}
		}
		_ = p.release() // read-only mapping
	}
}
