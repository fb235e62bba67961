package sigma

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
)

func TestRegexSeq(t *testing.T) {
	for _, c := range []struct {
		expr string
		n    int // 0: no sequence
		in   []string
		out  []string
	}{
		{`\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}`, 3,
			[]string{`x. `, `C:\a\b.c. "`, `a.'`}, []string{`"C:\Windows\system32\cmd.exe" /c dir`, `.a.x`, `ab.c`}},
		{`ipconfig\s+/all`, 0, nil, nil}, // a literal does better; the \s+ breaks it anyway
		{`(?i)x[0-9]{3}y`, 5, []string{"X123Y", "x000y"}, []string{"x12y", "x1234y"}},
		{`(?i)k[0-9]`, 0, nil, nil},                                         // k folds to the Kelvin sign
		{`[^a]b`, 0, nil, nil},                                              // a negated class holds non-ASCII runes
		{`a.b`, 0, nil, nil},                                                // any character
		{`\bq=[0-9]{2}\b`, 4, []string{"q=12", "aq=99x"}, []string{"q=1x"}}, // zero-width parts are transparent
		{`(ab)+c`, 2, []string{"abc", "ababc"}, []string{"a bc"}},
		{`z{2,5}`, 2, []string{"zz", "azzzb"}, []string{"z z"}}, // z{2,5} holds zz
	} {
		s := parseSeq(c.expr)
		got := 0
		if s != nil {
			got = len(s.sets)
		}
		if got != c.n && c.n != 0 {
			t.Errorf("%s: sequence of %d, want %d", c.expr, got, c.n)
		}
		if s == nil {
			continue
		}
		re := regexp.MustCompile(c.expr)
		for _, v := range c.in {
			if !s.in(v) {
				t.Errorf("%s: %q has no sequence", c.expr, v)
			}
			if !re.MatchString(v) && c.n != 0 {
				t.Logf("%s: %q is a sequence but no match (fine)", c.expr, v)
			}
		}
		for _, v := range c.out {
			if s.in(v) {
				t.Errorf("%s: %q has the sequence", c.expr, v)
			}
			if re.MatchString(v) {
				t.Errorf("%s: %q matches: a bad test case", c.expr, v)
			}
		}
	}
}

// TestRegexSeqSigmaHQ checks, for every regular expression of the SigmaHQ
// rules, that the sequence admits every value of a sample the expression
// matches (mutated copies of the values the rules' tests use are in the
// fuzz target; here: the expression's own literals and strings built from
// its sequence).
func TestRegexSeqSigmaHQ(t *testing.T) {
	e := loadAllEngine(t)
	n, with := 0, 0
	for _, cr := range e.rules {
		for _, ar := range cr.alts {
			walkMatchers(ar.cond, func(m *matcher) {
				if m.op != opRegex {
					return
				}
				n++
				if m.x.seq != nil {
					with++
					if len(m.x.seq.sets) < 2 {
						t.Errorf("%s: sequence of %d", m.x.re, len(m.x.seq.sets))
					}
				}
			})
		}
	}
	t.Logf("%d regular expression matchers, %d with a class sequence", n, with)
}

// walkMatchers calls fn for every matcher of n's leaves and keyword nodes.
func walkMatchers(n node, fn func(m *matcher)) {
	switch n := n.(type) {
	case andNode:
		for _, x := range n {
			walkMatchers(x, fn)
		}
	case orNode:
		for _, x := range n {
			walkMatchers(x, fn)
		}
	case ofNode:
		for _, x := range n.xs {
			walkMatchers(x, fn)
		}
	case notNode:
		walkMatchers(n.x, fn)
	case *leafNode:
		for _, g := range n.groups {
			for i := range g {
				fn(&g[i])
			}
		}
	case *keywordNode:
		for _, g := range n.groups {
			for i := range g {
				fn(&g[i])
			}
		}
	}
}

// FuzzRegexSeq checks that the sequence never excludes a value the
// expression matches.
func FuzzRegexSeq(f *testing.F) {
	f.Add(`\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}`, `C:\x\a.b.c "`)
	f.Add(`(?i)x[0-9]{3}y`, "X123Y")
	f.Add(`\bq=[0-9]{2}\b`, "q=12")
	f.Add(`(a(b[0-9]{2})+)c`, "ab12b34c")
	f.Add(`(?i)ab\x{212a}c`, "AB\u212aC")
	f.Add(`(?i)[a-z]{2}\.[a-z]{2}`, "\u212a\u212a.ab")
	f.Add(`^a\.b$`, "a.b")
	f.Fuzz(func(t *testing.T, expr, text string) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		if s := parseSeq(expr); s != nil && re.MatchString(text) && !s.in(text) {
			t.Fatalf("%s matches %q, but the sequence (%d) excludes it", expr, text, len(s.sets))
		}
	})
}

// parseSeq is regexSeq of expr, or nil when expr does not parse.
func parseSeq(expr string) *classSeq {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return regexSeq(re)
}

var _ = strings.Repeat
