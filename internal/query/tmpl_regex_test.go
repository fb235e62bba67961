package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

func TestNewRegexWindow(t *testing.T) {
	f := func(pattern string, back, ahead int) {
		t.Helper()
		w := newRegexWindow(pattern, requiredLiteral(pattern))
		if back < 0 {
			if w != nil {
				t.Errorf("newRegexWindow(%q) = %+v, want nil", pattern, *w)
			}
			return
		}
		if w == nil || w.back != back || w.ahead != ahead {
			t.Errorf("newRegexWindow(%q) = %+v, want back %d ahead %d", pattern, w, back, ahead)
		}
	}
	f(`Failed password for invalid user (root|admin) from 1[0-9]{2}\.`, 0, 33+5+6+1+2+1)
	f(`user (root|admin)`, 0, 5+5)
	f(`(root|admin) from`, 5, 5)
	f(`x{2,3}abc`, 3, 3)
	f(`.abc.`, 4, 3+4)
	f(`abc`, 0, 3)
	f(`(?i)x(abc)`, -1, 0) // a literal in a capture: not at the top level
	f(`abca`, 3, 4+3)      // a border: overlapping occurrences widen it
	f(`abc.*x`, -1, 0)
	f(`abc+`, -1, 0) // simplified to a literal then a plus
	f(`^abc`, -1, 0)
	f(`abc$`, -1, 0)
	f(`\babc`, -1, 0)
	f(`(?i)abc`, -1, 0)
	f(`a\x01b`, -1, 0)
	f(`abc[^x]`, 0, 3+4)
	f(`abc[é]`, 0, 3+2)
}

// windowDecides reports what the windows of w decide on text: the regexp
// matches some window around an occurrence of the literal.
func windowDecides(re *regexp.Regexp, w *regexWindow, text string) bool {
	for from := 0; ; {
		j := strings.Index(text[from:], w.lit)
		if j < 0 {
			return false
		}
		p := from + j
		if re.MatchString(text[max(0, p-w.back):min(len(text), p+w.ahead)]) {
			return true
		}
		from = p + 1
	}
}

// TestRegexWindowRandom checks the claim of regexWindow on random texts
// and patterns: a text matches exactly when a window does.
func TestRegexWindowRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alpha := "ab. x1"
	rnd := func(n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteByte(alpha[rng.IntN(len(alpha))])
		}
		return sb.String()
	}
	atoms := []string{"a", "b", ".", "x", "[ab]", "[^a]", "(a|bb)", "a?", "(x|)", "b{1,3}", "[0-9]", `\.`, " ", "(ab|b.a){0,2}"}
	n := 0
	for range 3000 {
		var pb strings.Builder
		for range rng.IntN(3) {
			pb.WriteString(atoms[rng.IntN(len(atoms))])
		}
		pb.WriteString(regexp.QuoteMeta(rnd(1 + rng.IntN(3))))
		for range rng.IntN(3) {
			pb.WriteString(atoms[rng.IntN(len(atoms))])
		}
		pattern := pb.String()
		lit := requiredLiteral(pattern)
		w := newRegexWindow(pattern, lit)
		if w == nil {
			continue
		}
		n++
		re := regexp.MustCompile(pattern)
		for range 20 {
			text := rnd(rng.IntN(40))
			if got, want := windowDecides(re, w, text), re.MatchString(text); got != want {
				t.Fatalf("pattern %q (lit %q, back %d, ahead %d) on %q: windows say %v, regexp %v", pattern, lit, w.back, w.ahead, text, got, want)
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d patterns had windows", n)
	}
}

func FuzzRegexWindow(f *testing.F) {
	f.Add(`Failed password for invalid user (root|admin) from 1[0-9]{2}\.`, "Failed password for invalid user root from 123.4")
	f.Add(`(a|bb)x{1,2}aba`, "bbxxabababa")
	f.Add(`abca`, "abcabca")
	f.Fuzz(func(t *testing.T, pattern, text string) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		w := newRegexWindow(pattern, requiredLiteral(pattern))
		if w == nil {
			return
		}
		if got, want := windowDecides(re, w, text), re.MatchString(text); got != want {
			t.Fatalf("pattern %q (lit %q, back %d, ahead %d) on %q: windows say %v, regexp %v", pattern, w.lit, w.back, w.ahead, text, got, want)
		}
	})
}

