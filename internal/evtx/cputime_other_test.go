//go:build !linux

package evtx

import "time"

// processCPU is not measured on this platform (the benchmark then reports
// wall time only).
func processCPU() time.Duration { return 0 }
