package sigma

import (
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// classRun is a necessary condition of a regular expression: every match
// holds at least n consecutive bytes of set. Expressions without a literal
// (`\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}`, `[A-Za-z0-9+/]{50,}`) get no
// prefilter and run on every value of their field; counting the longest
// run of the class's bytes costs a table lookup per byte, several times
// less than running the expression on a value that cannot match.
type classRun struct {
	set byteSet
	n   int
}

// minClassRun is the shortest run worth testing before an expression.
const minClassRun = 6

// in reports whether s holds n consecutive bytes of the set.
func (c *classRun) in(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if c.set[b>>6]&(1<<(b&63)) == 0 {
			run = 0
			continue
		}
		if run++; run >= c.n {
			return true
		}
	}
	return false
}

// regexRun returns the longest class run every match of re (parsed with
// syntax.Perl) holds, or nil when none is at least minClassRun long.
func regexRun(re *syntax.Regexp) *classRun {
	best := requiredRun(re)
	if best.n < minClassRun {
		return nil
	}
	return &best
}

// requiredRun returns the longest class run that every match of r holds
// (n = 0: none found). It looks into the parts every match goes through:
// concatenations, captures and repetitions of at least one.
func requiredRun(r *syntax.Regexp) classRun {
	switch r.Op {
	case syntax.OpCapture:
		return requiredRun(r.Sub[0])
	case syntax.OpPlus, syntax.OpRepeat:
		if r.Op == syntax.OpRepeat && r.Min < 1 {
			return classRun{}
		}
		if set, n, ok := classOf(r); ok {
			return classRun{set: set, n: n}
		}
		return requiredRun(r.Sub[0])
	case syntax.OpConcat:
		var best, cur classRun
		for _, s := range r.Sub {
			set, n, ok := classOf(s)
			switch {
			case !ok:
				cur = classRun{}
				if sub := requiredRun(s); sub.n > best.n {
					best = sub
				}
				continue
			case cur.n > 0 && set == cur.set:
				cur.n += n
			default:
				cur = classRun{set: set, n: n}
			}
			if cur.n > best.n {
				best = cur
			}
		}
		return best
	}
	if set, n, ok := classOf(r); ok {
		return classRun{set: set, n: n}
	}
	return classRun{}
}

// classOf reports whether r matches only runs of bytes of one set, at
// least n long: a character class, a literal (the set of its bytes), or a
// repetition of one of them at least once. Non-ASCII runes put every byte
// from 0x80 up in the set (their UTF-8 bytes are all there).
func classOf(r *syntax.Regexp) (set byteSet, n int, ok bool) {
	addRune := func(c rune) {
		if c < utf8.RuneSelf {
			set.add(byte(c))
		} else {
			for b := 0x80; b <= 0xff; b++ {
				set.add(byte(b))
			}
		}
	}
	switch r.Op {
	case syntax.OpLiteral:
		for _, c := range r.Rune {
			addRune(c)
			if r.Flags&syntax.FoldCase != 0 {
				for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
					addRune(f)
				}
			}
		}
		return set, len(r.Rune), len(r.Rune) > 0
	case syntax.OpCharClass:
		for i := 0; i+1 < len(r.Rune); i += 2 {
			lo, hi := r.Rune[i], r.Rune[i+1]
			for c := lo; c <= hi && c < utf8.RuneSelf; c++ {
				set.add(byte(c))
			}
			if hi >= utf8.RuneSelf {
				addRune(hi)
			}
		}
		return set, 1, len(r.Rune) > 0
	case syntax.OpPlus, syntax.OpRepeat:
		min := 1
		if r.Op == syntax.OpRepeat {
			min = r.Min
		}
		if set, n, ok := classOf(r.Sub[0]); ok && min >= 1 {
			return set, n * min, true
		}
	}
	return set, 0, false
}
