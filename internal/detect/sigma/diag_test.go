package sigma

import (
	"os"
	"runtime"
	"sort"
	"strings"
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
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
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
		// One cold evaluation, as in Match, less the clock's own cost.
		timeIt := func(r int32, n node) {
			t0 := threadCPU()
			t1 := threadCPU()
			n.eval(st)
			cost[r] += max(threadCPU()-t1-(t1-t0), 0)
			evals[r]++
		}
		e.route(st)
		for _, id := range st.altList {
			a := e.alts[id]
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

// TestDiagPhases splits Match's CPU time into its phases on the dev events
// (set SIGMA_DIAG=1): each pass runs one more phase, and the differences of
// the passes' thread CPU times are the phases' costs.
func TestDiagPhases(t *testing.T) {
	if os.Getenv("SIGMA_DIAG") == "" {
		t.Skip("set SIGMA_DIAG=1")
	}
	e := loadWindowsEngine(t)
	lines := loadDevLines(t)
	if f := os.Getenv("SIGMA_DIAG_LINES"); f != "" {
		// Another JSON-lines file (the first 20,000 lines).
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		lines = lines[:min(len(lines), 20000)]
	}
	evs := make([]event.Event, len(lines))
	for i, l := range lines {
		var fl jsonFlattener // values live until the next call: one per kept line
		fields, _ := fl.flatten(l, nil)
		evs[i] = event.Event{Fields: fields}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	reps := max(1, 10000/len(evs))
	var nPlain, nCand int
	pass := func(phases int) time.Duration {
		t0 := threadCPU()
		for k := 0; k < reps; k++ {
			for i := range evs {
				st := e.pool.Get().(*state)
				e.load(st, &evs[i])
				if phases > 1 {
					e.route(st)
				}
				if phases > 2 && len(st.altList) > 0 {
					e.scan(st)
				}
				if phases > 3 {
					for _, id := range st.altList {
						for _, ar := range e.alts[id].rules {
							ar.cond.eval(st)
							nPlain++
						}
					}
				}
				for rep := 4; rep < phases; rep++ {
					for _, r := range st.candList {
						for _, ar := range e.rules[r].alts {
							if st.altOK[ar.alt] == st.gen {
								ar.cond.eval(st)
								nCand++
							}
						}
					}
				}
				st.ev = nil
				e.pool.Put(st)
			}
		}
		return (threadCPU() - t0) / time.Duration(reps*len(evs))
	}
	// The machine is noisy: keep the fastest of a few rounds per pass.
	var d [7]time.Duration
	for round := 0; round < 3; round++ {
		for p := 1; p <= 6; p++ {
			if c := pass(p); round == 0 || c < d[p] {
				d[p] = c
			}
		}
	}
	t.Logf("CPU per event: load %v route %v scan %v plain %v cand %v (total %v); cand again %v",
		d[1], d[2]-d[1], d[3]-d[2], d[4]-d[3], d[5]-d[4], d[5], d[6]-d[5])
	n := reps * len(evs)
	t.Logf("per event: %d plain evals, %d candidate evals", nPlain/(9*n), nCand/(9*n))
}
