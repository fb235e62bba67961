package store

import (
	"context"
	"slices"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestMergeCopiesFullBlocks checks that merges copy full blocks that no
// other input overlaps verbatim, and that the result holds every row once,
// in time order, searchable by tokens, and passes Verify.
func TestMergeCopiesFullBlocks(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		interleave bool // every flush covers the whole time range
		wantCopies bool
	}{
		{"in_order", false, true},
		{"interleaved", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOptions(dir)
			opts.MergeMinParts, opts.MergeMaxParts = 2, 8
			opts.FullFlush = true // copies are of full parts' blocks
			s := openTest(t, opts)
			const flushes, per = 4, 1000 // 5 hosts: 200 rows a stream a flush, 2 full blocks
			all := testEvents(0, flushes*per)
			for f := 0; f < flushes; f++ {
				var batch []event.Event
				if tc.interleave {
					for i := f; i < len(all); i += flushes {
						batch = append(batch, all[i])
					}
				} else {
					batch = all[f*per : (f+1)*per]
				}
				appendFlushEvents(t, s, batch)
			}
			if err := s.Merge(ctx); err != nil {
				t.Fatal(err)
			}
			m := s.Metrics()
			if m.MergesDone == 0 {
				t.Fatal("no merge ran")
			}
			if got := m.MergeBlocksCopied > 0; got != tc.wantCopies {
				t.Errorf("MergeBlocksCopied = %d, want copies: %v", m.MergeBlocksCopied, tc.wantCopies)
			}
			checkIDs(t, readAll(t, s, Query{}), flushes*per)
			// A token of one row still finds its block (copied blooms).
			ids := readAll(t, s, Query{Filter: &Filter{Op: FilterToken, Token: "3999"}})
			found := false
			for _, id := range ids {
				found = found || id == "3999"
			}
			if !found {
				t.Errorf("token search lost row 3999: got %v", ids)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			verifyOK(t, dir)
			s = openTest(t, opts)
			checkIDs(t, readAll(t, s, Query{}), flushes*per)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPickTier(t *testing.T) {
	f := func(minParts, maxParts int, rows []int64, want []int64) {
		t.Helper()
		g := make([]*part, len(rows))
		for i, r := range rows {
			g[i] = &part{info: partInfo{Name: string(rune('a' + i)), Rows: r}}
		}
		var got []int64
		for _, p := range pickTier(g, minParts, maxParts, 1<<62) {
			got = append(got, p.info.Rows)
		}
		if !slices.Equal(got, want) {
			t.Errorf("pickTier(%d, %d, %v) = %v, want %v", minParts, maxParts, rows, got, want)
		}
	}
	f(4, 8, []int64{10, 10, 10}, nil)                             // too few
	f(4, 8, []int64{10, 11, 9, 10}, []int64{9, 10, 10, 11})       // one tier
	f(4, 8, []int64{40, 10, 10, 10}, nil)                         // the big one waits
	f(4, 8, []int64{40, 10, 10, 10, 10}, []int64{10, 10, 10, 10}) // the small ones merge
	f(4, 8, []int64{40, 40, 40, 10, 10, 10, 10}, []int64{10, 10, 10, 10, 40, 40, 40})
	f(2, 8, []int64{80, 50}, nil)                             // end of a run: two tiers stay
	f(2, 3, []int64{10, 10, 10, 10, 10}, []int64{10, 10, 10}) // at most maxParts
}

func TestMergeLevel(t *testing.T) {
	const maxRows = 1600 // an eighth: 200
	parts := func(rows ...int64) []*part {
		ps := make([]*part, len(rows))
		for i, r := range rows {
			ps[i] = &part{info: partInfo{Rows: r}}
		}
		return ps
	}
	for _, tc := range []struct {
		name  string
		in    []*part
		peers int
		want  level
	}{
		{"small output", parts(40, 40, 40, 40), 0, levelFast},
		{"merge of flushes, alone", parts(60, 60, 60, 60, 60, 60, 60, 60), 2, levelBetter},
		{"merge of flushes, a tier waits", parts(60, 60, 60, 60, 60, 60, 60, 60), 3, levelFast},
		{"output too big to merge again", parts(480, 480, 480, 480), 3, levelBetter},
	} {
		if got := mergeLevel(tc.in, maxRows, tc.peers, 4); got != tc.want {
			t.Errorf("%s: mergeLevel = %d, want %d", tc.name, got, tc.want)
		}
	}
}
