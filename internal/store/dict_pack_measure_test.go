package store

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// TestDictPackReport reads the kindDict chunks of every block of an
// existing store's parts (MAMORI_DICTPACK_PARTS, a parts directory,
// opened read-only) and logs, per column, the bytes of its kindDict
// chunks by codec, and the bytes the zstd-compressed ones would take
// packed where the writer's policy packs them (packedDictChunk): run on
// a store written before codecPacked, it measures what packing adds.
// Opt-in: a measuring tool, not a check.
func TestDictPackReport(t *testing.T) {
	dir := os.Getenv("MAMORI_DICTPACK_PARTS")
	if dir == "" {
		t.Skip("set MAMORI_DICTPACK_PARTS to a store's parts directory to measure packed dictionaries")
	}
	type stat struct {
		rows, chunks  int
		byCodec       [4]int // bytes
		nByCodec      [4]int
		packs, before int // chunks packing would change, their bytes
		after         int
	}
	stats := map[string]*stat{}
	total := 0
	sampleBlocks(t, dir, 1, func(p *part, bi int) {
		bm := &p.blocks[bi]
		total += int(bm.rows)
		for _, c := range bm.cols {
			if c.size == 0 || p.data[c.off] != kindDict || p.isAlias(c) {
				continue
			}
			name := p.names[c.name]
			s := stats[name]
			if s == nil {
				s = &stat{}
				stats[name] = s
			}
			ch, err := p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			s.chunks++
			s.rows += int(bm.rows)
			s.byCodec[ch[1]&3] += len(ch)
			s.nByCodec[ch[1]&3]++
			if ch[1] == codecPacked {
				continue
			}
			_, body, err := chunkBody(ch)
			if err != nil {
				t.Fatal(err)
			}
			if out, ok := packedDictChunk(nil, []byte(body), int(bm.rows)); ok {
				s.packs++
				s.before += len(ch)
				s.after += len(out)
			}
		}
	})
	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return stats[keys[i]].rows > stats[keys[j]].rows })
	var sb strings.Builder
	var added, packedB int
	per := func(b int) float64 { return float64(b) / float64(total) }
	for _, k := range keys {
		s := stats[k]
		fmt.Fprintf(&sb, "%-16s rows %9d chunks %5d | none %5d %.3f zstd %5d %.3f packed %5d %.3f | would pack %5d: %.3f -> %.3f B/record\n",
			k, s.rows, s.chunks, s.nByCodec[codecNone], per(s.byCodec[codecNone]), s.nByCodec[codecZstd], per(s.byCodec[codecZstd]),
			s.nByCodec[codecPacked], per(s.byCodec[codecPacked]), s.packs, per(s.before), per(s.after))
		added += s.after - s.before
		packedB += s.byCodec[codecPacked]
	}
	t.Logf("%d rows\n%spacked chunks %.3f bytes/record; packing the others would add %+.3f bytes/record", total, sb.String(), per(packedB), per(added))
}
