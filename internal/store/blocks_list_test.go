package store

import (
	"context"
	"fmt"
	"runtime"
	"testing"
)

// TestBlocksParallelList checks that listing on several goroutines keeps
// the same blocks, in the same order, with the same counts as listing on
// one.
func TestBlocksParallelList(t *testing.T) {
	s := openTest(t, testOptions(t.TempDir()))
	defer s.Close()
	ctx := context.Background()
	for k := range 3 { // several parts
		evs := testEvents(k*700, 700)
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(ctx, testEvents(2100, 50)); err != nil { // in memory too
		t.Fatal(err)
	}
	tok := func(field, tk string) *Filter { return &Filter{Op: FilterToken, Field: field, Token: tk} }
	eq := func(field, v string) *Filter { return &Filter{Op: FilterEqual, Field: field, Value: v} }
	queries := []Query{
		{},
		{Filter: tok("", "10.0.2.34")},
		{Filter: eq("user", testEvents(5, 1)[0].Fields[1].Value)},
		{Filter: eq("odd", "x y")},
		{Filter: tok("nosuch", "x")},
		{Filter: &Filter{Op: FilterAnd, Kids: []*Filter{eq("odd", "x y"), tok("", "10.0.2.34")}}},
		{Hosts: []string{"host-4"}},
		{MinTime: t0 + 500*1e9, MaxTime: t0 + 1500*1e9},
	}
	list := func(share, procs int) []string {
		old, oldProcs := minListShare, runtime.GOMAXPROCS(procs)
		defer func() { minListShare = old; runtime.GOMAXPROCS(oldProcs) }()
		minListShare = share
		var out []string
		for _, q := range queries {
			refs, st := blocksFor(t, s, q)
			if st.BlocksScanned+st.BlocksSkipped != st.BlocksTotal || st.PartsScanned+st.PartsSkipped != st.PartsTotal {
				t.Errorf("stats don't add up: %+v", st)
			}
			line := fmt.Sprintf("%+v:", st)
			for _, r := range refs {
				line += fmt.Sprintf(" %s/%d/%d/%d", r.Host(), r.MinTime(), r.MaxTime(), r.Rows())
			}
			out = append(out, line)
		}
		return out
	}
	want := list(1<<30, 1)
	for _, procs := range []int{2, 3, 8} {
		got := list(1, procs)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("query %d, %d goroutines:\n got %s\nwant %s", i, procs, got[i], want[i])
			}
		}
	}
	if refs, _ := blocksFor(t, s, Query{}); len(refs) < 8 {
		t.Fatalf("only %d blocks: the test needs more", len(refs))
	}
}
