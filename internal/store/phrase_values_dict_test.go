package store

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// refDict is appendDict the plain way: the reader's count and strings.
func refDict(dict []string, b string) ([]string, int, error) {
	r := &reader{s: b}
	n := r.count(1)
	for range n {
		v := r.str()
		if r.err != nil {
			break
		}
		dict = append(dict, v)
	}
	return dict, r.off, r.err
}

// checkDict compares appendDict with refDict on b, after a dictionary
// already holding pre.
func checkDict(t *testing.T, b string, pre []string) {
	t.Helper()
	want, wantOff, wantErr := refDict(slices.Clone(pre), b)
	got, gotOff, err := appendDict(slices.Clone(pre), b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, want %v", b, err, wantErr)
	}
	if err != nil {
		if !slices.Equal(got, pre) {
			t.Fatalf("%q: on an error the dictionary is %q, want it as given %q", b, got, pre)
		}
		return
	}
	if !slices.Equal(got, want) || gotOff != wantOff {
		t.Fatalf("%q: %q at %d, want %q at %d", b, got, gotOff, want, wantOff)
	}
}

// TestAppendDict checks appendDict's inline reading of short values
// against the reader's, with values of 0 to 300 bytes (lengths of one and
// two bytes), codes after the dictionary, and cut or bad input.
func TestAppendDict(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 11))
	for round := range 200 {
		n := rng.IntN(50)
		b := binary.AppendUvarint(nil, uint64(n))
		for range n {
			l := rng.IntN(130)
			if rng.IntN(10) == 0 {
				l = rng.IntN(300)
			}
			b = binary.AppendUvarint(b, uint64(l))
			b = append(b, strings.Repeat(string(rune('a'+rng.IntN(26))), l)...)
		}
		for range rng.IntN(20) {
			b = binary.AppendUvarint(b, uint64(rng.IntN(n+1))) // the codes
		}
		pre := []string{"x", "y"}[:round%3%2*2]
		checkDict(t, string(b), pre)
		for cut := range len(b) {
			checkDict(t, string(b[:cut]), pre)
		}
	}
	for _, b := range []string{"", "\x01", "\x01\x05abc", "\x02\x01a\x80", "\x01\x80\x01" + strings.Repeat("z", 128), "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "\x03\x00\x00\x00"} {
		checkDict(t, b, nil)
	}
}

func FuzzAppendDict(f *testing.F) {
	f.Add([]byte("\x02\x01a\x02bc\x01\x02"))
	f.Add([]byte("\x01\x80\x01" + strings.Repeat("z", 128)))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDict(t, string(b), []string{"p"})
	})
}
