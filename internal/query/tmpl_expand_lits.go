package query

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Required literal sets of a regexp: sets of strings such that every
// text the regexp matches contains one string of each set (case-
// sensitively). requiredLiteral (plan.go) gives the longest literal run;
// the sets add the other runs and the runs through small alternations
// (`user (root|admin) from 1` gives {"user root from 1", "user admin
// from 1"}), so a cheap substring search rules out most texts before the
// regexp engine runs (regex_count on the 10M benchmark: the engine ran
// on every row of the skeletons that hold the longest run).

const (
	maxLitSet = 16  // strings in one set
	maxLitLen = 256 // bytes of one string
)

// litInfo is what one node of a regexp says: exact, when not nil, lists
// every text the node can match; sets are required sets inside it.
type litInfo struct {
	exact []string
	sets  [][]string
}

// requiredSets returns the required literal sets of pattern (Perl
// syntax, as regexp.Compile), leaving out sets that hold an empty string
// (they require nothing); nil when there are none or it does not parse.
func requiredSets(pattern string) [][]string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	li := litsOf(re.Simplify())
	sets := li.sets
	if li.exact != nil {
		sets = append(sets, li.exact)
	}
	out := sets[:0]
	for _, s := range sets {
		if len(s) > 0 && !hasEmpty(s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func hasEmpty(s []string) bool {
	for _, x := range s {
		if x == "" {
			return true
		}
	}
	return false
}

func litsOf(re *syntax.Regexp) litInfo {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 || slices.Contains(re.Rune, utf8.RuneError) {
			// Folded, or U+FFFD, which the engine matches against
			// invalid UTF-8 too: not byte for byte.
			return litInfo{}
		}
		return litInfo{exact: []string{string(re.Rune)}}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		// Zero-width: the node's text is empty.
		return litInfo{exact: []string{""}}
	case syntax.OpCapture:
		return litsOf(re.Sub[0])
	case syntax.OpPlus, syntax.OpRepeat:
		if re.Op == syntax.OpRepeat && re.Min < 1 {
			return litInfo{}
		}
		// At least one repetition: what it requires, the node does.
		li := litsOf(re.Sub[0])
		sets := li.sets
		if li.exact != nil && !hasEmpty(li.exact) {
			sets = append(sets, li.exact)
		}
		return litInfo{sets: sets}
	case syntax.OpAlternate:
		var exact []string
		for _, sub := range re.Sub {
			li := litsOf(sub)
			if li.exact == nil || len(exact)+len(li.exact) > maxLitSet {
				return litInfo{}
			}
			exact = append(exact, li.exact...)
		}
		return litInfo{exact: exact}
	case syntax.OpConcat:
		var out litInfo
		cur, exact := []string{""}, true
		flush := func() {
			if !hasEmpty(cur) {
				out.sets = append(out.sets, cur)
			}
		}
		for _, sub := range re.Sub {
			li := litsOf(sub)
			out.sets = append(out.sets, li.sets...)
			if li.exact == nil {
				flush()
				cur, exact = []string{""}, false
				continue
			}
			if next, ok := crossLits(cur, li.exact); ok {
				cur = next
				continue
			}
			// Too many or too long: the run so far and this node's
			// texts are each required on their own.
			flush()
			cur, exact = li.exact, false
		}
		if exact {
			out.exact = cur
			return out
		}
		flush()
		return out
	}
	return litInfo{} // repeats, classes, any byte: texts not listed
}

// crossLits returns every a+b, unless there are too many or too long.
func crossLits(a, b []string) ([]string, bool) {
	if len(a)*len(b) > maxLitSet {
		return nil, false
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			if len(x)+len(y) > maxLitLen {
				return nil, false
			}
			out = append(out, x+y)
		}
	}
	return out, true
}

// beyond drops the sets that holding lit already satisfies (a set with a
// member inside lit): a value is checked for lit first, so those would
// be searched for twice.
func beyond(sets [][]string, lit string) [][]string {
	out := sets[:0:0]
	for _, set := range sets {
		if !slices.ContainsFunc(set, func(x string) bool { return strings.Contains(lit, x) }) {
			out = append(out, set)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// holdsSets reports whether s contains a string of each set.
func holdsSets(s string, sets [][]string) bool {
	for _, set := range sets {
		ok := false
		for _, x := range set {
			if strings.Contains(s, x) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
