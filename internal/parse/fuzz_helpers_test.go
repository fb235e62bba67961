package parse

import (
	"syscall"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// checkParse runs p on in and on prefixes of it cut at several offsets,
// checking the invariants every parser keeps on any input: no panic, an
// error with a message, Raw equal to the input, and named fields.
func checkParse(t *testing.T, p Parser, in []byte) {
	t.Helper()
	cuts := []int{len(in), len(in) / 2, len(in) / 3, len(in) - 1, 7}
	for _, n := range cuts {
		if n < 0 || n > len(in) {
			continue
		}
		line := in[:n]
		var ev event.Event
		err := p.Parse(line, &ev)
		if err != nil && err.Error() == "" {
			t.Fatalf("%s.Parse(%q): empty error message", p.Name(), line)
		}
		if ev.Raw != string(line) {
			t.Fatalf("%s.Parse(%q): Raw = %q", p.Name(), line, ev.Raw)
		}
		for _, f := range ev.Fields {
			if f.Name == "" {
				t.Fatalf("%s.Parse(%q): field with empty name (value %q)", p.Name(), line, f.Value)
			}
			if k, typed := typedECS[f.Name]; typed && !validECS(f.Value, k) {
				t.Fatalf("%s.Parse(%q): %s=%q is not a valid %s", p.Name(), line, f.Name, f.Value, kindNames[k])
			}
		}
		if d := duplicateECS(&ev); d != "" {
			t.Fatalf("%s.Parse(%q): ECS field %s twice", p.Name(), line, d)
		}
	}
}

// fuzzParser is the shared body of the per-format fuzz tests.
func fuzzParser(f *testing.F, name string, seeds ...string) {
	p, ok := Lookup(name)
	if !ok {
		f.Fatalf("no parser %q", name)
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkParse(t, p, in) })
}

// benchParser measures p over lines.
func benchParser(b *testing.B, p Parser, lines []string) {
	b.Helper()
	bs := make([][]byte, len(lines))
	total := 0
	for i, l := range lines {
		bs[i] = []byte(l)
		total += len(l)
	}
	var ev event.Event
	for _, l := range bs {
		ev = event.Event{Fields: ev.Fields[:0]}
		if err := p.Parse(l, &ev); err != nil {
			b.Fatalf("%s.Parse(%q): %v", p.Name(), l, err)
		}
	}
	b.SetBytes(int64(total / len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for i := 0; i < b.N; i++ {
		ev = event.Event{Fields: ev.Fields[:0]}
		if err := p.Parse(bs[i%len(bs)], &ev); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// CPU time (user+system, GC included) per line and the MB/s it gives:
	// wall time is meaningless on the shared, busy machine.
	cpu := cpuTime(b) - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if cpu > 0 {
		b.ReportMetric(float64(total/len(lines))*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
}

// cpuTime returns the CPU time (user+system) of the process so far.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// typedECS are ECS names whose values must be IPs or integers, whoever
// adds them.
var typedECS = map[string]ecsKind{
	"source.ip": ecsIP, "destination.ip": ecsIP, "source.nat.ip": ecsIP, "destination.nat.ip": ecsIP, "observer.ip": ecsIP,
	"source.port": ecsInt, "destination.port": ecsInt, "process.pid": ecsInt, "process.parent.pid": ecsInt,
	"http.response.status_code": ecsInt,
}
