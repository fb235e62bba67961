package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// refMarkIPv4Equal is markIPv4Equal by decoding every address
// (decodeIPv4To) and comparing it, the way a search did before.
func refMarkIPv4Equal(body string, rows int, addr uint32, missing bool, keep []bool) (bool, error) {
	addrs, absent, err := decodeIPv4To(body, rows, nil, nil)
	if err != nil {
		return false, err
	}
	hit := false
	for i := range keep {
		if absent != nil && absent[i] {
			keep[i] = keep[i] && missing
		} else {
			keep[i] = keep[i] && addrs[i] == addr
		}
		hit = hit || keep[i]
	}
	return hit, nil
}

// TestMarkIPv4Equal checks markIPv4Equal against decoding every address
// on blocks of few distinct addresses (many candidates of the same
// fourth octet), with and without absent rows (bitmap bits past the last
// row set or not), every row count around the words, and kept rows and
// absent rows marked both ways.
func TestMarkIPv4Equal(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	for round := range 400 {
		rows := 1 + rng.IntN(300)
		pool := make([]uint32, 1+rng.IntN(6))
		for i := range pool {
			pool[i] = rng.Uint32()
			if i > 0 && rng.IntN(2) == 0 {
				pool[i] = pool[0]&^0xff00 | rng.Uint32()&0xff00 // same fourth octet
			}
		}
		vals := make([]string, rows)
		absent := make([]bool, rows)
		for i := range vals {
			if round%3 == 0 && rng.IntN(4) == 0 {
				absent[i] = true
				continue
			}
			vals[i] = string(AppendIPv4(nil, pool[rng.IntN(len(pool))]))
		}
		b, ok := encodeIPv4(vals, absent)
		if !ok {
			continue // every row absent
		}
		if b[0]&ipv4HasAbsent != 0 && rows%8 != 0 && rng.IntN(2) == 0 {
			b[1+rows/8] |= 0xff << (rows % 8) // bits past the last row: ignored
		}
		body := string(b)
		addr := pool[rng.IntN(len(pool))]
		if rng.IntN(5) == 0 {
			addr = rng.Uint32()
		}
		for _, missing := range []bool{false, true} {
			keep := make([]bool, rows)
			for i := range keep {
				keep[i] = rng.IntN(4) != 0
			}
			want := slices.Clone(keep)
			wantHit, err := refMarkIPv4Equal(body, rows, addr, missing, want)
			if err != nil {
				t.Fatal(err)
			}
			var scratch []uint32
			hit, err := markIPv4Equal(body, rows, addr, missing, keep, &scratch)
			if err != nil || hit != wantHit || !slices.Equal(keep, want) {
				t.Fatalf("round %d, %d rows, missing %v: hit %v %v, want %v\nkeep %v\nwant %v", round, rows, missing, hit, err, wantHit, keep, want)
			}
		}
	}
}

// TestMarkIPv4EqualBad checks that damaged bodies are errors that leave
// keep as it was.
func TestMarkIPv4EqualBad(t *testing.T) {
	vals := []string{"10.0.0.1", "", "10.0.0.2", "10.0.0.1", "", "", "", "", "10.0.0.1"}
	absent := []bool{false, true, false, false, true, true, true, true, false}
	good, ok := encodeIPv4(vals, absent)
	if !ok {
		t.Fatal("not encoded")
	}
	for name, body := range map[string][]byte{
		"empty":       nil,
		"flags":       append([]byte{good[0] | 4}, good[1:]...),
		"short map":   good[:2],
		"short addrs": good[:len(good)-1],
		"long addrs":  append(slices.Clone(good), 1),
	} {
		keep := []bool{true, true, false, true, true, true, true, true, true}
		was := slices.Clone(keep)
		var scratch []uint32
		if _, err := markIPv4Equal(string(body), len(vals), 0x0a000001, false, keep, &scratch); err == nil {
			t.Errorf("%s: no error", name)
		} else if !slices.Equal(keep, was) {
			t.Errorf("%s: keep changed: %v", name, keep)
		}
		if _, err := refMarkIPv4Equal(string(body), len(vals), 0x0a000001, false, slices.Clone(was)); err == nil {
			t.Errorf("%s: the reference finds no error", name)
		}
	}
	if _, err := markIPv4Equal(string(good), len(vals), 1, false, make([]bool, 3), new([]uint32)); err == nil {
		t.Error("keep of another length: no error")
	}
}

// FuzzMarkIPv4Equal compares markIPv4Equal with decoding every address
// on arbitrary bodies: the same errors (one or none) and the same marks.
func FuzzMarkIPv4Equal(f *testing.F) {
	b, _ := encodeIPv4([]string{"10.0.0.1", "", "10.0.0.2", "10.0.0.1"}, []bool{false, true, false, false})
	f.Add(b, uint8(4), uint32(0x0a000001), true)
	b, _ = encodeIPv4([]string{"1.2.3.4", "1.2.3.4", "5.6.7.4", "1.2.3.4", "9.9.9.9", "1.2.3.4", "1.2.3.4", "1.2.3.4", "8.2.3.4"}, make([]bool, 9))
	f.Add(b, uint8(9), uint32(0x01020304), false)
	f.Fuzz(func(t *testing.T, body []byte, rows uint8, addr uint32, missing bool) {
		n := int(rows)
		keep := make([]bool, n)
		for i := range keep {
			keep[i] = (i*5+int(addr))%3 != 0
		}
		want := slices.Clone(keep)
		wantHit, werr := refMarkIPv4Equal(string(body), n, addr, missing, want)
		var scratch []uint32
		was := slices.Clone(keep)
		hit, err := markIPv4Equal(string(body), n, addr, missing, keep, &scratch)
		if (err == nil) != (werr == nil) {
			t.Fatalf("error %v, the reference's %v", err, werr)
		}
		if err != nil {
			if !slices.Equal(keep, was) {
				t.Fatal("keep changed on an error")
			}
			return
		}
		if hit != wantHit || !slices.Equal(keep, want) {
			t.Fatal(fmt.Sprintf("hit %v keep %v, want %v %v", hit, keep, wantHit, want))
		}
	})
}
