package store

import (
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"testing"
)

// refReadIDs is readIDs the plain way (binary.Uvarint), with its checks.
func refReadIDs(ids string, rows int, ns uint64) ([]uint32, bool) {
	b := []byte(ids)
	out := make([]uint32, rows)
	off := 0
	for i := range out {
		v, k := binary.Uvarint(b[off:])
		if k <= 0 || v > ns {
			return nil, false
		}
		out[i], off = uint32(v), off+k
	}
	return out, off == len(b)
}

// checkReadIDs compares readIDs with refReadIDs.
func checkReadIDs(t *testing.T, ids string, rows, ns int) {
	t.Helper()
	sb := &skelBlock{skels: make([]string, ns)}
	want, ok := refReadIDs(ids, rows, uint64(ns))
	err := sb.readIDs(ids, rows)
	if (err == nil) != ok {
		t.Fatalf("ns %d rows %d %q: error %v, plain decoding ok %v", ns, rows, ids, err, ok)
	}
	if err != nil {
		return
	}
	for i, w := range want {
		if sb.ids[i] != w {
			t.Fatalf("ns %d rows %d: row %d id %d, want %d", ns, rows, i, sb.ids[i], w)
		}
	}
}

// TestReadIDsWords checks readIDs's eight-at-a-time path (words of one-byte
// ids, blocks of 127 skeletons or more) against plain decoding: ids mostly
// of one byte with runs broken by two- and three-byte ones at every place
// of a word, row counts that are no multiple of eight, and cut input.
func TestReadIDsWords(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 17))
	for round := range 400 {
		ns := []int{100, 126, 127, 128, 300, 20000}[round%6]
		rows := rng.IntN(70)
		var enc []byte
		for range rows {
			id := rng.IntN(min(ns, 127) + 1)
			switch rng.IntN(12) {
			case 0:
				id = rng.IntN(ns + 1)
			case 1:
				id = ns + 1 // out of range (one byte when ns < 127)
			}
			if rng.IntN(200) == 0 && ns > 128 {
				enc = append(enc, byte(id)|0x80, 0) // overlong: binary.Uvarint reads it
				continue
			}
			enc = binary.AppendUvarint(enc, uint64(id))
		}
		checkReadIDs(t, string(enc), rows, ns)
		checkReadIDs(t, string(enc), rows+1, ns)
		if rows > 0 {
			checkReadIDs(t, string(enc), rows-1, ns)
			checkReadIDs(t, string(enc[:rng.IntN(len(enc))]), rows, ns)
		}
	}
}

func FuzzReadIDs(f *testing.F) {
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x81\x01\x0a"), uint16(12), uint16(300))
	f.Add([]byte("\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f"), uint16(8), uint16(127))
	f.Fuzz(func(t *testing.T, b []byte, rows, ns uint16) {
		checkReadIDs(t, string(b), int(rows%4096), int(ns))
	})
}

// TestPoolFrameOf checks frameOf's bucket table against a search of the
// frames' ends, for every entry of random frame layouts (frames of one
// entry to several buckets, the last bucket partly filled).
func TestPoolFrameOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	for round := range 200 {
		nf := 1 + rng.IntN(40)
		ends := make([]int, nf)
		total := 0
		for f := range ends {
			switch rng.IntN(3) {
			case 0:
				total++
			case 1:
				total += 1 + rng.IntN(70)
			default:
				total += 1 + rng.IntN(700)
			}
			ends[f] = total
		}
		sp := &partPool{ends: ends, first: poolBuckets(ends)}
		for i := range total {
			f, k := sp.frameOf(uint32(i))
			wf := sort.SearchInts(ends, i+1)
			wk := i
			if wf > 0 {
				wk = i - ends[wf-1]
			}
			if f != wf || k != wk {
				t.Fatalf("round %d entry %d: frame %d pos %d, want %d %d", round, i, f, k, wf, wk)
			}
		}
	}
}
