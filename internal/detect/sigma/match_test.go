package sigma

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// globPartsRef is globParts as first written: every segment tried at
// every position (the reference for the strings.Index and suffix paths).
func globPartsRef(segs []string, s string) bool {
	if len(segs) == 1 {
		end, ok := segAt(segs[0], s, 0)
		return ok && end == len(s)
	}
	end, ok := segAt(segs[0], s, 0)
	if !ok {
		return false
	}
	pos := end
	for _, seg := range segs[1 : len(segs)-1] {
		found := false
		for i := pos; i <= len(s); i++ {
			if e, ok := segAt(seg, s, i); ok {
				pos, found = e, true
				break
			}
		}
		if !found {
			return false
		}
	}
	last := segs[len(segs)-1]
	for i := len(s); i >= pos; i-- {
		if e, ok := segAt(last, s, i); ok && e == len(s) {
			return true
		}
	}
	return false
}

// globSame checks globParts against the reference for a pattern written
// with * and ? (as Sigma writes them) and a text.
func globSame(t *testing.T, pattern, text string) {
	t.Helper()
	segs := strings.Split(strings.ReplaceAll(pattern, "?", "\x00"), "*")
	if got, want := globParts(segs, text), globPartsRef(segs, text); got != want {
		t.Errorf("glob %q on %q: %v, reference %v", pattern, text, got, want)
	}
}

func TestGlobParts(t *testing.T) {
	for _, c := range []struct {
		pattern, text string
		want          bool
	}{
		{`*\cmd.exe* /c *`, `c:\windows\system32\cmd.exe /c whoami`, true},
		{`*\cmd.exe* /c *`, `c:\windows\system32\cmd.exe /k whoami`, false},
		{`a*b*c`, `abc`, true},
		{`a*b*c`, `acb`, false},
		{`a*b?d*e`, `ab€de`, true}, // ? is one character, of several bytes
		{`a*?b*`, `ab`, false},
		{`a*?b*`, `axb`, true},
		{`a**b`, `ab`, true},
		{`*`, ``, true},
		{`a*`, `a`, true},
		{`*x*y`, `xxy`, true},
		{`*xy*xy`, `xy`, false},
		{`*abab*`, `aabab`, true},
		{`*a?c*a?c`, `abcabc`, true},
		{`*a?c*a?c`, `abc`, false},
	} {
		segs := strings.Split(strings.ReplaceAll(c.pattern, "?", "\x00"), "*")
		if got := globParts(segs, c.text); got != c.want {
			t.Errorf("glob %q on %q = %v, want %v", c.pattern, c.text, got, c.want)
		}
		globSame(t, c.pattern, c.text)
	}
	// Random patterns and texts over a small alphabet (many near misses).
	r := rand.New(rand.NewPCG(5, 6))
	word := func(alpha string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return string(b)
	}
	for range 20000 {
		globSame(t, word("ab*?", 1+r.IntN(8)), word("abc", r.IntN(12)))
	}
}

func FuzzGlobParts(f *testing.F) {
	f.Add(`*\cmd.exe* /c *`, `c:\windows\system32\cmd.exe /c whoami`)
	f.Add(`a*b?d*e`, "ab\u20acde")
	f.Add(`*a?c*a?c`, `abcabc`)
	f.Fuzz(func(t *testing.T, pattern, text string) {
		if strings.IndexByte(pattern, 0) >= 0 || len(pattern) > 64 {
			return
		}
		globSame(t, pattern, text)
	})
}
