package store

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestWriteMeasure writes the bench records the way a busy store does, for
// instruction counts under valgrind (cachegrind is stable on a busy VM
// where timings are not): MAMORI_WRITE_MEASURE=flush writes flush-shaped
// parts (each of 8 flushes: the streams' rows of one time slice, at the
// fast level), =merge decodes those parts and writes them merged, one
// block per stream (merge-shaped, the better level), both
// MAMORI_WRITE_ITERS times (default 1). Run it with two counts and
// subtract to leave out loading the records:
//
//	MAMORI_BENCH_FILE=x.ndjson MAMORI_BENCH_N=24000 MAMORI_WRITE_MEASURE=flush MAMORI_WRITE_ITERS=3 \
//	  valgrind --tool=cachegrind --cache-sim=no ./store.test -test.run TestWriteMeasure
func TestWriteMeasure(t *testing.T) {
	mode := os.Getenv("MAMORI_WRITE_MEASURE")
	if mode == "" {
		t.Skip("MAMORI_WRITE_MEASURE unset (flush or merge)")
	}
	iters := atoiOr(os.Getenv("MAMORI_WRITE_ITERS"), 1)
	evs := measureEvents(t)
	const flushes = 8
	dir := t.TempDir()
	per := (len(evs) + flushes - 1) / flushes
	var parts []*part
	// MAMORI_WRITE_CHEAP=1 (or =zstd, for that codec): flushes write cheap parts (cheap_part.go) from
	// the rows' WAL records (encoded once, before measuring: Append does
	// that in both modes), and the merge reads them as a merge does.
	cheap := os.Getenv("MAMORI_WRITE_CHEAP") != "" && os.Getenv("MAMORI_WRITE_CHEAP") != "0"
	if os.Getenv("MAMORI_WRITE_CHEAP") == "zstd" {
		defer func(c int) { cheapCodec = c }(cheapCodec)
		cheapCodec = rowsCodecZstd
	}
	type cheapFlush struct {
		rec   string
		hosts []string
		rows  map[string][]memRow
	}
	var cheapIn []cheapFlush
	if cheap {
		for fi := 0; fi < flushes; fi++ {
			lo, hi := fi*per, min((fi+1)*per, len(evs))
			if lo >= hi {
				break
			}
			es := evs[lo:hi]
			ps := make([]string, len(es))
			for i := range ps {
				ps[i] = "main"
			}
			rec, offs := encodeBatch(es, ps, batchSize(es, ps))
			cf := cheapFlush{rec: string(rec), rows: map[string][]memRow{}}
			for i := range es {
				if cf.rows[es[i].Host] == nil {
					cf.hosts = append(cf.hosts, es[i].Host)
				}
				cf.rows[es[i].Host] = append(cf.rows[es[i].Host], memRow{time: es[i].Time, off: offs[i], end: rowEnd(rec, offs, i)})
			}
			slices.Sort(cf.hosts)
			cheapIn = append(cheapIn, cf)
		}
	}
	writeFlushes := func() {
		for _, p := range parts {
			_ = p.release()
		}
		parts = parts[:0]
		for fi := 0; fi < flushes; fi++ {
			lo, hi := fi*per, min((fi+1)*per, len(evs))
			if lo >= hi {
				break
			}
			path := filepath.Join(dir, "f"+strconv.Itoa(fi)+".part")
			w, err := createPart(path, "main", 0, levelFast)
			if err != nil {
				t.Fatal(err)
			}
			if cheap {
				w.version = rowsPartVersion
				cf := cheapIn[fi]
				var rs []memRow
				for _, h := range cf.hosts {
					rs = append(rs[:0], cf.rows[h]...)
					slices.SortStableFunc(rs, cmpMemRow)
					if err := writeCheapStream(w, "", h, []string{cf.rec}, rs, 8192); err != nil {
						t.Fatal(err)
					}
				}
			}
			by, hosts := byHost(evs[lo:hi])
			if cheap {
				hosts = nil
			}
			slices.Sort(hosts)
			for _, h := range hosts {
				rs := by[h]
				slices.SortStableFunc(rs, cmpTime)
				if err := w.writeBlock("", h, rs); err != nil {
					t.Fatal(err)
				}
			}
			info, err := w.finish()
			if err != nil {
				t.Fatal(err)
			}
			p, err := openPart(path, info)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, p)
		}
	}
	writeFlushes()
	rows, rawBytes := 0, 0
	var size uint64
	for i := 0; i < iters; i++ {
		switch mode {
		case "flush":
			writeFlushes()
			rows += len(evs)
		case "merge":
			w, err := createPart(filepath.Join(dir, "m.part"), "main", 0, levelBetter)
			if err != nil {
				t.Fatal(err)
			}
			// Streams in the order of the first part (every flush has
			// every host on this data); rows of one stream concatenated
			// in flush order, which is time order.
			for bi := range parts[0].blocks {
				sk := parts[0].streams[parts[0].blocks[bi].stream]
				var out []*event.Event
				for _, p := range parts {
					for pbi := range p.blocks {
						if p.streams[p.blocks[pbi].stream] != sk {
							continue
						}
						var es []event.Event
						if p.cheap() {
							if es, err = p.cheapEvents(pbi); err != nil {
								t.Fatal(err)
							}
						} else {
							blk, err := p.loadBlock(pbi, p.blockColumns(&p.blocks[pbi])[1:])
							if err != nil {
								t.Fatal(err)
							}
							es = blk.Events(nil)
						}
						for k := range es {
							out = append(out, &es[k])
						}
					}
				}
				for _, e := range out {
					rawBytes += len(e.Raw)
				}
				if err := w.writeBlock(sk.source, sk.host, out); err != nil {
					t.Fatal(err)
				}
				rows += len(out)
			}
			size = w.off
			w.abort()
		default:
			t.Fatalf("MAMORI_WRITE_MEASURE=%q: want flush or merge", mode)
		}
	}
	if mode == "flush" {
		size = 0
		for _, p := range parts {
			size += uint64(len(p.data))
		}
		size *= uint64(iters)
	}
	for _, p := range parts {
		_ = p.release()
	}
	if mode == "merge" {
		want := 0
		for _, e := range evs {
			want += len(e.Raw)
		}
		if rawBytes != want*iters {
			t.Fatalf("merged %d raw bytes, want %d", rawBytes, want*iters)
		}
	}
	t.Logf("%s: %d rows written, %.2f bytes/row", mode, rows, float64(size)/float64(max(rows, 1)))
}

// measureEvents loads MAMORI_BENCH_N (default 24000) records as the
// server decodes them (serverEvents).
func measureEvents(t *testing.T) []event.Event {
	if os.Getenv("MAMORI_BENCH_N") == "" {
		t.Setenv("MAMORI_BENCH_N", "24000")
	}
	return serverEvents(t, serverBenchN())
}
