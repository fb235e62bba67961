package logreduce

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user+system) of the process so far, so
// benchmarks can report CPU per operation on a busy machine.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
