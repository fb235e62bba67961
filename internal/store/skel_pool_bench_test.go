package store

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// BenchmarkWritePart writes the bench records as the server decodes them
// into whole parts (blocks by stream and time, then finish, which writes
// a part version 6's skeleton pool): flush-sized blocks at the fast
// level, merge-sized ones at the default and better levels; cpu-ns/row
// and bytes/row of the file. It uses only what older writers have, so
// it runs against them as it is.
func BenchmarkWritePart(b *testing.B) {
	evs := serverEvents(b, serverBenchN())
	by, hosts := byHost(evs)
	for _, h := range hosts {
		slices.SortStableFunc(by[h], cmpTime)
	}
	for _, tc := range []struct {
		rows int
		lv   level
		name string
	}{{300, levelFast, "fast"}, {8192, levelDefault, "default"}, {8192, levelBetter, "better"}} {
		var blocks [][]*event.Event
		n := 0
		for _, h := range hosts {
			for rs := by[h]; len(rs) > 0; {
				k := min(tc.rows, len(rs))
				blocks = append(blocks, rs[:k])
				n += k
				rs = rs[k:]
			}
		}
		b.Run(fmt.Sprintf("rows=%d/%s", tc.rows, tc.name), func(b *testing.B) {
			dir := b.TempDir()
			var size int64
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				w, err := createPart(dir+"/p.part", "main", 0, tc.lv)
				if err != nil {
					b.Fatal(err)
				}
				for _, bl := range blocks {
					if err := w.writeBlock("", bl[0].Host, bl); err != nil {
						b.Fatal(err)
					}
				}
				info, err := w.finish()
				if err != nil {
					b.Fatal(err)
				}
				size = info.Size
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/row")
			b.ReportMetric(float64(size)/float64(n), "bytes/row")
		})
	}
}
