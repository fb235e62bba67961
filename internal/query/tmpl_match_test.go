package query

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/token"
)

// checkDecide compares tf.decide on pieces and values with matching the
// expanded text: yes must be a match, and no must leave only matches
// inside one value (which the field columns find).
func checkDecide(t *testing.T, tf *tmplFinder, pieces, values []string) {
	t.Helper()
	var sb strings.Builder
	for j, p := range pieces {
		sb.WriteString(p)
		if j < len(values) {
			sb.WriteString(values[j])
		}
	}
	text := sb.String()
	match := tf.match // with boundaries off: any case-folded occurrence
	inText := match(text)
	if (tf.wantL || tf.wantR) && inText != token.Match(text, tf.term) {
		t.Fatalf("textFinder(%q).match(%q) = %v, token.Match says %v", tf.term, text, inText, !inText)
	}
	inValue := false
	for _, v := range values {
		inValue = inValue || match(v)
	}
	switch ans, _ := tf.decide(pieces); {
	case ans == tmplYes && !inText:
		t.Fatalf("decide(%q, pieces %q, values %q) = yes; the text %q has no match", tf.term, pieces, values, text)
	case ans == tmplNo && inText && !inValue:
		t.Fatalf("decide(%q, pieces %q, values %q) = no; the text %q matches outside the values", tf.term, pieces, values, text)
	}
}

func TestTmplDecide(t *testing.T) {
	f := func(term string, boundaries bool, pieces []string, values ...string) {
		t.Helper()
		checkDecide(t, newTmplFinder(term, boundaries), pieces, values)
	}
	p := func(s ...string) []string { return s }
	f("failed password", true, p("Jan 1 sshd: Failed password for ", " from ", ""), "root", "1.2.3.4")
	f("password for root", true, p("Failed password for ", " from x"), "root")
	f("root from", true, p("user ", " from x"), "root")
	f("abc", true, p("x", "y"), "abc")
	f("abc", true, p("", ""), "abc")
	f("abc", true, p("ab", "x"), "c")
	f("abc", true, p("a", "c"), "b")
	f("abc", true, p("a", "", "c"), "b", "")
	f("abc", true, p("abc", ""), "d")
	f("abc", true, p("abc", ""), " ")
	f("abc", true, p("", "abc"), "x")
	f("203.0.113.77", true, p("from ", " port 22"), "203.0.113.77")
	f("203.0.113.77", true, p("from 203.0.", " port"), "113.77")
	f("0.113", true, p("from 203.", " port"), "0.113.77")
	f("a b", true, p("x a", "b"), " ")
	f("lit", false, p("xli", "y"), "t")
	f("lit", false, p("xLIT", "y"), "t")
	f("x", true, p("", ""), "x")

	rng := rand.New(rand.NewPCG(3, 4))
	const alpha = "abAB .-1_\x01é"
	word := func(n int) string {
		b := make([]byte, rng.IntN(n+1))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	for range 200_000 {
		term := word(5)
		if term == "" {
			continue
		}
		tf := newTmplFinder(term, rng.IntN(4) != 0)
		n := rng.IntN(5)
		pieces := make([]string, n+1)
		values := make([]string, n)
		for j := range pieces {
			pieces[j] = word(7)
			if j < n {
				values[j] = word(6)
				if rng.IntN(4) == 0 {
					values[j] = word(2) + strings.ToUpper(term) + word(2)
				}
			}
		}
		if n > 0 && rng.IntN(3) == 0 {
			// The term split over a junction.
			j, cut := rng.IntN(n), rng.IntN(len(term)+1)
			pieces[j] += term[:cut]
			values[j] = term[cut:] + values[j]
		}
		checkDecide(t, tf, pieces, values)
	}
}

// FuzzTmplDecide checks decide against the expanded text; the data is
// pieces and values alternating, separated by '|'.
func FuzzTmplDecide(f *testing.F) {
	f.Add("Failed password", true, "Jan 1 sshd: Failed |password| for |root| from")
	f.Add("203.0.113.77", true, "from 203.0.|113.77| port")
	f.Add("ab", false, "xa|b|")
	f.Add("a.b", true, "|a|.|b|")
	f.Fuzz(func(t *testing.T, term string, boundaries bool, data string) {
		if term == "" || len(term) > 64 {
			return
		}
		parts := strings.Split(data, "|")
		var pieces, values []string
		for j, s := range parts {
			if j%2 == 0 {
				pieces = append(pieces, s)
			} else {
				values = append(values, s)
			}
		}
		if len(pieces) == len(values) {
			pieces = append(pieces, "")
		}
		checkDecide(t, newTmplFinder(term, boundaries), pieces, values)
	})
}
