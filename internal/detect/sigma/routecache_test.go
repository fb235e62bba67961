package sigma

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// loadAllEngine compiles every SigmaHQ rule folder (as live detection
// loads them) and the content pack.
func loadAllEngine(tb testing.TB) *Engine {
	tb.Helper()
	dirs := sigmaHQDirs(tb)
	if _, err := os.Stat("../../../content/rules"); err == nil {
		dirs = append(dirs, "../../../content/rules")
	}
	rs, _, err := LoadDir(dirs...)
	if err != nil {
		tb.Fatal(err)
	}
	e, _, err := Compile(rs.Rules, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// mixedEvents returns the dev events and, with SIGMA_SCENARIO, the
// scenario's events, interleaved across sources (the shapes alternate), and
// a few made-up events with unusual routing values.
func mixedEvents(tb testing.TB) []event.Event {
	tb.Helper()
	var srcs [][]event.Event
	var fl jsonFlattener
	var dev []event.Event
	for n, l := range loadDevLines(tb) {
		fs, err := fl.flatten(l, nil)
		if err != nil {
			tb.Fatalf("dev line %d: %v", n+1, err)
		}
		dev = append(dev, event.Event{Fields: slices.Clone(fs), Source: "dev"})
	}
	srcs = append(srcs, dev)
	if os.Getenv("SIGMA_SCENARIO") != "" {
		files := loadScenario(tb)
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			srcs = append(srcs, files[name])
		}
	}
	var out []event.Event
	for i := 0; ; i++ {
		added := false
		for _, s := range srcs {
			if i < len(s) {
				out = append(out, s[i])
				added = true
			}
		}
		if !added {
			break
		}
	}
	long := strings.Repeat("Microsoft-Windows-Sysmon/Operational", 20)
	out = append(out,
		event.Event{Fields: []event.Field{{Name: "Channel", Value: long}, {Name: "EventID", Value: "1"}}},
		event.Event{Fields: []event.Field{{Name: "Channel", Value: ""}, {Name: "EventID", Value: "4688"}}},
		event.Event{Fields: []event.Field{{Name: "channel", Value: "SECURITY"}, {Name: "EventID", Value: "4688"}}},
		event.Event{Fields: []event.Field{{Name: "EventID", Value: "4688"}}},
		event.Event{},
	)
	return out
}

// TestRouteCacheSameAlternatives checks that cached routing gives the same
// alternatives as routing every event, on every dev and scenario event
// (twice: the second pass is mostly hits).
func TestRouteCacheSameAlternatives(t *testing.T) {
	e := loadAllEngine(t)
	for k, spec := range e.routeKeys {
		var names []string
		for i, s := range spec.slots {
			n := e.slots[s]
			if spec.value[i] {
				n += "="
			}
			names = append(names, n)
		}
		t.Logf("key %d: %d slots (= value in the key): %v", k, len(names), names)
	}
	vol := 0
	for _, v := range e.volatileAlt {
		if v {
			vol++
		}
	}
	t.Logf("%d of %d alternatives volatile", vol, len(e.alts))
	evs := mixedEvents(t)
	plain, cached := e.newState(), e.newState()
	lookups := 0
	bySrc := map[string][2]int{} // source -> events, misses
	for pass := 0; pass < 2; pass++ {
		for i := range evs {
			ev := &evs[i]
			e.load(plain, ev)
			e.route(plain)
			e.load(cached, ev)
			n0 := len(cached.routes)
			e.routeCached(cached)
			lookups++
			c := bySrc[ev.Source]
			c[0]++
			if len(cached.routes) != n0 {
				c[1]++
			}
			bySrc[ev.Source] = c
			// Volatile alternatives come last on a hit: compare sets.
			slices.Sort(plain.altList)
			slices.Sort(cached.altList)
			if !slices.Equal(plain.altList, cached.altList) {
				t.Fatalf("pass %d event %d: cached alternatives %v, want %v", pass, i, cached.altList, plain.altList)
			}
			for id := range e.alts {
				if (plain.altOK[id] == plain.gen) != (cached.altOK[id] == cached.gen) {
					t.Fatalf("pass %d event %d: alternative %d differs", pass, i, id)
				}
			}
		}
	}
	if len(cached.routes) == 0 || len(cached.routes) >= lookups/2 {
		t.Errorf("%d cache entries for %d lookups: the cache is not exercised", len(cached.routes), lookups)
	}
	t.Logf("%d events, %d cache entries, per source [events misses]: %v", len(evs), len(cached.routes), bySrc)
}

// BenchmarkRoute measures loading and routing one event, with and without
// the routing cache, per scenario source (SIGMA_SCENARIO) and on the dev
// events; "pack" is the mixed events with the content pack's rules only.
// One op is one event.
func BenchmarkRoute(b *testing.B) {
	all := loadAllEngine(b)
	rs, _, err := LoadDir("../../../content/rules")
	if err != nil {
		b.Fatal(err)
	}
	pack, _, err := Compile(rs.Rules, Options{})
	if err != nil {
		b.Fatal(err)
	}
	srcs := map[string][]event.Event{}
	if os.Getenv("SIGMA_SCENARIO") != "" {
		srcs = loadScenario(b)
	}
	srcs["mixed"] = mixedEvents(b)
	srcs["pack"] = srcs["mixed"]
	names := make([]string, 0, len(srcs))
	for name := range srcs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		evs := srcs[name]
		for _, cached := range []bool{false, true} {
			e, rules := all, "all"
			if name == "pack" {
				e, rules = pack, "content-pack"
			}
			b.Run(fmt.Sprintf("%s/%s/cached=%v", rules, name, cached), func(b *testing.B) {
				st := e.newState()
				c0 := threadCPU()
				i := 0
				for b.Loop() {
					e.load(st, &evs[i%len(evs)])
					if cached {
						e.routeCached(st)
					} else {
						e.route(st)
					}
					i++
				}
				b.ReportMetric(float64((threadCPU()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
