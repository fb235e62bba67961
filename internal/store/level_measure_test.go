package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// TestLevelMeasure re-encodes the blocks of an existing part at each zstd
// level, for the choice of levelRawBetter: MAMORI_LEVEL_PART names a part
// file (read only), MAMORI_LEVEL_ROWS caps the rows (default 2M). Each
// block is decoded once and written by one part writer per level in
// turn, so the levels see the same blocks under the same load; the CPU
// time of each writeBlock (process rusage: run with GOMAXPROCS=1) and the
// bytes written are summed per level.
//
//	GOMAXPROCS=1 MAMORI_LEVEL_PART=/path/x.part go test ./internal/store -run TestLevelMeasure -v
func TestLevelMeasure(t *testing.T) {
	path := os.Getenv("MAMORI_LEVEL_PART")
	if path == "" {
		t.Skip("MAMORI_LEVEL_PART unset")
	}
	maxRows := atoiOr(os.Getenv("MAMORI_LEVEL_ROWS"), 2_000_000)
	p, err := openPart(path, partInfo{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.release()
	// raw: levelRawBetter while the writer of lv writes (for levelBetter).
	levels := []struct {
		name    string
		lv, raw level
	}{{"fast", levelFast, levelFast}, {"default", levelDefault, levelDefault},
		{"better+raw-fast", levelBetter, levelFast}, {"better", levelBetter, levelBetter}}
	defer func(l level) { levelRawBetter = l }(levelRawBetter)
	dir := t.TempDir()
	ws := make([]*partWriter, len(levels))
	cpu := make([]time.Duration, len(levels))
	for i, l := range levels {
		if ws[i], err = createPart(filepath.Join(dir, l.name+".part"), "main", 0, l.lv); err != nil {
			t.Fatal(err)
		}
	}
	rows := eachBlockEvents(t, p, maxRows, func(sk streamKey, ptrs []*event.Event) {
		for i, w := range ws {
			levelRawBetter = levels[i].raw
			c0 := cpuTime()
			if err := w.writeBlock(sk.source, sk.host, ptrs); err != nil {
				t.Fatal(err)
			}
			cpu[i] += cpuTime() - c0
		}
	})
	for i, l := range levels {
		blocks := ws[i].off
		c0 := cpuTime()
		info, err := ws[i].finish()
		if err != nil {
			t.Fatal(err)
		}
		cpu[i] += cpuTime() - c0
		t.Logf("%-8s %d rows: %.2f bytes/row (blocks %.2f), %.2f µs CPU/row", l.name, rows, float64(info.Size)/float64(rows),
			float64(blocks)/float64(rows), float64(cpu[i].Microseconds())/float64(rows))
		if os.Getenv("MAMORI_LEVEL_COLS") != "" {
			logColumnBytes(t, filepath.Join(dir, l.name+".part"))
		}
	}
}

// TestPartColumnBytes prints the bytes per row of each column (and of
// the blooms) of the part MAMORI_COLSTATS_PART, to see where two builds'
// parts differ.
func TestPartColumnBytes(t *testing.T) {
	path := os.Getenv("MAMORI_COLSTATS_PART")
	if path == "" {
		t.Skip("MAMORI_COLSTATS_PART unset")
	}
	logColumnBytes(t, path)
}

func logColumnBytes(t *testing.T, path string) {
	p, err := openPart(path, partInfo{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.release()
	by := map[string]int64{}
	var rows int64
	for bi := range p.blocks {
		bm := &p.blocks[bi]
		rows += int64(bm.rows)
		by["(bloom)"] += int64(bm.bloomLen)
		by["(time)"] += int64(bm.timeCol.size)
		for _, c := range bm.cols {
			by[p.names[c.name]] += int64(c.size)
		}
	}
	var total int64
	for n, b := range by {
		total += b
		if float64(b)/float64(rows) >= 0.05 {
			t.Logf("%-24s %.3f bytes/row", n, float64(b)/float64(rows))
		}
	}
	t.Logf("blocks %d, rows %d, columns+blooms %.3f bytes/row, file %.3f", len(p.blocks), rows, float64(total)/float64(rows), float64(len(p.data))/float64(rows))
}

// TestLevelReadMeasure writes the first MAMORI_LEVEL_ROWS rows of the part
// MAMORI_LEVEL_PART twice, every chunk at levelBetter and with _raw at
// levelRawBetter's fast level, then loads _raw of every block of both,
// MAMORI_LEVEL_READS rounds interleaved (default 5), and logs the CPU
// time per row of each: the cost of the raw-fast level for queries that
// read _raw.
func TestLevelReadMeasure(t *testing.T) {
	path := os.Getenv("MAMORI_LEVEL_PART")
	if path == "" {
		t.Skip("MAMORI_LEVEL_PART unset")
	}
	maxRows := atoiOr(os.Getenv("MAMORI_LEVEL_ROWS"), 1_000_000)
	reads := atoiOr(os.Getenv("MAMORI_LEVEL_READS"), 5)
	src, err := openPart(path, partInfo{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.release()
	defer func(l level) { levelRawBetter = l }(levelRawBetter)
	raws := []level{levelBetter, levelFast}
	names := []string{"better", "raw-fast"}
	dir := t.TempDir()
	ws := make([]*partWriter, len(raws))
	for i := range raws {
		if ws[i], err = createPart(filepath.Join(dir, names[i]+".part"), "main", 0, levelBetter); err != nil {
			t.Fatal(err)
		}
	}
	rows := eachBlockEvents(t, src, maxRows, func(sk streamKey, ptrs []*event.Event) {
		for i, w := range ws {
			levelRawBetter = raws[i]
			if err := w.writeBlock(sk.source, sk.host, ptrs); err != nil {
				t.Fatal(err)
			}
		}
	})
	ps := make([]*part, len(ws))
	for i, w := range ws {
		info, err := w.finish()
		if err != nil {
			t.Fatal(err)
		}
		if ps[i], err = openPart(filepath.Join(dir, names[i]+".part"), info); err != nil {
			t.Fatal(err)
		}
		defer ps[i].release()
	}
	cpu := make([]time.Duration, len(ps))
	var rawBytes [2]int
	for r := 0; r < reads; r++ {
		for i, p := range ps {
			c0 := cpuTime()
			for bi := range p.blocks {
				b, err := p.loadBlock(bi, []string{event.FieldRaw})
				if err != nil {
					t.Fatal(err)
				}
				if r == 0 {
					for _, e := range b.Events(nil) {
						rawBytes[i] += len(e.Raw)
					}
				}
			}
			cpu[i] += cpuTime() - c0
		}
	}
	if rawBytes[0] != rawBytes[1] {
		t.Fatalf("_raw bytes differ: %d and %d", rawBytes[0], rawBytes[1])
	}
	for i := range ps {
		t.Logf("%-8s %d rows: _raw loads %.3f µs CPU/row over %d rounds", names[i], rows, float64(cpu[i].Nanoseconds())/1e3/float64(rows*reads), reads)
	}
}

// eachBlockEvents calls fn with the events of each block of p, in order,
// until maxRows rows have been passed, and returns the rows passed.
func eachBlockEvents(t *testing.T, p *part, maxRows int, fn func(sk streamKey, ptrs []*event.Event)) int {
	t.Helper()
	rows := 0
	for bi := range p.blocks {
		if rows >= maxRows {
			break
		}
		bm := &p.blocks[bi]
		blk, err := p.loadBlock(bi, p.blockColumns(bm)[1:])
		if err != nil {
			t.Fatal(err)
		}
		evs := blk.Events(nil)
		ptrs := make([]*event.Event, len(evs))
		for k := range evs {
			ptrs[k] = &evs[k]
		}
		fn(p.streams[bm.stream], ptrs)
		rows += len(evs)
	}
	return rows
}
