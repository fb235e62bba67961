package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestStoredBarelyCompressible checks that a body zstd shrinks by less
// than 1/storeShare is stored uncompressed and one it shrinks more is
// compressed, and that both decode to the body.
func TestStoredBarelyCompressible(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	vals := make([]string, 4000)
	for i := range vals {
		// Scattered addresses: ipv4 planes zstd barely shrinks.
		vals[i] = fmt.Sprintf("%d.%d.%d.%d", 1+rng.IntN(223), rng.IntN(256), rng.IntN(256), rng.IntN(256))
	}
	few := make([]string, 4000)
	for i := range few {
		few[i] = fmt.Sprintf("10.0.%d.%d", i%3, i%5+rng.IntN(2))
	}
	for _, tc := range []struct {
		name  string
		vals  []string
		codec byte
	}{{"scattered", vals, codecNone}, {"repeated", few, codecZstd}} {
		ch := encodeColumn(nil, tc.vals, nil, levelBetter)
		if ch[0] != kindIPv4 && tc.codec == codecNone {
			t.Fatalf("%s: kind %d, want ipv4", tc.name, ch[0])
		}
		if ch[1] != tc.codec && ch[1] != codecPacked {
			t.Errorf("%s: codec %d, want %d", tc.name, ch[1], tc.codec)
		}
		got, _, err := decodeColumn(ch, len(tc.vals))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range tc.vals {
			if got[i] != v {
				t.Fatalf("%s row %d: %q, want %q", tc.name, i, got[i], v)
			}
		}
	}
}

// TestSkipVarints checks skipVarints against reading the varints one by
// one, on codes of one to three bytes and on bodies that end early.
func TestSkipVarints(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for range 200 {
		var b []byte
		var starts []int
		for range rng.IntN(300) {
			starts = append(starts, len(b))
			b = binary.AppendUvarint(b, uint64(rng.IntN([]int{100, 300, 70000}[rng.IntN(3)])))
		}
		starts = append(starts, len(b))
		body := string(b)
		for range 20 {
			from := rng.IntN(len(starts))
			n := rng.IntN(len(starts) - from + 2)
			pos, ok := skipVarints(body, starts[from], n)
			if want := from + n; want < len(starts) {
				if !ok || pos != starts[want] {
					t.Fatalf("skip %d from varint %d: %d %v, want %d", n, from, pos, ok, starts[want])
				}
			} else if want > len(starts)-1 && ok {
				t.Fatalf("skip %d from varint %d of %d: ok past the end", n, from, len(starts)-1)
			}
		}
	}
}

// TestDecodeDeltasLong checks decodeDeltas (the int and time decoder of
// row loads) against binary.Varint on deltas of every width, long ones
// (a block's first time) anywhere, and on bodies cut short.
func TestDecodeDeltasLong(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for range 300 {
		n := rng.IntN(200)
		var body []byte
		want := make([]int64, n)
		var prev int64
		for i := range want {
			d := rng.Int64N(1 << (1 + rng.IntN(62)))
			if rng.IntN(2) == 0 {
				d = -d
			}
			body = binary.AppendVarint(body, d)
			prev += d
			want[i] = prev
		}
		got := make([]int64, n)
		off, err := decodeDeltas(string(body), got)
		if err != nil || off != len(body) {
			t.Fatalf("%d deltas: read %d of %d bytes, %v", n, off, len(body), err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("value %d: %d, want %d", i, got[i], want[i])
			}
		}
		if n > 0 {
			if _, err := decodeDeltas(string(body[:len(body)-1]), got); err == nil {
				t.Fatalf("%d deltas cut short: no error", n)
			}
		}
	}
}
