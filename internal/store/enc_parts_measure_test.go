package store

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestEncodePartsMeasure writes the first MAMORI_ENC_PARTS_N records of MAMORI_BENCH_FILE
// as full parts into MAMORI_ENC_PARTS (one part per 100k records: each
// batch encoded as a WAL record and decoded back, as a merge of cheap
// parts reads it, then one block per host of up to 3,000 rows at the
// better level), so two builds' parts can be compared byte for byte.
func TestEncodePartsMeasure(t *testing.T) {
	dir := os.Getenv("MAMORI_ENC_PARTS")
	if dir == "" {
		t.Skip("MAMORI_ENC_PARTS unset")
	}
	n := 2_000_000
	if s := os.Getenv("MAMORI_ENC_PARTS_N"); s != "" {
		n = atoiOr(s, n)
	}
	fh, err := os.Open(benchFile(t))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var batch []event.Event
	k, lines := 0, 0
	flush := func() {
		parts := make([]string, len(batch))
		for i := range parts {
			parts[i] = "main"
		}
		rec, _ := encodeBatch(batch, parts, batchSize(batch, parts))
		evs, err := decodeBatch(string(rec))
		if err != nil {
			t.Fatal(err)
		}
		w, err := createPart(filepath.Join(dir, fmt.Sprintf("p%03d.part", k)), "main", 0, levelBetter)
		if err != nil {
			t.Fatal(err)
		}
		by, hosts := byHost(evs)
		slices.Sort(hosts)
		for _, h := range hosts {
			rs := by[h]
			slices.SortStableFunc(rs, cmpTime)
			for lo := 0; lo < len(rs); lo += 3000 {
				if err := w.writeBlock("", h, rs[lo:min(lo+3000, len(rs))]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := w.finish(); err != nil {
			t.Fatal(err)
		}
		k++
		batch = batch[:0]
	}
	for sc.Scan() && lines < n {
		lines++
		ev, ok := serverEvent(sc.Bytes())
		if !ok {
			continue
		}
		ev.Received = int64(1_800_000_000e9 + lines/4000*1e9)
		batch = append(batch, ev)
		if len(batch) == 100_000 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	t.Logf("%d lines, %d parts", lines, k)
}
