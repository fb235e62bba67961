package logreduce

import (
	"fmt"
	"os"
	"sort"
	"testing"
)

func TestTmpLeaves(t *testing.T) {
	if os.Getenv("MAMORI_LOGREDUCE_BENCH") == "" {
		t.Skip()
	}
	lines := benchLines(&testing.B{})
	r := New(Options{})
	for _, l := range lines {
		r.Add(l)
	}
	type kv struct {
		k string
		n int
	}
	var s []kv
	for k, v := range r.leaves {
		s = append(s, kv{k, len(v)})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].n > s[j].n })
	fmt.Println("clusters", len(r.clusters), "leaves", len(r.leaves), "seen", len(r.seen))
	live := 0
	for _, c := range r.clusters {
		if c.parent == 0 {
			live++
		}
	}
	k := 0
	for _, c := range r.clusters {
		if c.parent == 0 && k < 3000 {
			k++
			if k%150 == 0 {
				fmt.Println(c.count, c.words)
			}
		}
	}
	fmt.Println("live", live, "signatures", len(r.Signatures()))
	for _, x := range s[:5] {
		fmt.Println(x.n, x.k)
	}
}
