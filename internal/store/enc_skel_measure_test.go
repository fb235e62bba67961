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
	var paths []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, partExt) {
			paths = append(paths, p)
		}
		return nil
	})
	every := atoiOr(os.Getenv("MAMORI_SKEL_EVERY"), 10)
	var (
		n, rows, blocks, skelBlocks, skels, fallback int
		b5, b8, head8, b8fb                          int
		tb, t5, t8, t5f, t8f                         time.Duration
	)
	var tp templater
	var cb colBuilder
	for _, path := range paths {
		p, err := openPart(path, partInfo{})
		if err != nil {
			t.Fatal(err)
		}
		for bi := range p.blocks {
			n++
			if n%every != 0 {
				continue
			}
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
				continue
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
		}
		_ = p.release()
	}
	t.Logf("%d blocks (%d rows) sampled every %d; skeletons in %d blocks (%.1f per block), fallback %d", blocks, rows, every, skelBlocks, float64(skels)/float64(max(1, skelBlocks)), fallback)
	ns := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(rows) }
	t.Logf("templates built in %.0f ns/row; kind 5: %.2f B/row, encoded in %.0f ns/row (%.0f fast); kind 8 (with fallback): %.2f B/row, %.0f ns/row (%.0f fast); head %.2f B/row of skeleton rows",
		ns(tb), float64(b5)/float64(rows), ns(t5), ns(t5f), float64(b8fb)/float64(rows), ns(t8), ns(t8f), float64(head8)/float64(rows))
}

// blockEvents turns a loaded block back into events (the fields in column
// order), as a writer would get them.
func blockEvents(b *Block) []*event.Event {
	evs := make([]*event.Event, b.N)
	for i := range evs {
		e := &event.Event{Host: b.Host, Source: b.Source}
		if b.Times != nil {
			e.Time = b.Times[i]
		}
		for _, c := range b.Cols {
			if !c.Has(i) {
				continue
			}
			switch c.Name {
			case event.FieldRaw:
				e.Raw = c.Values[i]
			case event.FieldCategory, event.FieldReceived:
			default:
				e.Fields = append(e.Fields, event.Field{Name: c.Name, Value: c.Values[i]})
			}
		}
		evs[i] = e
	}
	return evs
}
