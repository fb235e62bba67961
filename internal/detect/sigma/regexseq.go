package sigma

import (
	"math"
	"math/bits"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// classSeq is a necessary condition of a regular expression: every match
// holds len(sets) consecutive bytes, byte i in sets[i]. It catches what
// neither a required literal nor a class run does, such as
// `\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ "']{1}` (every match holds
// an alphanumeric byte, a dot and a blank or quote, in a row): Go's
// backtracker costs ~100 instructions a byte of a command line, the
// sequence test a vectorised byte search for its rarest position and a
// few table lookups where that byte is.
type classSeq struct {
	sets []byteSet
	// at is the position of the fewest-byte set; when that set is one
	// byte (b), positions are found with strings.IndexByte.
	at     int
	b      byte
	single bool
}

// minSeqBits is how selective a sequence must be to be worth testing
// before an expression (as a string of 1.5 random bytes).
const minSeqBits = 12

// in reports whether s holds the sequence.
func (c *classSeq) in(s string) bool {
	n := len(c.sets)
	if !c.single {
		for i := 0; i+n <= len(s); i++ {
			if c.at0(s, i) {
				return true
			}
		}
		return false
	}
	// Candidates are where byte b lies at position at.
	for from := c.at; from+n-c.at <= len(s); {
		k := strings.IndexByte(s[from:len(s)-(n-1-c.at)], c.b)
		if k < 0 {
			return false
		}
		if c.at0(s, from+k-c.at) {
			return true
		}
		from += k + 1
	}
	return false
}

// at0 reports whether the sequence lies at s[i:] (i+len(sets) <= len(s)).
func (c *classSeq) at0(s string, i int) bool {
	for j := range c.sets {
		b := s[i+j]
		if c.sets[j][b>>6]&(1<<(b&63)) == 0 {
			return false
		}
	}
	return true
}

// regexSeq returns the most selective class sequence every match of re
// (parsed with syntax.Perl) holds, or nil when none is selective enough.
func regexSeq(re *syntax.Regexp) *classSeq {
	var best []byteSet
	bestBits := 0.0
	var cur []byteSet
	closeCur := func() {
		if b := seqBits(cur); b > bestBits {
			best, bestBits = append([]byteSet(nil), cur...), b
		}
		cur = nil
	}
	var walk func(r *syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		switch r.Op {
		case syntax.OpConcat:
			for _, s := range r.Sub {
				walk(s)
			}
			return
		case syntax.OpCapture:
			walk(r.Sub[0])
			return
		case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
			syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpEmptyMatch:
			return // consumes nothing: the bytes around it are adjacent
		case syntax.OpLiteral:
			for _, c := range r.Rune {
				set, ok := oneByte(c, r.Flags&syntax.FoldCase != 0)
				if !ok {
					closeCur()
					continue
				}
				cur = append(cur, set)
			}
			return
		case syntax.OpCharClass:
			if set, ok := classByte(r); ok {
				cur = append(cur, set)
				return
			}
		case syntax.OpPlus, syntax.OpRepeat:
			lo, hi := 1, -1
			if r.Op == syntax.OpRepeat {
				lo, hi = r.Min, r.Max
			}
			if lo < 1 {
				break
			}
			set, ok := elemByte(r.Sub[0])
			if !ok {
				// The repeated part at least once: what it requires.
				closeCur()
				walk(r.Sub[0])
				closeCur()
				return
			}
			if lo == hi && lo <= 8 {
				for range lo {
					cur = append(cur, set)
				}
				return
			}
			// Its first lo bytes follow what came before, its last lo
			// bytes precede what comes after; the length between varies.
			k := min(lo, 8)
			for range k {
				cur = append(cur, set)
			}
			closeCur()
			for range k {
				cur = append(cur, set)
			}
			return
		}
		closeCur()
	}
	walk(re)
	closeCur()
	if bestBits < minSeqBits || len(best) < 2 {
		return nil
	}
	c := &classSeq{sets: best}
	fewest := 257
	for i := range best {
		if n := setSize(&best[i]); n < fewest {
			fewest, c.at = n, i
		}
	}
	if fewest == 1 {
		c.single = true
		for b := 0; b < 256; b++ {
			if best[c.at][b>>6]&(1<<(b&63)) != 0 {
				c.b = byte(b)
			}
		}
	}
	return c
}

// elemByte reports whether r matches exactly one byte, of set.
func elemByte(r *syntax.Regexp) (byteSet, bool) {
	switch r.Op {
	case syntax.OpLiteral:
		if len(r.Rune) == 1 {
			return oneByte(r.Rune[0], r.Flags&syntax.FoldCase != 0)
		}
	case syntax.OpCharClass:
		return classByte(r)
	case syntax.OpCapture:
		return elemByte(r.Sub[0])
	}
	return byteSet{}, false
}

// oneByte returns the set of bytes rune c matches (with its case folds
// when fold), when each of them is one byte (ASCII).
func oneByte(c rune, fold bool) (set byteSet, ok bool) {
	if c >= utf8.RuneSelf {
		return set, false
	}
	set.add(byte(c))
	if fold {
		for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
			if f >= utf8.RuneSelf {
				return set, false // k and s fold to non-ASCII runes
			}
			set.add(byte(f))
		}
	}
	return set, true
}

// classByte returns the set of a character class that matches ASCII
// runes only (so one byte each).
func classByte(r *syntax.Regexp) (set byteSet, ok bool) {
	if len(r.Rune) == 0 {
		return set, false
	}
	for i := 0; i+1 < len(r.Rune); i += 2 {
		lo, hi := r.Rune[i], r.Rune[i+1]
		if hi >= utf8.RuneSelf {
			return set, false
		}
		for c := lo; c <= hi; c++ {
			set.add(byte(c))
		}
	}
	return set, true
}

func setSize(s *byteSet) int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// seqBits estimates how selective a sequence is: the sum over its bytes
// of log2(256 / the set's size).
func seqBits(seq []byteSet) float64 {
	b := 0.0
	for i := range seq {
		b += math.Log2(256 / float64(setSize(&seq[i])))
	}
	return b
}
