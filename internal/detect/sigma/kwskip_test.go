package sigma

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// kwSkipDetection is a rule whose keyword searches mix literals the
// prefilter knows (needles of 4 bytes or more, one cut to 16) with ones it
// does not (short, wildcards), in three searches: a keyword
// literal is skipped only when its needle is one the event's scan looked
// for and did not see.
const kwSkipDetection = `  kw1:
    - 'mimikatz'
    - 'ab'
    - 'sekurlsa::logonpasswords'
    - 'x*y'
  kw2:
    - 'Kiwi'
    - 'LEGIT'
  kw3:
    - 'gentilkiwi'
    - 'zz'
  condition: kw1 and (kw2 or kw3)
`

var kwSkipWords = []string{"mimikatz", "MIMIKATZ", "ab", "AB", "sekurlsa::logonpasswords", "sekurlsa::logon",
	"x", "y", "xqy", "Kiwi", "kiwi", "LEGIT", "legit", "gentilkiwi", "GentilKiwi", "zz", "é", "İ", "\u212a", "mimi", "katz", " ", "::"}

// TestKeywordSkipSameResults matches random events (with and without a
// raw text, values inside it or not) against the engine with the
// prefilter and without: keyword literals skipped because the scan did not
// see their needle never change a result.
func TestKeywordSkipSameResults(t *testing.T) {
	fast := compileOne(t, kwSkipDetection, Options{})
	slow := compileOne(t, kwSkipDetection, Options{NoPrefilter: true})
	rng := rand.New(rand.NewPCG(5, 11))
	hits := 0
	for i := 0; i < 20000; i++ {
		ev := randomKWEvent(rng)
		got, want := matches(fast, ev), matches(slow, ev)
		if got != want {
			t.Fatalf("event %+v: matched %v, reference %v", ev, got, want)
		}
		if want {
			hits++
		}
	}
	if hits < 100 {
		t.Fatalf("only %d of the random events match: the test checks little", hits)
	}
}

// randomKWEvent makes an event of words from kwSkipWords: a raw text of
// its fields' values, which lie in it, or fields of their own.
func randomKWEvent(rng *rand.Rand) *event.Event {
	n := 1 + rng.IntN(5)
	var vals []string
	for range n {
		var b strings.Builder
		for range 1 + rng.IntN(3) {
			b.WriteString(kwSkipWords[rng.IntN(len(kwSkipWords))])
		}
		vals = append(vals, b.String())
	}
	ev := &event.Event{}
	if rng.IntN(2) == 0 {
		ev.Raw = strings.Join(vals, "|")
		at := 0
		for i, v := range vals {
			ev.Fields = append(ev.Fields, event.Field{Name: string(rune('a' + i)), Value: ev.Raw[at : at+len(v)]})
			at += len(v) + 1
		}
	} else {
		for i, v := range vals {
			ev.Fields = append(ev.Fields, event.Field{Name: string(rune('a' + i)), Value: v})
		}
	}
	return ev
}

// TestKeywordMatcherKeysSorted checks kwMatcher.has's premise on every
// SigmaHQ rule: each keyword matcher's keys are sorted.
func TestKeywordMatcherKeysSorted(t *testing.T) {
	e := loadAllEngine(t)
	n := 0
	for _, m := range e.pf.altKW {
		if m != nil {
			n++
			if !slices.IsSorted(m.keys) {
				t.Fatalf("keyword matcher %d: keys not sorted", m.id)
			}
		}
	}
	st := e.pool.Get().(*state)
	defer e.pool.Put(st)
	var ms []*kwMatcher
	for _, m := range e.pf.altKW {
		if m != nil && !slices.Contains(ms, m) {
			ms = append(ms, m)
		}
	}
	if len(ms) > 1 {
		if m := e.mergedKW(st, ms[:min(len(ms), 8)]); !slices.IsSorted(m.keys) {
			t.Fatal("merged keyword matcher: keys not sorted")
		}
	}
	if n == 0 {
		t.Fatal("no keyword matchers")
	}
}

// TestNonASCIIGroup checks the ASCII shortcut of groups of non-ASCII
// literals (emoji, keycaps that start with an ASCII byte, homoglyphs)
// against a plain substring search.
func TestNonASCIIGroup(t *testing.T) {
	lits := []string{"#\ufe0f\u20e3", "1\ufe0f\u20e3", "\U0001F600", "\u0430dmin", "\u202e", "p\u043ewershell", "\u00e9t\u00e9", "x\u0456"}
	det := "  sel:\n    CommandLine|contains:\n"
	for _, l := range lits {
		det += "      - '" + l + "'\n"
	}
	det += "  condition: sel\n"
	e := compileOne(t, det, Options{})
	var leaf *leafNode
	walkMatchersLeaf(e, func(n *leafNode) { leaf = n })
	if leaf == nil || leaf.nonASCII&1 == 0 {
		t.Fatal("the group is not marked non-ASCII")
	}
	values := []string{"cmd /c #1 echo 1", "powershell -enc AAAA", "\u0430dmin", "x \u0430DMIN y", "#\ufe0f\u20e3", "abc\U0001F600",
		"P\u041eWERSHELL", "\u00c9T\u00c9", "ascii only 1234567890 #*", "", "\u212a", "x\u0406"}
	for _, v := range values {
		want := false
		for _, l := range lits {
			want = want || strings.Contains(strings.ToLower(v), l)
		}
		if got := matches(e, fields("CommandLine", v)); got != want {
			t.Errorf("%q: matched %v, want %v", v, got, want)
		}
	}
	// A group with one ASCII literal is not marked.
	e2 := compileOne(t, "  sel:\n    CommandLine|contains:\n      - '\u0430dmin'\n      - 'p\u043ewershell'\n      - '\u00e9t\u00e9'\n      - 'plain'\n  condition: sel\n", Options{})
	walkMatchersLeaf(e2, func(n *leafNode) { leaf = n })
	if leaf.nonASCII != 0 {
		t.Fatal("a group with an ASCII literal is marked non-ASCII")
	}
	if !matches(e2, fields("CommandLine", "a PLAIN text")) {
		t.Fatal("the ASCII literal does not match")
	}
}

// walkMatchersLeaf calls fn for every leaf of e's rules.
func walkMatchersLeaf(e *Engine, fn func(*leafNode)) {
	var walk func(n node)
	walk = func(n node) {
		switch n := n.(type) {
		case andNode:
			for _, x := range n {
				walk(x)
			}
		case orNode:
			for _, x := range n {
				walk(x)
			}
		case ofNode:
			for _, x := range n.xs {
				walk(x)
			}
		case notNode:
			walk(n.x)
		case *leafNode:
			fn(n)
		}
	}
	for _, r := range e.rules {
		for _, ar := range r.alts {
			walk(ar.cond)
		}
	}
}
