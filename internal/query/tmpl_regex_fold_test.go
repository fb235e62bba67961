package query

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestFoldLiteral(t *testing.T) {
	for _, c := range []struct{ pattern, want string }{
		{`(?i)failed password`, "failed pa"}, // s folds to U+017F
		{`(?i)FAILED PASSWORD for`, "failed pa"},
		{`(?i)error: (root|admin)`, "error: "},
		{`(?i)ok`, ""},
		{`(?i)[a-z]+`, ""},
		{`Failed (?i)user`, "failed u"},
		{`(?i)kkk abc`, " abc"},
	} {
		if got := foldLiteral(c.pattern); got != c.want {
			t.Errorf("foldLiteral(%q) = %q, want %q", c.pattern, got, c.want)
		}
	}
}

// TestFoldLiteralRandom checks that every match of a random
// case-insensitive regexp holds its fold literal (the prefilter never
// drops a matching text), on texts with mixed case and the non-ASCII
// folds of k and s.
func TestFoldLiteralRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alpha := []string{"a", "B", "k", "K", "\u212a", "s", "S", "\u017f", " ", "e", "E", "1", "é", "É"}
	rnd := func(n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteString(alpha[rng.IntN(len(alpha))])
		}
		return sb.String()
	}
	atoms := []string{"a", "b", "k", "s", "e", " ", "é", "[ab]", "(a|ke)", "s?", "1", "."}
	n := 0
	for range 2000 {
		var pb strings.Builder
		pb.WriteString([]string{"(?i)", "", "(?i)x?"}[rng.IntN(3)])
		for range 2 + rng.IntN(6) {
			pb.WriteString(atoms[rng.IntN(len(atoms))])
		}
		pattern := pb.String()
		re := regexp.MustCompile(pattern)
		fl := foldLiteral(pattern)
		for range 40 {
			text := rnd(rng.IntN(14))
			if rng.IntN(3) == 0 {
				// Plant a match-ish piece: the literal in random case.
				text += strings.ToUpper(fl[:len(fl)/2]) + fl[len(fl)/2:] + rnd(2)
			}
			if re.MatchString(text) {
				n++
				if fl != "" && !foldContains(text, fl) {
					t.Fatalf("%q matches %q but foldContains(%q) is false", pattern, text, fl)
				}
			}
		}
	}
	if n < 500 {
		t.Errorf("only %d matches", n)
	}
}

func TestFoldContains(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		var sb strings.Builder
		for range rng.IntN(20) {
			sb.WriteByte("aAbB xX\xc3"[rng.IntN(8)])
		}
		s := sb.String()
		lower := func(x string) string {
			b := []byte(x)
			for i, c := range b {
				if c >= 'A' && c <= 'Z' {
					b[i] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
		lit := lower(s[rng.IntN(len(s)+1):])
		if len(lit) > 3 {
			lit = lit[:1+rng.IntN(3)]
		}
		if rng.IntN(2) == 0 || lit == "" {
			lit = []string{"ab", "a b", "x", "bx", " "}[rng.IntN(5)]
		}
		want := strings.Contains(lower(s), lit)
		if got := foldContains(s, lit); got != want {
			t.Fatalf("foldContains(%q, %q) = %v, want %v", s, lit, got, want)
		}
	}
}

func FuzzFoldLiteral(f *testing.F) {
	f.Add(`(?i)failed password`, "FAILED PAſſWORD")
	f.Add(`(?i)kelvin`, "\u212aELVIN")
	f.Fuzz(func(t *testing.T, pattern, text string) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		if fl := foldLiteral(pattern); fl != "" && re.MatchString(text) && !foldContains(text, fl) {
			t.Fatalf("%q matches %q but foldContains(%q) is false", pattern, text, fl)
		}
	})
}

// TestFoldRegexpsOnStore compares case-insensitive regexps (decided with
// the fold literal's prefilter) with the plain load path.
func TestFoldRegexpsOnStore(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	snap, ranges := skelSnapshot(t, skelEvents(3000, 5))
	queries := []string{
		`_raw matches /(?i)failed PASSWORD/ | count`,
		`_raw matches /(?i)FAILED password for (root|admin)/ | count`,
		`_raw matches /(?i)invalid user [a-z]+ from/ | count`,
		`_raw matches /(?i)sshd\[\d+\]: failed/ | count`,
		`_raw matches /(?i)PASSWORD for/ | count`,
	}
	samePlain(t, snap, queries, ranges, "fold regexps", func(_, want string) bool { return want == "" || strings.Contains(want, `"_count":"0"`) })
}
