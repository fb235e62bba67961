package sigma

import (
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strconv"
	"testing"
	"time"
)

// heapFigures reads the live heap after a collection: bytes, objects and
// the bytes the collector scans (pointer-holding spans).
func heapFigures() (live, objects, scan uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/objects:objects"}, {Name: "/gc/scan/heap:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64()
}

// gcMedian is the median CPU time of a forced collection.
func gcMedian(n int) time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		t0 := processCPU()
		runtime.GC()
		ds[i] = processCPU() - t0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[n/2]
}

// TestDiagEngineGC measures the compiled SigmaHQ engine's weight on the
// garbage collector (SIGMA_GC_DIAG=1): its live heap, objects and
// scannable bytes, and the CPU of a forced collection with the engine
// alive and dropped (GOMAXPROCS=1 for a stable figure). SIGMA_GC_PROF=file
// also writes a heap profile of what Compile allocated and keeps.
func TestDiagEngineGC(t *testing.T) {
	if os.Getenv("SIGMA_GC_DIAG") == "" {
		t.Skip("set SIGMA_GC_DIAG=1")
	}
	dirs := sigmaHQDirs(t)
	base := gcMedian(21)
	rs, _, err := LoadDir(dirs...)
	if err != nil {
		t.Fatal(err)
	}
	l0, o0, s0 := heapFigures()
	if os.Getenv("SIGMA_GC_PROF") != "" {
		runtime.MemProfileRate = 4096
	}
	slim := os.Getenv("SIGMA_GC_SLIM") == "1"
	e, _, err := Compile(rs.Rules, Options{SlimRules: slim})
	if err != nil {
		t.Fatal(err)
	}
	l1, o1, s1 := heapFigures()
	if p := os.Getenv("SIGMA_GC_PROF"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	t.Logf("rules parsed: live %d, objects %d, scan %d", l0, o0, s0)
	t.Logf("engine: live +%d, objects +%d, scan +%d", l1-l0, o1-o0, s1-s0)
	alive := gcMedian(21)
	runtime.KeepAlive(rs)
	rs = nil // the caller drops its parsed rules, keeps the engine
	l2, o2, s2 := heapFigures()
	t.Logf("slim %v: parsed rules dropped, engine alive: live %d, objects %d, scan %d", slim, l2, o2, s2)
	engOnly := gcMedian(21)
	runtime.KeepAlive(e)
	e = nil
	t.Logf("forced GC median CPU: nothing loaded %v, rules and engine alive %v, parsed rules dropped %v, all dropped %v",
		base, alive, engOnly, gcMedian(21))
}

// TestDiagEngineGCOnce compiles every SigmaHQ rule and forces
// SIGMA_GC_CYCLES collections with the engine alive (SIGMA_GC_KEEP=1) or
// dropped (0): under valgrind, the difference of the two runs' instruction
// counts over the cycles is the collector's work per cycle on the engine.
func TestDiagEngineGCOnce(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SIGMA_GC_CYCLES"))
	if n == 0 {
		t.Skip("set SIGMA_GC_CYCLES")
	}
	rs, _, err := LoadDir(sigmaHQDirs(t)...)
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := Compile(rs.Rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SIGMA_GC_KEEP") != "1" {
		e = nil
	}
	runtime.GC()
	for range n {
		runtime.GC()
	}
	runtime.KeepAlive(e)
	runtime.KeepAlive(rs)
}
