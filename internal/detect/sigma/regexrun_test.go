package sigma

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
)

func TestRegexRun(t *testing.T) {
	for _, c := range []struct {
		expr string
		n    int // 0: no run
		in   []string
		out  []string
	}{
		{`\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}`, 64,
			[]string{strings.Repeat("aF09", 16)}, []string{"jpsetup.exe " + strings.Repeat("ab", 31) + " x"}},
		{`[A-Za-z0-9+/]{50,}={0,2}`, 50, []string{strings.Repeat("Qk", 25)}, []string{strings.Repeat("Qk", 24) + " Qk"}},
		{`(?i)(abc){3}`, 0, nil, nil},
		{`(?i)x[0-9]{3}y[0-9]{3}`, 0, nil, nil}, // runs of 3
		{`(?i)kkkkkk`, 6, []string{"KKKKKK", "\u212a\u212a\u212a\u212a\u212a\u212a"}, []string{"kkkkk k"}},
		{`(a|b){8}`, 0, nil, nil},
		{`[^a-z]{6}`, 6, []string{"\xff\xfe\xfd\xfc\xfb\xfa", "ÄÖÜÄÖÜ", "123456"}, []string{"12345a"}},
		{`x*[0-9]{2}[0-9]{4}`, 6, []string{"123456"}, []string{"12345"}},
		{`\\\\[a-z]{1,32}\.[a-z]{1,6}`, 0, nil, nil},
	} {
		r := parseRun(c.expr)
		if got := 0; r != nil {
			got = r.n
			if got != c.n {
				t.Errorf("%s: run %d, want %d", c.expr, got, c.n)
			}
		} else if c.n != 0 {
			t.Errorf("%s: no run, want %d", c.expr, c.n)
		}
		if r == nil {
			continue
		}
		for _, s := range c.in {
			if !r.in(s) {
				t.Errorf("%s: %q has no run", c.expr, s)
			}
		}
		for _, s := range c.out {
			if r.in(s) {
				t.Errorf("%s: %q has a run", c.expr, s)
			}
		}
	}
}

// FuzzRegexRun checks that the run never excludes a value the expression
// matches.
func FuzzRegexRun(f *testing.F) {
	f.Add(`\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}`, " "+strings.Repeat("a", 64)+" "+strings.Repeat("b", 16))
	f.Add(`(?i)[a-z]{6,}`, "ABCDEF")
	f.Add(`[^a]{6}`, "\xff\xff\xff\xff\xff\xff")
	f.Add(`(?i)k{6}`, "\u212a\u212a\u212a\u212a\u212a\u212a")
	f.Add(`(x(y[0-9]{7})+)`, "xy1234567")
	f.Fuzz(func(t *testing.T, expr, text string) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		if r := parseRun(expr); r != nil && re.MatchString(text) && !r.in(text) {
			t.Fatalf("%s matches %q, but the run (%d) excludes it", expr, text, r.n)
		}
	})
}

// parseRun is regexRun of expr, or nil when expr does not parse.
func parseRun(expr string) *classRun {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return regexRun(re)
}
