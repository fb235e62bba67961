package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// blockBenchRows is the number of bench records the block benchmarks use
// (MAMORI_BENCH_N caps the records loaded; 40000 is enough).
const blockBenchRows = 4 * 8192

// benchBlockRows returns the first rows of the bench data of one stream,
// sorted by time, as a block writer wants them.
func benchBlockRows(b *testing.B) []*event.Event {
	evs := benchEvents(b)
	if len(evs) > blockBenchRows {
		evs = evs[:blockBenchRows]
	}
	rows := make([]*event.Event, len(evs))
	for i := range evs {
		rows[i] = &evs[i]
	}
	return rows
}

func writeBenchPart(b *testing.B, dir string, rows []*event.Event, lv level) *part {
	b.Helper()
	path := filepath.Join(dir, "p.part")
	w, err := createPart(path, "main", 0, lv)
	if err != nil {
		b.Fatal(err)
	}
	for off := 0; off < len(rows); off += 8192 {
		if err := w.writeBlock("src", "host", rows[off:min(off+8192, len(rows))]); err != nil {
			b.Fatal(err)
		}
	}
	info, err := w.finish()
	if err != nil {
		b.Fatal(err)
	}
	p, err := openPart(path, info)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.release() }) // the test dir goes away anyway
	return p
}

// BenchmarkWriteBlock measures encoding blocks of 8192 rows (columns,
// templates, zstd, blooms) per row.
func BenchmarkWriteBlock(b *testing.B) {
	rows := benchBlockRows(b)
	for _, lv := range []struct {
		name string
		lv   level
	}{{"fast", levelFast}, {"better", levelBetter}} {
		b.Run(lv.name, func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			cpu0 := cpuTime()
			var p *part
			for i := 0; i < b.N; i++ {
				p = writeBenchPart(b, dir, rows, lv.lv)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*len(rows)), "cpu-ns/row")
			b.ReportMetric(float64(len(p.data))/float64(len(rows)), "bytes/row")
		})
	}
}

// BenchmarkLoadBlock measures decoding one column of a full block, per row.
func BenchmarkLoadBlock(b *testing.B) {
	rows := benchBlockRows(b)
	p := writeBenchPart(b, b.TempDir(), rows, levelBetter)
	for _, col := range []string{event.FieldRaw, "user", event.FieldTime} {
		b.Run(col, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				blk, err := p.loadBlock(i%len(p.blocks), []string{col})
				if err != nil {
					b.Fatal(err)
				}
				n += blk.Rows()
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/row")
		})
	}
}

// BenchmarkMergeOneStream merges 4 flushed parts of one stream that
// arrived in time order (65536 bench records, flushed every 16384), and
// reports the merge's CPU per row. Full blocks that no other part
// overlaps are copied verbatim.
func BenchmarkMergeOneStream(b *testing.B) {
	evs := benchEvents(b)
	const n, per = 8 * 8192, 2 * 8192
	if len(evs) < n {
		b.Skipf("need %d bench records, have %d", n, len(evs))
	}
	one := make([]event.Event, n)
	for i := range one {
		one[i] = evs[i]
		one[i].Host, one[i].Source, one[i].Time = "h1", "app", int64(i)*1e6
	}
	ctx := context.Background()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		s, err := Open(Options{Dir: b.TempDir(), MaintainInterval: -1, FlushInterval: time.Hour, MergeMinParts: 2})
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < n; off += per {
			if err := s.Append(ctx, one[off:off+per]); err != nil {
				b.Fatal(err)
			}
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
		cpu0 := cpuTime()
		if err := s.Merge(ctx); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - cpu0
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "merge-cpu-ns/row")
}
