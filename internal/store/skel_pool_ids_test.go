package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestReadIDs checks the inline one- and two-byte paths of readIDs
// against plain uvarint decoding, with ids of one, two and three bytes,
// and its errors on truncated, overlong and out-of-range input.
func TestReadIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for _, ns := range []int{3, 127, 128, 300, 16383, 16384, 40000} {
		sb := &skelBlock{skels: make([]string, ns)}
		rows := 2000
		want := make([]uint32, rows)
		var enc []byte
		for i := range want {
			want[i] = uint32(rng.IntN(ns + 1))
			enc = binary.AppendUvarint(enc, uint64(want[i]))
		}
		if err := sb.readIDs(string(enc), rows); err != nil {
			t.Fatalf("ns %d: %v", ns, err)
		}
		for i, w := range want {
			if sb.ids[i] != w {
				t.Fatalf("ns %d row %d: id %d, want %d", ns, i, sb.ids[i], w)
			}
		}
		// A non-minimal two-byte encoding reads as its value, as
		// binary.Uvarint does.
		if err := sb.readIDs("\x81\x00", 1); err != nil || sb.ids[0] != 1 {
			t.Fatalf("ns %d: overlong 1: id %d, %v", ns, sb.ids[0], err)
		}
	}
	sb := &skelBlock{skels: make([]string, 300)}
	for _, tc := range []struct {
		name, ids string
		rows      int
		err       string
	}{
		{"truncated two-byte id", "\x05\x81", 2, "skeleton"},
		{"missing rows", "\x05", 2, "skeleton"},
		{"trailing bytes", "\x05\x06\x07", 2, "trailing"},
		{"out of range", string(binary.AppendUvarint(nil, 301)), 1, "out of 300"},
		{"three-byte out of range", string(binary.AppendUvarint(nil, 1<<15)), 1, "out of 300"},
		{"endless varint", strings.Repeat("\xff", 12), 1, "skeleton"},
	} {
		err := sb.readIDs(tc.ids, tc.rows)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one with %q", tc.name, err, tc.err)
		}
	}
}

// pooledTestHead builds a pooled head of nskel skeletons and returns a
// slice for its entries (idx) and withList, which returns the table of
// that head with entry list list instead of its own.
func pooledTestHead(t *testing.T, rng *rand.Rand, nskel int) ([]uint32, func(list []byte) *headTable) {
	t.Helper()
	skels := make([]string, nskel)
	idx := make([]uint32, nskel)
	for i := range skels {
		skels[i] = fmt.Sprintf("skeleton %d \x01", i)
	}
	var ids []byte
	for range 1000 {
		ids = binary.AppendUvarint(ids, uint64(rng.IntN(nskel+1)))
	}
	head, ok := pooledHead(nil, skels, idx, ids, levelFast)
	if !ok {
		t.Fatal("no pooled head")
	}
	n, k := binary.Uvarint(head[2:])
	var ht headTable
	if err := ht.parse(head[2+k:], n); err != nil {
		t.Fatal(err)
	}
	return idx, func(list []byte) *headTable {
		t.Helper()
		re := appendRepooled(nil, &ht, list, encoders[levelFast].EncodeAll(list, nil))
		n, k := binary.Uvarint(re[2:])
		var h headTable
		if err := h.parse(re[2+k:], n); err != nil {
			t.Fatal(err)
		}
		return &h
	}
}

// TestPooledIndexes checks the inline one-, two- and three-byte paths of
// pooledIndexes against plain uvarint decoding, with pool entries of one
// to four bytes, and its errors on entry lists that are cut, too long,
// out of the pool's range or not varints.
func TestPooledIndexes(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 10))
	const nskel = 300
	idx, withList := pooledTestHead(t, rng, nskel)
	for _, top := range []int{100, 128, 16384, 1 << 21, poolMaxEntries} {
		list := binary.AppendUvarint(nil, nskel)
		for i := range idx {
			idx[i] = uint32(rng.IntN(top))
			if i < 4 {
				idx[i] = uint32(top - 1 - i) // the longest of this range
			}
			list = binary.AppendUvarint(list, uint64(idx[i]))
		}
		got, _, err := pooledIndexes(withList(list), nil, nil)
		if err != nil {
			t.Fatalf("entries below %d: %v", top, err)
		}
		if !slices.Equal(got, idx) {
			t.Fatalf("entries below %d: got %v, want %v", top, got[:8], idx[:8])
		}
	}
	list := func(n int, tail string) []byte {
		b := binary.AppendUvarint(nil, nskel)
		for range n {
			b = binary.AppendUvarint(b, 20000) // three bytes
		}
		return append(b, tail...)
	}
	for _, tc := range []struct {
		name string
		list []byte
		err  string
	}{
		{"cut three-byte entry", list(nskel-1, "\x81\x81"), "pool entry of skeleton 299"},
		{"missing entry", list(nskel-1, ""), "pool entry of skeleton 299"},
		{"trailing bytes", list(nskel, "\x05"), "1 bytes after"},
		{"past the pool", list(nskel-1, string(binary.AppendUvarint(nil, poolMaxEntries))), "pool entry of skeleton 299"},
		{"endless varint", list(nskel-1, strings.Repeat("\xff", 12)), "pool entry of skeleton 299"},
		{"count differs", binary.AppendUvarint(nil, nskel+1), "the table says 300"},
	} {
		_, _, err := pooledIndexes(withList(tc.list), nil, nil)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one with %q", tc.name, err, tc.err)
		}
	}
}
