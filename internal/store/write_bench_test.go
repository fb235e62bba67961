package store

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// benchStreamBlocks returns blocks of the bench data as a flush or merge
// sees them: the rows of the busiest streams (source, host), sorted by
// time, cut into blocks of at most rows rows.
func benchStreamBlocks(b *testing.B, rows, blocks int) [][]*event.Event {
	evs := benchEvents(b)
	by := map[streamKey][]*event.Event{}
	for i := range evs {
		e := &evs[i]
		k := streamKey{e.Source, e.Host}
		by[k] = append(by[k], e)
	}
	keys := make([]streamKey, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y streamKey) int {
		if c := cmp.Compare(len(by[y]), len(by[x])); c != 0 {
			return c
		}
		return cmp.Compare(x.source+"\x00"+x.host, y.source+"\x00"+y.host)
	})
	var out [][]*event.Event
	for _, k := range keys {
		rs := by[k]
		slices.SortStableFunc(rs, cmpTime)
		for len(rs) > 0 && len(out) < blocks {
			n := min(rows, len(rs))
			out = append(out, rs[:n])
			rs = rs[n:]
		}
		if len(out) >= blocks {
			break
		}
	}
	return out
}

// BenchmarkWriteStreamBlocks writes blocks of one stream each (the shape
// of flushes and merges on the bench data: 200 streams) at each zstd
// level, and reports CPU per row and bytes per row.
func BenchmarkWriteStreamBlocks(b *testing.B) {
	for _, rows := range []int{300, 2000, 8192} {
		blocks := benchStreamBlocks(b, rows, max(8, 32768/rows))
		n := 0
		for _, bl := range blocks {
			n += len(bl)
		}
		for _, lv := range []struct {
			name string
			lv   level
		}{{"fast", levelFast}, {"default", levelDefault}, {"better", levelBetter}} {
			b.Run(fmt.Sprintf("rows=%d/%s", rows, lv.name), func(b *testing.B) {
				dir := b.TempDir()
				b.ReportAllocs()
				var size uint64
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					w, err := createPart(dir+"/p.part", "main", 0, lv.lv)
					if err != nil {
						b.Fatal(err)
					}
					w.fullRows = 1 << 30 // keep the level asked for
					for _, bl := range blocks {
						if err := w.writeBlock("src", "host", bl); err != nil {
							b.Fatal(err)
						}
					}
					size = w.off
					w.abort()
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/row")
				b.ReportMetric(float64(size)/float64(n), "bytes/row")
			})
		}
	}
}
