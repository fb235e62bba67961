package detect

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

// gcHeap reads the live heap after a collection: bytes, objects and the
// bytes the collector scans (pointer-holding spans).
func gcHeap() (live, objects, scan uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/objects:objects"}, {Name: "/gc/scan/heap:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64()
}

// gcCPUMedian is the median CPU time of a forced collection.
func gcCPUMedian(n int) time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		t0 := processCPU()
		runtime.GC()
		ds[i] = processCPU() - t0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[n/2]
}

// TestDiagDetectorGC measures an open detector's weight on the garbage
// collector (DETECT_GC_DIAG=1; GOMAXPROCS=1 for a steady figure): the
// live heap, objects and scannable bytes it keeps with every SigmaHQ rule
// and the content pack loaded, and the CPU of a forced collection with
// the detector alive and dropped. DETECT_GC_PROF=file also writes a heap
// profile of what the detector keeps.
func TestDiagDetectorGC(t *testing.T) {
	if os.Getenv("DETECT_GC_DIAG") == "" {
		t.Skip("set DETECT_GC_DIAG=1")
	}
	l0, o0, s0 := gcHeap()
	if os.Getenv("DETECT_GC_PROF") != "" {
		runtime.MemProfileRate = 1
	}
	d := openSigmaHQDetector(t)
	l1, o1, s1 := gcHeap()
	if p := os.Getenv("DETECT_GC_PROF"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
		runtime.MemProfileRate = 512 * 1024
	}
	alive := gcCPUMedian(21)
	runtime.KeepAlive(d)
	d = nil
	l2, o2, s2 := gcHeap()
	dropped := gcCPUMedian(21)
	t.Logf("detector: live +%d, objects +%d, scan +%d (before %d/%d/%d, dropped %d/%d/%d)", l1-l0, o1-o0, s1-s0, l0, o0, s0, l2, o2, s2)
	t.Logf("forced GC median CPU: detector alive %v, dropped %v", alive, dropped)
}

// TestDiagDetectorGCOnce opens the detector (every SigmaHQ rule and the
// content pack) and runs DETECT_GC_CYCLES forced collections, for an
// instruction count under cachegrind: (cycles N - cycles 0) / N is the
// collector's work per cycle with the detector alive.
func TestDiagDetectorGCOnce(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("DETECT_GC_CYCLES"))
	if err != nil {
		t.Skip("set DETECT_GC_CYCLES=N")
	}
	d := openSigmaHQDetector(t)
	runtime.GC()
	for range n {
		runtime.GC()
	}
	runtime.KeepAlive(d)
}

// TestDiagQueueGC runs a miniature of a server's live detection in
// process (DETECT_QUEUE_DIAG=bound in bytes; SIGMA_SCENARIO for the
// events): each scenario body is decoded as ingest decodes it and queued
// in a LiveQueue of that bound, and detection (every SigmaHQ rule and the
// content pack) takes batches from the queue only once it is full, so the
// queue stays near its bound as on a server whose detection lags ingest.
// Each body also allocates DETECT_QUEUE_GARBAGE bytes an event (default
// 20,000: about what a server allocates per event of the scenario, from
// its gctrace) that die at once, for the server's rate of collections.
// It logs the process CPU per event and the collector's cycles (run with
// GOGC=off for the CPU without collection); the rules load before the
// measured part.
func TestDiagQueueGC(t *testing.T) {
	bound, err := strconv.ParseInt(os.Getenv("DETECT_QUEUE_DIAG"), 10, 64)
	if err != nil {
		t.Skip("set DETECT_QUEUE_DIAG=bytes")
	}
	garbage := 20_000
	if v := os.Getenv("DETECT_QUEUE_GARBAGE"); v != "" {
		if garbage, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	bodies := liveBodies(t)
	d := openSigmaHQDetector(t)
	q := NewLiveQueue(bound, 0)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gc0, cpu0 := ms.NumGC, processCPU()
	events, signals := 0, 0
	take := func() {
		b := <-q.Batches()
		for rest := b.Events(); len(rest) > 0; {
			n := min(len(rest), detectChunk)
			signals += len(d.Detect(rest[:n]))
			rest = rest[n:]
		}
		q.Done(b)
	}
	for i := range bodies {
		evs := bodies[i].events(t, func() int64 { return 1 })
		bodies[i].data = nil
		for range evs {
			diagSink = make([]byte, garbage)
		}
		events += len(evs)
		for st := q.Stats(); st.Batches > 0 && st.QueuedBytes+batchBytes(evs) > bound; st = q.Stats() {
			take()
		}
		q.Offer(evs)
	}
	for q.Stats().Batches > 0 {
		take()
	}
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&ms)
	if st := q.Stats(); st.Gaps != 0 {
		t.Fatalf("the queue opened %d gaps", st.Gaps)
	}
	t.Logf("bound %d: %d events, %d signals, %.2f µs/event, %d collections", bound, events, signals,
		float64(cpu.Microseconds())/float64(events), ms.NumGC-gc0)
}

var diagSink []byte

// TestDiagRuleSwitchCPU logs the process CPU of opening the detector
// (every SigmaHQ rule and the content pack) and of turning a rule off and
// on again (DETECT_SWITCH_DIAG=1).
func TestDiagRuleSwitchCPU(t *testing.T) {
	if os.Getenv("DETECT_SWITCH_DIAG") == "" {
		t.Skip("set DETECT_SWITCH_DIAG=1")
	}
	c0 := processCPU()
	d := openSigmaHQDetector(t)
	c1 := processCPU()
	id := d.Rules()[0].ID
	for _, on := range []bool{false, true} {
		if err := d.SetEnabled(id, on); err != nil {
			t.Fatal(err)
		}
	}
	c2 := processCPU()
	t.Logf("open %v, switch (mean of 2) %v", c1-c0, (c2-c1)/2)
}