// TestRegexWindowsOnStore compares regexps on _raw decided by windows on
// blocks with skeletons with plain loads.
func TestRegexWindowsOnStore(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	snap, ranges := skelSnapshot(t, skelEvents(4000, 3))
	queries := []string{
		`_raw matches /Failed password for invalid user (root|admin) from 20[0-9]\./ | count`,
		`_raw matches /Failed password for invalid user (root|admin|invalid user) from/ | count`,
		`_raw matches /for (root|admin|9lives) from 10\.0/ | count`,
		`_raw matches /sshd\[10[0-4][0-9]\]: Failed/ | count`,
		`_raw matches /[0-9]{2} host sshd/ | count`,
		`_raw matches /password for [a-z ]{4,12} from/ | count`,
		`_raw matches /user (root|bob7|x.y) from 203\.0\.113\.7[0-9]? port/ | count`,
		`_raw matches /ms by (9lives|root)[0-9]{1,3}/ | count`,
		`_raw matches /tx=[0-9]{1,2} user[0-9]{1,5}=/ | count`,
		`_raw matches /Failed password(| for) invalid/ | count`,
		`_raw matches /.{0,3}rx=1/ | count`,
		`_raw matches /escaped [0-9]{1,5} ./ | count`,
		`_raw matches /user Failed password from/ | count`,
	}
	samePlain(t, snap, queries, ranges, "regexp windows", func(_, want string) bool { return false })
	// Random regexps around pieces of the raw texts.
	evs := skelEvents(4000, 3)
	rng := rand.New(rand.NewPCG(7, 7))
	var random []string
	for len(random) < 60 {
		raw := evs[rng.IntN(len(evs))].Raw
		if len(raw) < 20 {
			continue
		}
		a := rng.IntN(len(raw) - 10)
		b := a + 4 + rng.IntN(min(20, len(raw)-a-4))
		lit := raw[a:b]
		if strings.ContainsAny(lit, "/\x01") {
			continue
		}
		pre := []string{"", ".", "[0-9]{0,2}", "(a|b|[a-z])?", ".{1,3}"}[rng.IntN(5)]
		post := []string{"", ".", "[0-9]{1,4}", "( |x)", ".{0,5}[a-z]"}[rng.IntN(5)]
		random = append(random, fmt.Sprintf("_raw matches /%s%s%s/ | count", pre, regexp.QuoteMeta(lit), post))
	}
	samePlain(t, snap, random, ranges, "random regexp windows", func(_, want string) bool { return false })
}

// TestWindowMatchRows decides regexps row by row with windowMatch and
// with the expanded text, and checks that windows decide most rows.
func TestWindowMatchRows(t *testing.T) {
	snap, _ := skelSnapshot(t, skelEvents(3000, 4))
	refs, _, err := snap.Blocks(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	patterns := []string{
		`Failed password for invalid user (root|admin) from 20[0-9]\.`,
		`password for (root|admin|9lives) from`,
		`sshd\[10[0-4][0-9]\]: Failed`,
		`ms by (9lives|root)[0-9]{1,3}`,
		`user[0-9]{1,5}=(root|x.y)`,
		`escaped [0-9]{1,5} .`,
	}
	for _, pattern := range patterns {
		re := regexp.MustCompile(pattern)
		lit := requiredLiteral(pattern)
		f := &fieldMatcher{slot: slotRaw, name: event.FieldRaw, lit: newTmplFinder(lit, false), win: newRegexWindow(pattern, lit),
			pred: re.MatchString}
		if f.win == nil {
			t.Fatalf("%q: no window", pattern)
		}
		used, rows := windowRows(t, refs, f, re, nil)
		if used < rows/2 {
			t.Errorf("%q: windows decided %d of %d rows", pattern, used, rows)
		}
	}
}

// windowRows decides f's regexp re with windowMatch on every present row
// of a skeleton in the blocks of refs, checks each row decided against re
// on the row's text, and calls block (when not nil) with each block's
// view after its rows; it returns the rows decided and the rows asked.
func windowRows(t *testing.T, refs []store.BlockRef, f *fieldMatcher, re *regexp.Regexp, block func(bv *blockView)) (used, rows int) {
	t.Helper()
	for _, ref := range refs {
		b, err := ref.(store.ColumnLoader).LoadWith([]string{event.FieldRaw}, store.LoadOptions{RawTemplates: true})
		if err != nil || b.Raw == nil {
			t.Fatalf("load: %v", err)
		}
		var bv blockView
		bv.reset(b, nil, map[string]int{})
		bv.ref = ref
		bv.setTemplates(b.Raw, nil)
		for i := range b.Rows() {
			id := b.Raw.SkeletonOf(i)
			if id < 0 || !b.Raw.Has(i) {
				continue
			}
			rows++
			got, ok := bv.windowMatch(f, id, i)
			if !ok {
				continue
			}
			used++
			raw, _ := bv.rawValue(i)
			if want := re.MatchString(raw); got != want {
				t.Errorf("%q on row %q: windows say %v, the text %v", re, raw, got, want)
			}
		}
		if block != nil {
			block(&bv)
		}
		if err := bv.tv.err; err != nil {
			t.Fatal(err)
		}
		b.Raw.Release()
	}
	return used, rows
}
