package store

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestFilterOrder checks that a compiled filter probes the longest tokens
// first (FilterEqual's hashes, FilterAnd's kids) and that the order
// changes no block's answer.
func TestFilterOrder(t *testing.T) {
	f := compileFilter(&Filter{Op: FilterEqual, Field: "src_ip", Value: "10.1.22.3"})
	if f.hashes[0] != hashString("10.1.22.3") || f.longest != len("10.1.22.3") {
		t.Errorf("FilterEqual probes %x first (longest %d), want the whole address", f.hashes[0], f.longest)
	}
	and := compileFilter(&Filter{Op: FilterAnd, Kids: []*Filter{
		{Op: FilterToken, Token: "ab"}, {Op: FilterOr}, {Op: FilterToken, Token: "abcdef"}, {Op: FilterToken, Token: "abc"},
	}})
	var got []int
	for _, k := range and.kids {
		got = append(got, k.longest)
	}
	if want := []int{6, 3, 2, 0}; !slices.Equal(got, want) {
		t.Errorf("FilterAnd kids by longest token %v, want %v", got, want)
	}
	// Answers: every block of a part against the filters' kids taken in
	// the written order.
	rng := rand.New(rand.NewPCG(21, 22))
	rows := rowsOfKinds(3000, rng, false)
	p := loadTestPart(t, rows, 300)
	for range 200 {
		e := rows[rng.IntN(len(rows))]
		ip, _ := e.Get("src_ip")
		user, _ := e.Get("user")
		kids := []*Filter{
			{Op: FilterToken, Token: user},
			{Op: FilterEqual, Field: "src_ip", Value: ip},
			{Op: FilterEqual, Field: "port", Value: "1234"},
			{Op: FilterToken, Token: "password"},
			{Op: FilterEqual, Field: event.FieldHost, Value: "h1"},
		}
		kids = kids[:1+rng.IntN(len(kids))]
		rng.Shuffle(len(kids), func(i, j int) { kids[i], kids[j] = kids[j], kids[i] })
		cf := compileFilter(&Filter{Op: FilterAnd, Kids: kids})
		for bi := range p.blocks {
			want := true
			for _, k := range kids {
				want = want && compileFilter(k).partBlock(p, bi)
			}
			if got := cf.partBlock(p, bi); got != want {
				t.Fatalf("block %d, filter %v: %v, want %v", bi, kids, got, want)
			}
		}
	}
}
