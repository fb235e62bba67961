package query

import (
	"math/bits"
	"regexp/syntax"
)

// rxAuto is a regexp's program (regexp/syntax, as regexp compiles it) as
// a bit-parallel NFA over ASCII bytes, for the window walks
// (tmpl_regex_walk.go): a state is the set of the program's consuming
// instructions (and its match) that some thread stands at. A walk over
// a text that injects a thread at each position up to some limit finds
// whether a match starts there, and stops as soon as no thread is left
// and none will be injected. Only regexps without empty-width assertions
// and of at most rxMaxStates consuming instructions have one; a byte
// outside ASCII stops a walk (the caller then uses the regexp).
type rxAuto struct {
	words int     // words of a set in use
	match int     // the match's bit
	init  rxSet   // the threads a new start adds (closure of the start)
	out   []rxSet // by state: the closure of the instruction after it
	acc   [128]rxSet
}

// rxMaxStates bounds the program (its consuming instructions and match).
const rxMaxStates = 256

// rxSet is a set of rxAuto states.
type rxSet [rxMaxStates / 64]uint64

// newRxAuto compiles pattern (syntax.Perl, as regexp.Compile parses it);
// nil when it has an assertion or too many states.
func newRxAuto(pattern string) *rxAuto {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil
	}
	state := make([]int, len(prog.Inst)) // by pc: its bit + 1, or 0
	n := 0
	for pc := range prog.Inst {
		switch prog.Inst[pc].Op {
		case syntax.InstEmptyWidth:
			return nil
		case syntax.InstMatch, syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			n++
			state[pc] = n
		}
	}
	if n > rxMaxStates {
		return nil
	}
	a := &rxAuto{words: (n + 63) / 64, out: make([]rxSet, n), match: -1}
	closure := func(pc uint32) rxSet {
		var s rxSet
		seen := make([]bool, len(prog.Inst))
		stack := []uint32{pc}
		for len(stack) > 0 {
			pc := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[pc] {
				continue
			}
			seen[pc] = true
			in := &prog.Inst[pc]
			switch in.Op {
			case syntax.InstAlt, syntax.InstAltMatch:
				stack = append(stack, in.Out, in.Arg)
			case syntax.InstCapture, syntax.InstNop:
				stack = append(stack, in.Out)
			case syntax.InstFail:
			default:
				b := state[pc] - 1
				s[b>>6] |= 1 << (b & 63)
			}
		}
		return s
	}
	a.init = closure(uint32(prog.Start))
	for pc := range prog.Inst {
		in := &prog.Inst[pc]
		b := state[pc] - 1
		if b < 0 {
			continue
		}
		if in.Op == syntax.InstMatch {
			a.match = b
			continue
		}
		a.out[b] = closure(in.Out)
		for c := range rune(128) {
			var ok bool
			switch in.Op {
			case syntax.InstRune1:
				ok = c == in.Rune[0]
			case syntax.InstRune:
				ok = in.MatchRune(c)
			case syntax.InstRuneAny:
				ok = true
			case syntax.InstRuneAnyNotNL:
				ok = c != '\n'
			}
			if ok {
				a.acc[c][b>>6] |= 1 << (b & 63)
			}
		}
	}
	if a.match < 0 {
		return nil // matches nothing: the regexp decides (cheaply)
	}
	return a
}

// step returns the threads of s after ASCII byte c (injections not
// added).
func (a *rxAuto) step(s *rxSet, c byte) rxSet {
	var next rxSet
	acc := &a.acc[c]
	for w := 0; w < a.words; w++ {
		for m := s[w] & acc[w]; m != 0; m &= m - 1 {
			o := &a.out[w<<6|bits.TrailingZeros64(m)]
			for x := 0; x < a.words; x++ {
				next[x] |= o[x]
			}
		}
	}
	return next
}

// matched reports whether s holds the match.
func (a *rxAuto) matched(s *rxSet) bool { return s[a.match>>6]>>(a.match&63)&1 != 0 }

// empty reports whether s holds no thread.
func (a *rxAuto) empty(s *rxSet) bool {
	for w := 0; w < a.words; w++ {
		if s[w] != 0 {
			return false
		}
	}
	return true
}

// rxWalk is a walk of an rxAuto over a text fed piece by piece: threads
// start at every position up to lim (a position counts from the walk's
// start).
type rxWalk struct {
	st  rxSet
	pos int
	lim int
}

// Walk verdicts.
const (
	walkOn    = iota // more text may decide
	walkMatch        // a match lies in the text fed
	walkNone         // no match starting at or before lim can lie in any continuation
	walkBail         // a byte outside ASCII: the walk cannot tell
)

// start begins a walk whose matches must start at or before lim.
func (a *rxAuto) start(lim int) (rxWalk, int) {
	w := rxWalk{st: a.init, lim: lim}
	if a.matched(&w.st) {
		return w, walkMatch
	}
	return w, walkOn
}

// feed walks w over s.
func (a *rxAuto) feed(w *rxWalk, s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return walkBail
		}
		w.st = a.step(&w.st, c)
		w.pos++
		if w.pos <= w.lim {
			for x := 0; x < a.words; x++ {
				w.st[x] |= a.init[x]
			}
		}
		if a.matched(&w.st) {
			return walkMatch
		}
		if w.pos >= w.lim && a.empty(&w.st) {
			return walkNone
		}
	}
	return walkOn
}

// setLim sets the limit of w's starts to lim (at or after w's position),
// injecting at w's position when it is newly inside it.
func (a *rxAuto) setLim(w *rxWalk, lim int) int {
	if w.pos > w.lim && w.pos <= lim {
		for x := 0; x < a.words; x++ {
			w.st[x] |= a.init[x]
		}
	}
	w.lim = lim
	if a.matched(&w.st) {
		return walkMatch
	}
	if w.pos >= w.lim && a.empty(&w.st) {
		return walkNone
	}
	return walkOn
}
