package store

import (
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestCoverageReport counts, per column name, the blocks of the store in
// MAMORI_COVER_STORE (opened read-only through a snapshot; use a copy)
// whose column is fully covered by _raw (coverage keys), and the bytes
// of their chunks a term search no longer decompresses. Opt-in.
func TestCoverageReport(t *testing.T) {
	dir := os.Getenv("MAMORI_COVER_STORE")
	if dir == "" {
		t.Skip("set MAMORI_COVER_STORE to a copy of a store directory to report its coverage keys")
	}
	s, err := Open(Options{Dir: dir, MaintainInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sn := s.Snapshot().(*snapshot)
	defer sn.Release()
	type stat struct {
		blocks, covered, space int
		bytes, covBytes        int64
		kinds                  map[byte]int
	}
	stats := map[string]*stat{}
	marked, total := 0, 0
	for _, p := range sn.parts {
		for i := range p.blocks {
			bm := &p.blocks[i]
			bl := p.bloom(i)
			total++
			cov := p.hasCoverage(bl)
			if cov {
				marked++
			}
			for _, c := range bm.cols {
				name := p.names[c.name]
				if event.IsMeta(name) {
					continue
				}
				st := stats[name]
				if st == nil {
					st = &stat{kinds: map[byte]int{}}
					stats[name] = st
				}
				st.blocks++
				st.bytes += int64(c.size)
				if c.size > 0 {
					st.kinds[p.data[c.off]]++
				}
				if cov && !lacksText(bl, name, " ") {
					st.space++
				}
				if cov && fullyCovered(bl, name) {
					st.covered++
					st.covBytes += int64(c.size)
				}
			}
		}
	}
	t.Logf("blocks %d, with coverage keys %d", total, marked)
	var names []string
	for n := range stats {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return stats[names[i]].bytes > stats[names[j]].bytes })
	for _, n := range names {
		st := stats[n]
		t.Logf("%-20s blocks %5d covered %5d space %5d bytes %10d covered %10d kinds %s", n, st.blocks, st.covered, st.space, st.bytes, st.covBytes, fmt.Sprint(st.kinds))
	}
}
