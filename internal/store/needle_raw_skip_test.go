package store

import (
	"math/rand/v2"
	"testing"
)

// TestTermMayStayInValues pins the shape rule and checks it against the
// full check: on random blocks of clean and dirty references, whenever
// termsOnlyInValues (without the rule's shortcut) answers yes, each term
// passes TermMayStayInValues, so skipping the check for a term that
// fails it changes no answer.
func TestTermMayStayInValues(t *testing.T) {
	for _, c := range []struct {
		term string
		want bool
	}{
		{"Failed password for invalid user", false},
		{"sshd", false},
		{"ab-cd_ef", false},
		{"", false},
		{needleHash, true},
		{"203.0.113.77", true},
		{"user 7", true},
	} {
		if got := TermMayStayInValues(c.term); got != c.want {
			t.Errorf("TermMayStayInValues(%q) = %v, want %v", c.term, got, c.want)
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	all := make([]int, len(refsShapes))
	for i := range all {
		all[i] = i
	}
	yes, noDigit := 0, 0
	for round := range 30 {
		shapes := all
		if round%2 == 0 {
			shapes = []int{0, 1, 2, 3}
		}
		c := randomRefsCase(rng, 600, shapes, 9, len(refsValues)-2)
		ch := c.chunk(t, nil)
		b := c.block()
		terms := refsTerms(rng, c)
		for _, w := range []string{"x", "n", "v", "ab", "h", "s", "Failed password"} {
			terms = append(terms, w)
		}
		var ns needleScratch
		for _, term := range terms {
			if !TermMayStayInValues(term) {
				noDigit++
			}
			ok, err := ns.termsOnlyInValues(ch, b, []string{term}, []string{"c0", "c1", "c2", "c3"})
			if err != nil {
				t.Fatalf("term %q: %v", term, err)
			}
			if ok {
				yes++
				if !TermMayStayInValues(term) {
					t.Fatalf("term %q without a digit: the check said yes", term)
				}
			}
		}
	}
	t.Logf("%d yes answers, %d terms without a digit", yes, noDigit)
	if yes < 50 || noDigit < 100 {
		t.Errorf("%d yes answers, %d terms without a digit: the test checks little", yes, noDigit)
	}
}
