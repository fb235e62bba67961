package query

import (
	"regexp/syntax"
	"strings"
	"unicode"
)

// A case-insensitive regexp ((?i)failed password) has no required
// literal, and Go's regexp engine has no prefix search for folded text:
// it stepped through every byte of every row (58 s a run on the 10M
// benchmark store against 0.7 s for the benchmark's regexp). foldLiteral
// finds text every match holds up to ASCII case, searched for before the
// engine runs.

// foldLiteral returns the longest run, lower-cased, of top-level literal
// runes of pattern that fold only among ASCII letters (or do not fold):
// every match of pattern holds it up to ASCII case. Runes whose fold
// orbit leaves ASCII (k: U+212A KELVIN SIGN, s: U+017F LONG S) and other
// nodes end a run. "" when there is none of at least 3 bytes.
func foldLiteral(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	if re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var best string
	var cur []byte
	for _, s := range subs {
		if s.Op != syntax.OpLiteral {
			cur = cur[:0]
			continue
		}
		for _, r := range s.Rune {
			c, ok := asciiFold(r, s.Flags&syntax.FoldCase != 0)
			if !ok {
				cur = cur[:0]
				continue
			}
			cur = append(cur, c)
			if len(cur) > len(best) {
				best = string(cur)
			}
		}
	}
	if len(best) < 3 {
		return ""
	}
	return best
}

// asciiFold returns r lower-cased when r is ASCII and, when fold, every
// rune r folds to is ASCII too; false otherwise.
func asciiFold(r rune, fold bool) (byte, bool) {
	if r >= 0x80 {
		return 0, false
	}
	// Matched exactly (not fold): matched up to ASCII case too.
	for f := unicode.SimpleFold(r); fold && f != r; f = unicode.SimpleFold(f) {
		if f >= 0x80 {
			return 0, false
		}
	}
	if r >= 'A' && r <= 'Z' {
		r += 'a' - 'A'
	}
	return byte(r), true
}

// foldContains reports whether s contains lit (lower-case ASCII, as
// foldLiteral returns) up to ASCII case.
func foldContains(s, lit string) bool {
	m := len(lit)
	if m == 0 {
		return true
	}
	if m > len(s) {
		return false
	}
	// Anchor on lit's first byte in both cases.
	c0 := lit[0]
	c1 := c0
	if c0 >= 'a' && c0 <= 'z' {
		c1 = c0 - ('a' - 'A')
	}
	t := s[:len(s)-m+1] // the starts
	// n0, n1: the next start at or after i holding c0, c1 (len(t): none).
	n0, n1 := -1, -1
	if c1 == c0 {
		n1 = len(t)
	}
	for i := 0; i < len(t); {
		if n0 < i {
			n0 = len(t)
			if j := strings.IndexByte(t[i:], c0); j >= 0 {
				n0 = i + j
			}
		}
		if n1 < i {
			n1 = len(t)
			if j := strings.IndexByte(t[i:], c1); j >= 0 {
				n1 = i + j
			}
		}
		p := min(n0, n1)
		if p == len(t) {
			return false
		}
		if asciiEqualFold(s[p+1:p+m], lit[1:]) {
			return true
		}
		i = p + 1
	}
	return false
}

// asciiEqualFold reports whether a (any bytes) equals lit (lower-case
// ASCII) up to ASCII case; len(a) == len(lit).
func asciiEqualFold(a, lit string) bool {
	for i := 0; i < len(lit); i++ {
		c := a[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lit[i] {
			return false
		}
	}
	return true
}
