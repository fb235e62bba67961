package sigma

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// TestDiagHuntSpeed measures flattening plus Match with every Windows rule
// of SigmaHQ in thread CPU time per event, the fastest and the median of a
// few passes (set SIGMA_DIAG=1; a steadier figure than a benchmark on a
// busy machine). It runs over the dev events (40 passes per round) and,
// when SIGMA_SCENARIO is set, the scenario's Winlogbeat events.
func TestDiagHuntSpeed(t *testing.T) {
	if os.Getenv("SIGMA_DIAG") == "" {
		t.Skip("set SIGMA_DIAG=1")
	}
	e := loadWindowsEngine(t)
	sets := map[string][]string{"dev": loadDevLines(t)}
	if dir := os.Getenv("SIGMA_SCENARIO"); dir != "" {
		sets["winlogbeat"] = scenarioWinlogbeat(t, dir)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, name := range []string{"dev", "winlogbeat"} {
		lines := sets[name]
		if lines == nil {
			continue
		}
		reps := 1
		if name == "dev" {
			reps = 40
		}
		var fl jsonFlattener
		fl.bind(e)
		var fields []event.Field
		var per []time.Duration
		matches := 0
		for round := 0; round < 7; round++ {
			n := 0
			runtime.GC()
			t0 := threadCPU()
			for k := 0; k < reps; k++ {
				for _, l := range lines {
					var err error
					if fields, err = fl.flatten(l, fields); err != nil {
						t.Fatal(err)
					}
					ev := event.Event{Fields: fields}
					e.matchSlots(&ev, &fl.slots, func(Match) { n++ })
				}
			}
			per = append(per, (threadCPU()-t0)/time.Duration(reps*len(lines)))
			matches = n
		}
		slices.Sort(per)
		t.Logf("%s: %d events per pass, %d matches; thread CPU per event: min %v median %v (passes %v)",
			name, reps*len(lines), matches, per[0], per[len(per)/2], per)
	}
}

// TestDiagHuntOnce flattens and matches the first SIGMA_DIAG_ONCE events
// once (the scenario's Winlogbeat events with SIGMA_SCENARIO, else the dev
// events cycled), for instruction counts: run it under valgrind
// (cachegrind, GOGC=off) with N and with 0 events, and the difference over
// N is the cost per event without the rule loading.
func TestDiagHuntOnce(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("SIGMA_DIAG_ONCE"))
	if err != nil {
		t.Skip("set SIGMA_DIAG_ONCE to a number of events")
	}
	e := loadWindowsEngine(t)
	src := loadDevLines(t)
	if dir := os.Getenv("SIGMA_SCENARIO"); dir != "" {
		src = scenarioWinlogbeat(t, dir)
	}
	var fl jsonFlattener
	fl.bind(e)
	var fields []event.Field
	matches := 0
	for i := 0; i < n; i++ {
		line := src[i%len(src)]
		if fields, err = fl.flatten(line, fields); err != nil {
			t.Fatal(err)
		}
		ev := event.Event{Fields: fields}
		e.matchSlots(&ev, &fl.slots, func(Match) { matches++ })
	}
	t.Logf("%d events, %d matches", n, matches)
}
