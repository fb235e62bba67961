package query

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestRequiredSets(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    [][]string
	}{
		{`Failed password for invalid user (root|admin) from 1[0-9]{2}\.`,
			[][]string{{"Failed password for invalid user root from 1", "Failed password for invalid user admin from 1"}, {"."}}},
		{`(foo)+bar`, [][]string{{"foo"}, {"bar"}}},
		{`(?i)abc`, nil},
		{`a.*`, [][]string{{"a"}}},
		{`x*`, nil},
		{`(a|b*)c`, [][]string{{"c"}}},
		{`^ab$`, [][]string{{"ab"}}},
		{`\bport \d+`, [][]string{{"port "}}},
		{`a\x{FFFD}b`, nil},
		{`(`, nil},
	} {
		if got := requiredSets(c.pattern); !slices.EqualFunc(got, c.want, slices.Equal) {
			t.Errorf("requiredSets(%q) = %q, want %q", c.pattern, got, c.want)
		}
	}
}

// TestRequiredSetsHold checks on random texts that every text a regexp
// matches holds its required sets (the prefilter never drops a match).
func TestRequiredSetsHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	patterns := []string{
		`ab(c|d)e`, `(ab|ba)+c`, `a(b|c)?d`, `(x|yz)(u|v)w`, `a{2,3}b`, `^(a|b)c$`, `\bab\b`, `(?i:a)bc`,
		`a[bc]d`, `(ab|ac)(d|e)(f|g)(h|i)(j|k)`, `a|b`, `(a|)b`,
	}
	const abc = "abcdefghijkuvwxyz \xff"
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		sets := requiredSets(p)
		for range 3000 {
			var sb strings.Builder
			for range rng.IntN(12) {
				sb.WriteByte(abc[rng.IntN(len(abc))])
			}
			s := sb.String()
			if re.MatchString(s) && !holdsSets(s, sets) {
				t.Fatalf("%q matches %q but lacks the required sets %q", p, s, sets)
			}
		}
	}
}

// FuzzRequiredSets: a text the regexp matches holds its required sets.
func FuzzRequiredSets(f *testing.F) {
	f.Add(`Failed password for invalid user (root|admin) from 1[0-9]{2}\.`, "Failed password for invalid user root from 123.4")
	f.Add(`(a|bc)+d`, "xbcad")
	f.Add(`a\x{FFFD}b`, "a\xffb")
	f.Fuzz(func(t *testing.T, pattern, text string) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		if sets := requiredSets(pattern); re.MatchString(text) && !holdsSets(text, sets) {
			t.Fatalf("%q matches %q but lacks the required sets %q", pattern, text, sets)
		}
	})
}

// TestBeyond: the sets a value holding the required literal satisfies are
// dropped, the others kept.
func TestBeyond(t *testing.T) {
	p := `Failed password for invalid user (root|admin) from 1[0-9]{2}\.`
	lit := requiredLiteral(p)
	got := beyond(requiredSets(p), lit)
	if len(got) == 0 {
		t.Fatalf("beyond(%q) dropped every set: the alternation's texts are not in %q", p, lit)
	}
	for _, set := range got {
		for _, x := range set {
			if strings.Contains(lit, x) {
				t.Errorf("set %q kept though %q holds its %q", set, lit, x)
			}
		}
	}
	if got := beyond([][]string{{"ab"}, {"x", "cd"}}, "abcd"); got != nil {
		t.Errorf("sets implied by the literal kept: %q", got)
	}
	if got := beyond([][]string{{"ab"}, {"xy", "zz"}}, "abcd"); len(got) != 1 || got[0][0] != "xy" {
		t.Errorf("beyond kept %q, want only the xy/zz set", got)
	}
}
