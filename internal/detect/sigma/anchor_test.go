package sigma

import (
	"math/rand"
	"sort"
	"strings"
	"testing"
)

// TestAnchorMatcher compares the anchor prefilter with strings.Contains on random
// texts over a small alphabet (many overlaps).
func TestAnchorMatcher(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcAB\\."[rng.Intn(7)]
		}
		return string(b)
	}
	// Needles of 2 bytes and more, then of 4 and more (the fast paths).
	for _, minLen := range []int{2, 4} {
		var pats []string
		seen := map[string]bool{}
		for len(pats) < 200 {
			p := strings.ToLower(word(minLen + rng.Intn(6)))
			if !seen[p] {
				seen[p] = true
				pats = append(pats, p)
			}
		}
		m := newAnchorMatcher(pats)
		checked := make([]uint32, len(pats))
		for i := 0; i < 500; i++ {
			text := word(rng.Intn(40))
			got := map[int32]bool{}
			for _, id := range m.scan(strings.ToLower(text), nil, checked, uint32(i+1)) {
				got[id] = true
			}
			if any := m.any(strings.ToLower(text)); any != (len(got) > 0) {
				t.Fatalf("any(%q) = %v, want %v", text, any, len(got) > 0)
			}
			for id, p := range pats {
				want := strings.Contains(strings.ToLower(text), p)
				if got[int32(id)] != want {
					ids := []int{}
					for g := range got {
						ids = append(ids, int(g))
					}
					sort.Ints(ids)
					t.Fatalf("scan(%q): pattern %q found=%v, want %v", text, p, got[int32(id)], want)
				}
			}
		}

	}
}

func TestAppendLower(t *testing.T) {
	f := func(prefix, in string) {
		t.Helper()
		got := string(appendLower([]byte(prefix), in))
		if want := prefix + strings.ToLower(in); got != want {
			t.Errorf("appendLower(%q, %q) = %q, want %q", prefix, in, got, want)
		}
	}
	f("", "")
	f("x", "")
	f("", "C:\\Windows\\System32\\CMD.EXE")
	f("Ab", "@[`{ZAza")
	f("", "Straße ÄÖÜ İ")
	f("pre", "ABC\xffDEF") // invalid UTF-8 becomes U+FFFD, as strings.ToLower writes it
	f("", "ÉCOLE")
	f("", "\u212a KELVIN \u212a")                 // Kelvin sign lowers to ASCII k
	f("", "a\xed\xa0\x80B\xc0\xafC\xe2\x82")      // surrogate, overlong, cut rune
	f("", "\ufffd valid replacement char \ufffd") // stays as written
	f("", "{\"Image\":\"C:\\Program Files\\Ünïcödé\\A.EXE\"}")
}

// FuzzAppendLower checks appendLower (and its rune-wise slow path)
// against strings.ToLower on any input.
func FuzzAppendLower(f *testing.F) {
	for _, s := range []string{"", "ABC", "Straße ÄÖÜ İ", "ABC\xffDEF", "\u212a", "\xed\xa0\x80", "\xe2\x82"} {
		f.Add("pre", s)
	}
	f.Fuzz(func(t *testing.T, prefix, in string) {
		got := string(appendLower([]byte(prefix), in))
		if want := prefix + strings.ToLower(in); got != want {
			t.Fatalf("appendLower(%q, %q) = %q, want %q", prefix, in, got, want)
		}
	})
}
