package store

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// skelBenchPart writes up to 8192 bench records of each of the
// dataset's sources as blocks of their own (as a stream's blocks are),
// keeping those whose _raw is stored as skeletons. Set MAMORI_BENCH_N
// (e.g. 200000) to read less of the dataset.
func skelBenchPart(b *testing.B) *part {
	evs := benchEvents(b)
	by := map[string][]*event.Event{}
	var order []string
	for i := range evs {
		e := &evs[i]
		if by[e.Source] == nil {
			order = append(order, e.Source)
		}
		if len(by[e.Source]) < 8192 {
			by[e.Source] = append(by[e.Source], e)
		}
	}
	var rows []*event.Event
	for _, src := range order {
		if g := by[src]; len(g) == 8192 {
			rows = append(rows, g...)
		}
	}
	p := writeBenchPart(b, b.TempDir(), rows, levelBetter)
	var keep []blockMeta
	for bi := range p.blocks {
		if blockKinds(p, bi)[event.FieldRaw] == kindSkeleton {
			keep = append(keep, p.blocks[bi])
		}
	}
	if len(keep) == 0 {
		b.Skip("no block with skeletons")
	}
	p.blocks = keep
	b.ResetTimer()
	return p
}

// BenchmarkLoadRowsSkeleton measures a needle's row-wise load of every
// column of one row (the middle one) of a block with skeletons.
func BenchmarkLoadRowsSkeleton(b *testing.B) {
	p := skelBenchPart(b)
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		bi := i % len(p.blocks)
		if _, err := p.loadRows(bi, nil, []int{int(p.blocks[bi].rows) / 2}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkRawTemplatesVar measures a search's reading of every variable
// of every row of blocks with skeletons (Var), load included, per row.
func BenchmarkRawTemplatesVar(b *testing.B) {
	var nvar []int // by skeleton, of the block: -1 not counted yet
	benchRawTemplates(b, func(tm *RawTemplates, r int, _ []byte) []byte {
		if r == 0 {
			nvar = nvar[:0]
			for range tm.Skeletons() {
				nvar = append(nvar, -1)
			}
		}
		if id := tm.SkeletonOf(r); id >= 0 {
			if nvar[id] < 0 {
				nvar[id] = countVars(tm.Skeleton(id))
			}
			for j := range nvar[id] {
				if _, err := tm.Var(r, j); err != nil {
					b.Fatal(err)
				}
			}
		}
		return nil
	})
}

// BenchmarkRawTemplatesAppendRaw measures expanding every row of blocks
// with skeletons (a regexp's path), load included, per row.
func BenchmarkRawTemplatesAppendRaw(b *testing.B) {
	benchRawTemplates(b, func(tm *RawTemplates, r int, buf []byte) []byte {
		buf, err := tm.AppendRaw(buf[:0], r)
		if err != nil {
			b.Fatal(err)
		}
		return buf
	})
}

func benchRawTemplates(b *testing.B, row func(tm *RawTemplates, r int, buf []byte) []byte) {
	p := skelBenchPart(b)
	b.ReportAllocs()
	n := 0
	var buf []byte
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		blk, err := p.loadBlockWith(i%len(p.blocks), []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
		if err != nil {
			b.Fatal(err)
		}
		tm := blk.Raw
		for r := range tm.Rows() {
			buf = row(tm, r, buf)
		}
		n += tm.Rows()
		tm.Release()
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/row")
}
