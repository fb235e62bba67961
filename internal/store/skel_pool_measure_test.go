package store

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPoolFrameSizes measures, on the parts of the store in
// MAMORI_POOL_STORE (read only), the bytes of the skeleton pools
// rewritten with frames of several sizes and the CPU to decode one frame
// (what a row load pays on a cold cache), and the bytes of the skeleton
// heads in the blocks.
func TestPoolFrameSizes(t *testing.T) {
	dir := os.Getenv("MAMORI_POOL_STORE")
	if dir == "" {
		t.Skip("set MAMORI_POOL_STORE to a store directory to measure its skeleton pools")
	}
	var parts []*part
	_ = filepath.WalkDir(filepath.Join(dir, partsDir), func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, partExt) {
			p, err := openPart(path, partInfo{})
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, p)
		}
		return nil
	})
	defer func() {
		for _, p := range parts {
			p.release()
		}
	}()
	var rows, heads, pools int64
	var texts [][]string
	for _, p := range parts {
		rows += p.info.Rows
		for bi := range p.blocks {
			ch, err := p.chunk(p.blocks[bi].cols[0])
			if err != nil {
				t.Fatal(err)
			}
			if head, _, ok := splitSkeletonChunk(ch); ok {
				heads += int64(len(head))
			}
		}
		if p.pool == nil {
			continue
		}
		var all []string
		for f := range p.pool.frames {
			pools += int64(p.pool.frames[f].zlen)
			ts, _, err := p.pool.decodeFrame(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, ts...)
		}
		texts = append(texts, all)
	}
	t.Logf("%d parts, %d rows: skeleton heads %.3f bytes/record, pools %.3f", len(parts), rows,
		float64(heads)/float64(rows), float64(pools)/float64(rows))
	for _, kb := range []int{8, 16, 32, 64, 128} {
		for _, lv := range []level{levelDefault, levelBetter} {
			old := poolFrameBytes
			poolFrameBytes = kb << 10
			var size int64
			var frames int
			var dec time.Duration
			for _, all := range texts {
				pb := poolBuilder{texts: all}
				var zs [][]byte
				_ = pb.write(func(b []byte) error { zs = append(zs, slices.Clone(b)); size += int64(len(b)); return nil }, 8, lv)
				zs = zs[:len(zs)-1] // the table
				frames += len(zs)
				start := cpuTime()
				for _, z := range zs {
					if _, err := decoder.DecodeAll(z, nil); err != nil {
						t.Fatal(err)
					}
				}
				dec += cpuTime() - start
			}
			poolFrameBytes = old
			t.Logf("frames of %3d KiB, level %d: %d frames, %.3f bytes/record, %.1f µs CPU to decode a frame", kb, lv, frames,
				float64(size)/float64(rows), float64(dec.Microseconds())/float64(frames))
		}
	}
}
