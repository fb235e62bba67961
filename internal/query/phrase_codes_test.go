package query

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// codesRef reads b as uvarints the way binary.Uvarint does: the codes
// and, per code, whether it was read cleanly (fits 64 bits).
func codesRef(b []byte) (codes []uint64, ok []bool) {
	for len(b) > 0 {
		c, n := binary.Uvarint(b)
		if n == 0 {
			break
		}
		if n < 0 {
			// Overflow: skip to the end of the run.
			n = 0
			for n < len(b) && b[n] >= 0x80 {
				n++
			}
			n++
			codes, ok = append(codes, 0), append(ok, false)
		} else {
			codes, ok = append(codes, c), append(ok, true)
		}
		b = b[min(n, len(b)):]
	}
	return codes, ok
}

// checkCodesAt compares codesAt on every other row, on random rows and
// on all rows of b with the reference reading, and check with decode.
func checkCodesAt(t *testing.T, b []byte, nd int, rng *rand.Rand) {
	t.Helper()
	ref, clean := codesRef(b)
	var sc sparseCol
	sc.dict = make([]string, nd)
	if !sc.check(string(b), len(ref)) {
		if len(b) > 0 && b[len(b)-1] < 0x80 {
			t.Fatalf("%x: check refuses %d codes", b, len(ref))
		}
		return
	}
	zero := false
	for i, c := range ref {
		zero = zero || c == 0 && clean[i]
	}
	if zero && !sc.absent {
		t.Fatalf("%x: a code 0, absent not set", b)
	}
	sc.raw = string(b)
	var full sparseCol
	full.dict = sc.dict
	fullOK := full.decode(string(b), len(ref))
	for round := range 3 {
		var rows []int32
		for r := range ref {
			if round == 2 || round == 0 && r%2 == 0 || round == 1 && rng.IntN(4) == 0 {
				rows = append(rows, int32(r))
			}
		}
		got, ok := sc.codesAt(rows, nil)
		bad := false
		for _, r := range rows {
			bad = bad || !clean[r] || ref[r] > uint64(nd)
		}
		if ok == bad {
			t.Fatalf("%x rows %v: ok %v, want %v", b, rows, ok, !bad)
		}
		if !ok {
			continue
		}
		for j, r := range rows {
			if uint64(got[j]) != ref[r] || fullOK && got[j] != full.codes[r] {
				t.Fatalf("%x row %d: code %d, want %d", b, r, got[j], ref[r])
			}
		}
		if round == 2 && !fullOK {
			t.Fatalf("%x: codesAt reads every row, decode refuses", b)
		}
	}
	// Rows one by one in any order (colValue on raw codes): read on, or
	// from the start.
	for range min(len(ref), 20) {
		r := rng.IntN(len(ref))
		c, ok := sc.seek(r)
		if want := clean[r] && ref[r] <= uint64(nd); ok != want || ok && uint64(c) != ref[r] {
			t.Fatalf("%x: seek(%d) = %d, %v; want %d, %v", b, r, c, ok, ref[r], want)
		}
	}
	if _, ok := sc.codesAt([]int32{1, 0}, nil); ok && len(ref) > 1 {
		t.Fatalf("%x: rows out of order read", b)
	}
}

// TestCodesAt checks sparseCol.check, codesAt and seek (the codes of some rows
// read from the stored codes, whole words skipped) against a plain
// uvarint reading, on codes of one to three bytes, zeros, codes past the
// dictionary and overlong runs.
func TestCodesAt(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for range 3000 {
		nd := 1 + rng.IntN(40000)
		var b []byte
		for range rng.IntN(300) {
			c := uint64(rng.IntN(nd + 1))
			switch rng.IntN(20) {
			case 0:
				c = 0
			case 1:
				c = uint64(nd + 1 + rng.IntN(5)) // past the dictionary
			}
			b = binary.AppendUvarint(b, c)
		}
		if rng.IntN(30) == 0 {
			for range 11 {
				b = append(b, 0xff) // overflow
			}
			b = append(b, 0x7f)
		}
		checkCodesAt(t, b, nd, rng)
	}
}

func FuzzCodesAt(f *testing.F) {
	f.Add([]byte{1, 2, 0x81, 1, 0}, uint16(300))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 5}, uint16(10))
	f.Fuzz(func(t *testing.T, b []byte, nd uint16) {
		checkCodesAt(t, b, int(nd), rand.New(rand.NewPCG(uint64(len(b)), uint64(nd))))
	})
}
