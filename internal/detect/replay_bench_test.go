package detect

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
)

// processCPU returns the user+system CPU time of the process (the machine
// is shared, so wall time is noisy).
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // cannot fail for RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReplay replays 50,000 stored events (half received after the
// snapshot) through the content pack's stateful rules: the restart cost.
func BenchmarkReplay(b *testing.B) {
	rules, _, errs := LoadStatefulDir("../../content/rules")
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	const n = 50_000
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = ev(time.Duration(i)*time.Second, "host=bastion", "event.action=ssh_login", "event.outcome=success",
			fmt.Sprintf("user.name=u%d", i%300), fmt.Sprintf("source.ip=10.30.0.%d", i%50))
		evs[i].Received = int64(i + 1)
	}
	src := query.NewMemSource(evs, query.MemOptions{})
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		d, err := Open(Options{SuppressFor: -1})
		if err != nil {
			b.Fatal(err)
		}
		d.st.SetRules(rules)
		d.st.mark, d.st.markOK = n/2, true
		c0 := processCPU()
		b.StartTimer()
		rs, err := d.Replay(context.Background(), src, func(context.Context, []Signal) error { return nil }, ReplayOptions{})
		b.StopTimer()
		cpu += processCPU() - c0
		if err != nil || rs.Events != n/2 {
			b.Fatalf("Replay = %+v, %v", rs, err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/(n/2), "cpu-ns/event")
}
