package sigma

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// strideSame checks that the stride and anchor matchers over needles find
// the same needles in text (folded when it is ASCII, as the engine does).
func strideSame(t *testing.T, needles []string, text string) {
	t.Helper()
	sm := newStrideMatcher(needles)
	if sm == nil {
		return
	}
	am := newAnchorMatcher(needles)
	fold := isASCII(text)
	if !fold {
		text = strings.ToLower(text)
	}
	checked := make([]uint32, len(needles))
	got := sm.scanText(text, fold, nil, checked, 1)
	want := am.scanText(text, fold, nil, checked, 2)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("needles %q text %q: stride found %v, anchor %v", needles, text, got, want)
	}
	if low := strings.ToLower(text); sm.any(low) != am.any(low) || am.any(low) != (len(want) > 0) {
		t.Errorf("needles %q text %q: stride any %v, anchor any %v, found %v", needles, low, sm.any(low), am.any(low), want)
	}
}

func TestStrideMatcher(t *testing.T) {
	kw := []string{`\mimilib.dll`, "sekurlsa::", "kerberos::ptt", "kerberos::tgt", "lsadump::", "aaaaaaa", "abcabcabc"}
	for _, text := range []string{
		"", "sekurlsa:", "sekurlsa::", "SEKURLSA::logonpasswords", "x sekurlsa::", "C:\\x\\MimiLib.DLL",
		"kerberos::ptt kerberos::tgt", "lsadump::sam", "aaaaaaaaaaaaaaaa", "abcabcabcabc", "ab abcabcabc",
		"kerberos::pt", "kerberos::ptc", "ÄÖ sekurlsa:: ß", "\xff lsadump::",
	} {
		strideSame(t, kw, text)
	}
	if m := newStrideMatcher([]string{"abcd", "sekurlsa::"}); m == nil || m.step != 3 || m.short.bits == nil {
		t.Errorf("a 4-byte needle beside long ones: %+v, want a stride of 3 with a short tier", m)
	}
	if newStrideMatcher([]string{"ab", "sekurlsa::"}) != nil || newStrideMatcher([]string{"abcde"}) == nil {
		t.Error("a 2-byte needle allows no stride, a 5-byte one a stride of 2")
	}
	if m := newStrideMatcher([]string{"0123456789abcdef0123"}); m == nil || m.step != maxStride {
		t.Errorf("step of a long needle: %+v, want %d", m, maxStride)
	}
	// Random needles over a small alphabet (many shared windows) planted
	// at every offset of random texts.
	r := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abAB:\\|@`"[r.IntN(9)] // bytes the case merge maps together too
		}
		return string(b)
	}
	for range 2000 {
		needles := make([]string, 1+r.IntN(6))
		for i := range needles {
			needles[i] = strings.ToLower(word(3 + r.IntN(11))) // short tiers too
		}
		text := word(r.IntN(40))
		if r.IntN(2) == 0 {
			at := r.IntN(len(text) + 1)
			text = text[:at] + needles[r.IntN(len(needles))] + text[at:]
		}
		strideSame(t, needles, text)
	}
}

func FuzzStrideMatcher(f *testing.F) {
	f.Add("sekurlsa::", "kerberos::ptt", "x SEKURLSA::logon kerberos::ptt")
	f.Add("aaaaaa", "aaaaab", "aaaaaaaab")
	f.Fuzz(func(t *testing.T, a, b, text string) {
		var needles []string
		for _, n := range []string{a, b} {
			if n = strings.ToLower(n); len(n) >= 2 && len(n) <= 64 && !slices.Contains(needles, n) {
				needles = append(needles, n)
			}
		}
		if len(needles) > 0 {
			strideSame(t, needles, text)
		}
	})
}

func TestShorterThan(t *testing.T) {
	for _, c := range []struct {
		v    string
		n    int
		want bool
	}{
		{"", 1, true}, {"abc", 4, true}, {"abcd", 4, false}, {"ab", 9, true},
		{"\u023a\u023a", 5, false}, // lower-cases to 6 bytes
		{"\xff", 3, false},         // U+FFFD: 3 bytes
		{"\xff", 4, true},
	} {
		if got := shorterThan(c.v, c.n); got != c.want {
			t.Errorf("shorterThan(%q, %d) = %v, want %v", c.v, c.n, got, c.want)
		}
		if low := strings.ToLower(c.v); c.want && len(low) >= c.n {
			t.Errorf("%q lower-cases to %d bytes, not shorter than %d", c.v, len(low), c.n)
		}
	}
}

// TestCaseMerge checks what the stride matcher's window lookup relies
// on: every byte merges (or 0x20) to what its ASCII lower case merges to,
// so a window of text not lower-cased yet finds its needle's window.
func TestCaseMerge(t *testing.T) {
	for b := 0; b < 256; b++ {
		if c := byte(b); c|0x20 != asciiLower[c]|0x20 {
			t.Fatalf("byte %#x merges to %#x, its lower case %#x to %#x", c, c|0x20, asciiLower[c], asciiLower[c]|0x20)
		}
	}
	if got, want := word32At(`AbC\`, 0)|caseMerge, leWindow(`abc\`); got != want {
		t.Errorf("merged window %#x, needle window %#x", got, want)
	}
}

// TestIsASCII checks the word-wise test against a byte loop for every
// length up to 48 with one high byte at every position (and none).
func TestIsASCII(t *testing.T) {
	for n := 0; n <= 48; n++ {
		b := []byte(strings.Repeat("a", n))
		if !isASCII(string(b)) {
			t.Fatalf("length %d, all ASCII: false", n)
		}
		for i := range b {
			b[i] = 0x80
			if isASCII(string(b)) {
				t.Fatalf("length %d, high byte at %d: true", n, i)
			}
			b[i] = 'a'
		}
	}
}
