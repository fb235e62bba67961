package sigma

import (
	"sort"
	"testing"
)

func TestDiagAnchors(t *testing.T) {
	e := loadWindowsEngine(t)
	lines := loadDevLines(t)
	var fl jsonFlattener
	m := e.ac
	cnt := map[string]int{}
	for _, l := range lines[:100] {
		fs, _ := fl.flatten(l, nil)
		for _, f := range fs {
			text := toLower(f.Value)
			var v uint32
			for i := 0; i < len(text); i++ {
				v = v<<8 | uint32(text[i])
				for k := 2; k <= 4; k++ {
					if i < k-1 || m.bits[k] == nil {
						continue
					}
					w := v
					if k < 4 {
						w &= 1<<(8*k) - 1
					}
					if ids, ok := m.tab[k][w]; ok {
						cnt[text[i-k+1:i+1]] += len(ids)
					}
				}
			}
		}
	}
	type kv struct {
		k string
		v int
	}
	var xs []kv
	tot := 0
	for k, v := range cnt {
		xs = append(xs, kv{k, v})
		tot += v
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].v > xs[j].v })
	for _, x := range xs[:30] {
		t.Logf("%q %d", x.k, x.v)
	}
	t.Logf("total verifications per event %d", tot/100)
}
