package store

import (
	"encoding/binary"
	"math/rand/v2"
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
