package store

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestDictPolicyReport re-encodes the columns of sampled blocks (every
// MAMORI_DICTPOL_EVERY-th, default 10) of an existing store's parts
// (MAMORI_DICTPOL_PARTS, a parts directory, opened read-only) by the
// dictionary policy of part version 2 and the current one, and logs bytes
// and encode time per column, and the bytes of columns that are copies of
// an earlier one (alias columns). Opt-in: a measuring tool, not a check.
func TestDictPolicyReport(t *testing.T) {
	dir := os.Getenv("MAMORI_DICTPOL_PARTS")
	if dir == "" {
		t.Skip("set MAMORI_DICTPOL_PARTS to a store's parts directory to measure dictionary limits")
	}
	type pol struct {
		name  string
		small bool
	}
	pols := []pol{{"v2", true}, {"v3", false}}
	type stat struct {
		bytes   []int
		cpu     []time.Duration
		dict    []int
		rows    int
		aliased int // bytes of chunks equal to an earlier column
	}
	stats := map[string]*stat{}
	every := atoiOr(os.Getenv("MAMORI_DICTPOL_EVERY"), 10)
	sampled := 0
	sampleBlocks(t, dir, every, func(p *part, bi int) {
		sampled += int(p.blocks[bi].rows)
		names := p.blockColumns(&p.blocks[bi])[2:] // not _time, _raw
		b, err := p.loadBlock(bi, names)
		if err != nil {
			t.Fatal(err)
		}
		for ci, c := range b.Cols {
			s := stats[c.Name]
			if s == nil {
				s = &stat{bytes: make([]int, len(pols)), cpu: make([]time.Duration, len(pols)), dict: make([]int, len(pols))}
				stats[c.Name] = s
			}
			s.rows += len(c.Values)
			first := 0
			for pi, po := range pols {
				t0 := time.Now()
				kind, body := chooseEncodingPol(c.Values, c.Absent, po.small)
				ch := encodeChunk(nil, kind, body, levelBetter)
				s.cpu[pi] += time.Since(t0)
				s.bytes[pi] += len(ch)
				if pi == 0 {
					first = len(ch)
				}
				if kind == kindDict {
					s.dict[pi]++
				}
			}
			for _, e := range b.Cols[:ci] {
				if slices.Equal(e.Values, c.Values) && equalAbsent(e.Absent, c.Absent) {
					s.aliased += first
					break
				}
			}
		}
	})
	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return stats[keys[i]].bytes[0] > stats[keys[j]].bytes[0] })
	tot := make([]int, len(pols))
	totCPU := make([]time.Duration, len(pols))
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-28s %9s %12s", "column", "rows", "alias B/row")
	for _, po := range pols {
		fmt.Fprintf(&sb, " | %5s B/row ns/row dict", po.name)
	}
	sb.WriteString("\n")
	for _, k := range keys {
		s := stats[k]
		fmt.Fprintf(&sb, "%-28s %9d alias %6.3f", k, s.rows, float64(s.aliased)/float64(s.rows))
		for pi := range pols {
			fmt.Fprintf(&sb, " | %12.3f %6.1f %4d", float64(s.bytes[pi])/float64(s.rows), float64(s.cpu[pi].Nanoseconds())/float64(s.rows), s.dict[pi])
			tot[pi] += s.bytes[pi]
			totCPU[pi] += s.cpu[pi]
		}
		sb.WriteString("\n")
	}
	var al int
	for _, s := range stats {
		al += s.aliased
	}
	t.Logf("blocks sampled: every %d, %d rows, aliased columns %.3f bytes/record\n%s", every, sampled, float64(al)/float64(sampled), sb.String())
	for pi, po := range pols {
		t.Logf("policy %s: %.3f bytes/record, cpu %.1f ns/record", po.name, float64(tot[pi])/float64(sampled), float64(totCPU[pi].Nanoseconds())/float64(sampled))
	}
}

// chooseEncodingPol is chooseEncoding with only the first step of the
// dictionary policy when small is set (the policy of part version 2).
func chooseEncodingPol(vals []string, absent []bool, small bool) (byte, []byte) {
	kind, body := chooseEncoding(vals, absent)
	if !small || kind != kindDict {
		return kind, body
	}
	var db dictBuilder
	if b, ok := db.encode(vals, absent, smallDict, true); ok {
		return kindDict, b
	}
	return kindPlain, encodePlain(vals, absent)
}
