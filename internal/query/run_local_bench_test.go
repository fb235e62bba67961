package query

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkIPTableCount counts a million addresses drawn, skewed, from
// 80,000 (the shape of count by src_ip over failed logins).
func BenchmarkIPTableCount(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	pool := make([]uint32, 80_000)
	for i := range pool {
		pool[i] = r.Uint32() | 1
	}
	addrs := make([]uint32, 1<<20)
	for i := range addrs {
		k := int(float64(len(pool)) * r.Float64() * r.Float64()) // skewed to the start
		addrs[i] = pool[k]
	}
	b.SetBytes(int64(len(addrs)))
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		var t ipTable
		for i := 0; i < len(addrs); i += 1000 {
			t.countEach(addrs[i:min(i+1000, len(addrs))])
		}
	}
}
