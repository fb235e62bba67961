package store

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// refDeltas is decodeDeltas written plainly (encoding/binary's varints):
// the running sums, or false when body runs out or a varint is bad.
func refDeltas(body []byte, n int) ([]int64, int, bool) {
	out := make([]int64, n)
	off := 0
	var prev int64
	for i := range out {
		x, k := binary.Varint(body[off:])
		if k <= 0 {
			return nil, 0, false
		}
		off += k
		prev += x
		out[i] = prev
	}
	return out, off, true
}

// TestDecodeDeltas checks the word-at-a-time varints against encoding/binary
// on deltas of every size, and truncated bodies.
func TestDecodeDeltas(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for round := range 300 {
		n := rng.IntN(200)
		var body []byte
		for range n {
			var d int64
			switch rng.IntN(5) {
			case 0:
				d = int64(rng.IntN(100)) - 50
			case 1:
				d = rng.Int64N(1 << 40)
			case 2:
				d = -rng.Int64N(1 << 56)
			case 3:
				d = []int64{math.MaxInt64, math.MinInt64, 1 << 55, -1 << 55, 1 << 62}[rng.IntN(5)]
			default:
				d = rng.Int64() >> rng.IntN(63)
			}
			body = binary.AppendVarint(body, d)
		}
		cut := len(body)
		if round%3 == 0 && cut > 0 {
			cut = rng.IntN(cut)
		}
		checkDeltas(t, body[:cut], n)
	}
}

func checkDeltas(t *testing.T, body []byte, n int) {
	t.Helper()
	want, wantOff, ok := refDeltas(body, n)
	got := make([]int64, n)
	off, err := decodeDeltas(string(body), got)
	if !ok {
		if err == nil {
			t.Fatalf("%x (%d values): no error", body, n)
		}
		return
	}
	if err != nil || off != wantOff {
		t.Fatalf("%x (%d values): %d bytes, %v; want %d", body, n, off, err, wantOff)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%x: value %d = %d, want %d", body, i, got[i], want[i])
		}
	}
}

// FuzzDecodeDeltas compares decodeDeltas with encoding/binary on
// arbitrary bytes: the same values, or an error where binary fails.
func FuzzDecodeDeltas(f *testing.F) {
	f.Add([]byte{0x02, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, uint8(3))
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}, uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, n uint8) {
		checkDeltas(t, body, int(n))
	})
}

// BenchmarkDecodeDeltas decodes a block's times: deltas of microseconds
// to seconds (zig-zag varints of two to five bytes), per row.
func BenchmarkDecodeDeltas(b *testing.B) {
	rng := rand.New(rand.NewPCG(15, 16))
	const rows = 8192
	var body []byte
	for range rows {
		body = binary.AppendVarint(body, rng.Int64N(2e9)-1e8)
	}
	s := string(body)
	dst := make([]int64, rows)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := decodeDeltas(s, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*rows), "cpu-ns/row")
}
