package store

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// refIPv4EqualRows is ipv4EqualRows by decoding every address.
func refIPv4EqualRows(body string, rows int, addr uint32) ([]int, error) {
	addrs, absent, err := decodeIPv4To(body, rows, nil, nil)
	if err != nil {
		return nil, err
	}
	var out []int
	for i, a := range addrs {
		if (absent == nil || !absent[i]) && a == addr {
			out = append(out, i)
		}
	}
	return out, nil
}

// TestIPv4EqualRows checks ipv4EqualRows against decoding every address
// on blocks of few distinct addresses (many sharing the fourth octet),
// with and without absent rows (bitmap bits past the last row set or
// not), the address 0 among them, and rows appended after earlier ones.
func TestIPv4EqualRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for round := range 400 {
		rows := 1 + rng.IntN(300)
		pool := make([]uint32, 1+rng.IntN(6))
		for i := range pool {
			pool[i] = rng.Uint32()
			if i > 0 && rng.IntN(2) == 0 {
				pool[i] = pool[0]&^0xff00 | rng.Uint32()&0xff00 // same fourth octet
			}
			if rng.IntN(10) == 0 {
				pool[i] = 0
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
		addr := pool[rng.IntN(len(pool))]
		if rng.IntN(5) == 0 {
			addr = rng.Uint32()
		}
		want, err := refIPv4EqualRows(string(b), rows, addr)
		if err != nil {
			t.Fatal(err)
		}
		var scratch []uint32
		got, err := ipv4EqualRows(string(b), rows, addr, []int{-1}, &scratch)
		if err != nil || len(got) == 0 || got[0] != -1 || !slices.Equal(got[1:], want) {
			t.Fatalf("round %d, %d rows, address %#x: %v %v, want %v", round, rows, addr, got, err, want)
		}
	}
}

// TestIPv4EqualRowsBad checks that damaged bodies are errors that return
// dst as it was.
func TestIPv4EqualRowsBad(t *testing.T) {
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
		dst := []int{7}
		got, err := ipv4EqualRows(string(body), len(vals), 0x0a000001, dst, new([]uint32))
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if !slices.Equal(got, []int{7}) {
			t.Errorf("%s: dst changed: %v", name, got)
		}
		if _, err := refIPv4EqualRows(string(body), len(vals), 0x0a000001); err == nil {
			t.Errorf("%s: the reference finds no error", name)
		}
	}
	got, err := ipv4EqualRows(string(good), len(vals), 0x0a000001, nil, new([]uint32))
	if err != nil || !slices.Equal(got, []int{0, 3, 8}) {
		t.Errorf("good body: %v %v", got, err)
	}
}

// FuzzIPv4EqualRows compares ipv4EqualRows with decoding every address
// on arbitrary bodies: the same errors (one or none) and the same rows.
func FuzzIPv4EqualRows(f *testing.F) {
	b, _ := encodeIPv4([]string{"10.0.0.1", "", "10.0.0.2", "10.0.0.1"}, []bool{false, true, false, false})
	f.Add(b, uint8(4), uint32(0x0a000001))
	b, _ = encodeIPv4([]string{"1.2.3.4", "1.2.3.4", "5.6.7.4", "1.2.3.4", "9.9.9.9", "1.2.3.4", "1.2.3.4", "1.2.3.4", "8.2.3.4"}, make([]bool, 9))
	f.Add(b, uint8(9), uint32(0x01020304))
	f.Fuzz(func(t *testing.T, body []byte, rows uint8, addr uint32) {
		want, werr := refIPv4EqualRows(string(body), int(rows), addr)
		var scratch []uint32
		got, err := ipv4EqualRows(string(body), int(rows), addr, nil, &scratch)
		if (err == nil) != (werr == nil) {
			t.Fatalf("error %v, the reference's %v", err, werr)
		}
		if err == nil && !slices.Equal(got, want) {
			t.Fatalf("rows %v, want %v", got, want)
		}
	})
}
