//go:build !linux

package sigma

import "time"

// processCPU is not measured on this platform (benchmarks then report wall
// time only).
func processCPU() time.Duration { return 0 }

// threadCPU falls back to the wall clock where thread CPU time is not read.
func threadCPU() time.Duration { return time.Duration(time.Now().UnixNano()) }
