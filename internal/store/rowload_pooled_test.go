package store

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestPooledIndexesTo checks pooledIndexesTo against pooledIndexes's
// prefix for entries of one to four bytes and every length, that it
// leaves the list past its n unread (damage there is not seen), and its
// errors on damage before n, a count that differs, and n past the
// skeletons.
func TestPooledIndexesTo(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	const nskel = 300
	idx, withList := pooledTestHead(t, rng, nskel)
	for _, top := range []int{100, 128, 16384, 1 << 21, poolMaxEntries} {
		list := binary.AppendUvarint(nil, nskel)
		for i := range idx {
			idx[i] = uint32(rng.IntN(top))
			list = binary.AppendUvarint(list, uint64(idx[i]))
		}
		h := withList(list)
		for _, n := range []int{0, 1, 2, 17, 128, nskel - 1, nskel} {
			got, _, err := pooledIndexesTo(h, nil, nil, n)
			if err != nil || !slices.Equal(got, idx[:n]) {
				t.Fatalf("entries below %d, to %d: %v, %v", top, n, got, err)
			}
		}
	}
	list := func(n int, tail string) []byte {
		b := binary.AppendUvarint(nil, nskel)
		for range n {
			b = binary.AppendUvarint(b, 20000) // three bytes
		}
		return append(b, tail...)
	}
	// Damage past n is not read.
	if got, _, err := pooledIndexesTo(withList(list(10, "\xff\xff")), nil, nil, 10); err != nil || len(got) != 10 || got[9] != 20000 {
		t.Errorf("damage past the entries read: %v, %v", got, err)
	}
	for _, tc := range []struct {
		name string
		list []byte
		n    int
		err  string
	}{
		{"cut three-byte entry", list(nskel-1, "\x81\x81"), nskel, "pool entry of skeleton 299"},
		{"missing entry", list(20, ""), 21, "pool entry of skeleton 20"},
		{"past the pool", list(5, string(binary.AppendUvarint(nil, poolMaxEntries))), 6, "pool entry of skeleton 5"},
		{"endless varint", list(5, strings.Repeat("\xff", 12)), 7, "pool entry of skeleton 5"},
		{"count differs", binary.AppendUvarint(nil, nskel+1), 1, "the table says 300"},
		{"past the skeletons", list(nskel, ""), nskel + 1, "skeleton 301 of 300"},
	} {
		_, _, err := pooledIndexesTo(withList(tc.list), nil, nil, tc.n)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one with %q", tc.name, err, tc.err)
		}
	}
}
