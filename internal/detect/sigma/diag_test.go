package sigma

import (
	"os"
	"sort"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// TestDiagRuleCost lists the rules that cost the most evaluation time on
// the dev events (set SIGMA_DIAG=1).
func TestDiagRuleCost(t *testing.T) {
	if os.Getenv("SIGMA_DIAG") == "" {
		t.Skip("set SIGMA_DIAG=1")
	}
	e := loadWindowsEngine(t)
	lines := loadDevLines(t)
	var fl jsonFlattener
	cost := map[int32]time.Duration{}
	evals := map[int32]int{}
	for _, l := range lines {
		fields, _ := fl.flatten(l, nil)
		ev := event.Event{Fields: fields}
		st := e.pool.Get().(*state)
		e.load(st, &ev)
		e.Match(&ev, func(Match) {})
		e.load(st, &ev)
		timeIt := func(r int32, n node) {
			t0 := time.Now()
			for k := 0; k < 10; k++ {
				n.eval(st)
			}
			cost[r] += time.Since(t0) / 10
			evals[r]++
		}
		var alts []int32
		if _, ok := st.value(e.chanSlot); ok {
			alts = append(alts, e.byChan[st.lower(e.chanSlot)]...)
		}
		alts = append(alts, e.generic...)
		for _, id := range alts {
			a := e.alts[id]
			if a.cond != nil && !a.cond.eval(st) {
				continue
			}
			st.altOK[id] = st.gen
			for _, ar := range a.rules {
				timeIt(ar.rule, ar.cond)
			}
		}
		e.scan(st)
		for _, r := range st.candList {
			for _, ar := range e.rules[r].alts {
				if st.altOK[ar.alt] == st.gen {
					timeIt(r, ar.cond)
				}
			}
		}
		e.pool.Put(st)
	}
	type kv struct {
		k int32
		v time.Duration
	}
	var ph []kv
	var sum time.Duration
	for k, v := range cost {
		ph = append(ph, kv{k, v})
		sum += v
	}
	sort.Slice(ph, func(i, j int) bool { return ph[i].v > ph[j].v })
	for _, x := range ph[:min(25, len(ph))] {
		r := e.rules[x.k]
		t.Logf("%8v %4d evals prefilter=%v %s", x.v, evals[x.k], r.prefilter, r.rule.Path)
	}
	t.Logf("eval time per event %v", sum/time.Duration(len(lines)))
}
