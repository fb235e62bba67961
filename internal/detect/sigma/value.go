package sigma

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// spart is one piece of a Sigma string: a literal run or a wildcard.
type spart struct {
	lit  string
	wild byte // 0 for a literal, '*' or '?'
}

// pattern is a Sigma string value split into literals and wildcards.
type pattern []spart

// parseSigmaString splits s at unescaped * and ?. A backslash escapes *, ?
// and itself; any other backslash is literal (as in pySigma).
func parseSigmaString(s string) pattern {
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p = append(p, spart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
				continue
			}
			lit.WriteByte(c)
		case '*', '?':
			flush()
			p = append(p, spart{wild: c})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return p
}

func literalPattern(s string) pattern {
	if s == "" {
		return nil
	}
	return pattern{{lit: s}}
}

func (p pattern) hasWild() bool {
	for _, sp := range p {
		if sp.wild != 0 {
			return true
		}
	}
	return false
}

func (p pattern) literal() string {
	var b strings.Builder
	for _, sp := range p {
		b.WriteString(sp.lit)
	}
	return b.String()
}

// String renders the pattern back in Sigma syntax.
func (p pattern) String() string {
	var b strings.Builder
	for _, sp := range p {
		if sp.wild != 0 {
			b.WriteByte(sp.wild)
			continue
		}
		for i := 0; i < len(sp.lit); i++ {
			if c := sp.lit[i]; c == '*' || c == '?' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(sp.lit[i])
		}
	}
	return b.String()
}

func (p pattern) wrap(before, after bool) pattern {
	out := make(pattern, 0, len(p)+2)
	if before && (len(p) == 0 || p[0].wild != '*') {
		out = append(out, spart{wild: '*'})
	}
	out = append(out, p...)
	if after && (len(out) == 0 || out[len(out)-1].wild != '*') {
		out = append(out, spart{wild: '*'})
	}
	return out
}

// mapLiterals replaces every literal with f(literal).
func (p pattern) mapLiterals(f func(string) string) pattern {
	out := make(pattern, len(p))
	for i, sp := range p {
		if sp.wild == 0 {
			sp.lit = f(sp.lit)
		}
		out[i] = sp
	}
	return out
}

func utf16Bytes(s string, be bool) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, r := range u {
		if be {
			b = append(b, byte(r>>8), byte(r))
		} else {
			b = append(b, byte(r), byte(r>>8))
		}
	}
	return string(b)
}

// base64Offsets returns the three base64 forms of s as it can appear at any
// byte offset inside a longer encoded text (pySigma's algorithm).
func base64Offsets(s string) []string {
	start := [3]int{0, 2, 3}
	endTrim := [3]int{0, 3, 2}
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + s))
		end := len(enc) - endTrim[(len(s)+i)%3]
		if start[i] > end {
			continue
		}
		out = append(out, enc[start[i]:end])
	}
	return out
}

var windashChars = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// windash expands every dash or slash that starts a word (after a non-word
// character or at the start) into every Windows option prefix.
func windash(p pattern) []pattern {
	out := []pattern{nil}
	for i, sp := range p {
		if sp.wild != 0 {
			for j := range out {
				out[j] = append(out[j], sp)
			}
			continue
		}
		lits := windashLiteral(sp.lit, i == 0 || p[i-1].wild != 0)
		next := make([]pattern, 0, len(out)*len(lits))
		for _, o := range out {
			for _, l := range lits {
				n := append(append(pattern(nil), o...), spart{lit: l})
				next = append(next, n)
			}
		}
		out = next
		if len(out) > 4096 {
			return out
		}
	}
	return out
}

func isWordChar(c byte) bool {
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func windashLiteral(s string, atStart bool) []string {
	out := []string{""}
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '-' && s[i] != '/' {
			continue
		}
		prevNonWord := (i == 0 && atStart) || (i > 0 && !isWordChar(s[i-1]))
		nextWord := i+1 < len(s) && isWordChar(s[i+1])
		if !prevNonWord || !nextWord {
			continue
		}
		next := make([]string, 0, len(out)*len(windashChars))
		for _, o := range out {
			for _, d := range windashChars {
				next = append(next, o+s[last:i]+d)
			}
		}
		out = next
		last = i + 1
	}
	for i := range out {
		out[i] += s[last:]
	}
	return out
}

// expandPlaceholders replaces %name% in literals with every value of the
// named list.
func expandPlaceholders(p pattern, lists map[string][]string) ([]pattern, error) {
	out := []pattern{nil}
	for _, sp := range p {
		if sp.wild != 0 || !strings.Contains(sp.lit, "%") {
			for j := range out {
				out[j] = append(out[j], sp)
			}
			continue
		}
		s := sp.lit
		for len(s) > 0 {
			i := strings.IndexByte(s, '%')
			j := -1
			if i >= 0 {
				j = strings.IndexByte(s[i+1:], '%')
			}
			if i < 0 || j < 0 {
				for k := range out {
					out[k] = append(out[k], spart{lit: s})
				}
				break
			}
			if i > 0 {
				for k := range out {
					out[k] = append(out[k], spart{lit: s[:i]})
				}
			}
			name := s[i+1 : i+1+j]
			vals, ok := lists[name]
			if !ok {
				return nil, &SkipError{Reason: ReasonPlaceholder, Detail: "%" + name + "%"}
			}
			next := make([]pattern, 0, len(out)*len(vals))
			for _, o := range out {
				for _, v := range vals {
					next = append(next, append(append(pattern(nil), o...), parseSigmaString(v)...))
				}
			}
			out = next
			s = s[i+j+2:]
		}
	}
	return out, nil
}

// matcher ops.
const (
	opEq uint8 = iota
	opPrefix
	opSuffix
	opContains
	opGlob
	opAny // "*": any present value
	opRegex
	opCIDR
	opGT
	opGTE
	opLT
	opLTE
	opExists
	opNull
	opFieldRef
	opTime
)

// matcher tests one field value. The fields the common literal tests read
// (op, cased, nid, s) come first, in one cache line. What the rarer tests
// need (globs, regular expressions, prefixes) is behind x, so a matcher
// holds at most two pointers: the compiled rule set has tens of thousands
// of matchers, and the garbage collector scans each at every cycle.
type matcher struct {
	op    uint8
	sub   uint8 // opFieldRef: the string op; opTime: the time part
	cased bool
	want  bool // opExists
	// nid is 1 + the prefilter needle key (this leaf's slot, s) when one
	// exists (opContains, opEq), else 0: once the event was scanned, a
	// literal the scan did not see in this field is not there.
	nid int32
	// soff and slen place the literal in Engine.lits (see lit): once
	// compiled, a leaf's matchers read it there and s is "".
	soff, slen uint32
	s          string      // the literal (lower-cased unless cased) while compiling
	x          *matcherExt // opGlob, opRegex, opCIDR; nil for the others
	num        float64
	ref        int32 // opFieldRef: the slot of the other field
}

// lit returns the literal of a compiled matcher; lits is Engine.lits.
func (m *matcher) lit(lits string) string { return packedAt(lits, m.soff, m.slen) }

// matcherExt is what a glob, regular expression or CIDR matcher needs.
type matcherExt struct {
	// glob: opGlob: segments split at *, each may hold ? (as '\x00');
	// opRegex: every literal a match contains.
	glob []string
	re   *regexp.Regexp
	run  *classRun // opRegex: a class run every match holds (nil: none)
	seq  *classSeq // opRegex: a class sequence every match holds (nil: none)
	pfx  netip.Prefix
}

func lowerIf(s string, cased bool) string {
	if cased {
		return s
	}
	return toLower(s)
}

// patternMatcher turns a Sigma string pattern into a matcher.
func patternMatcher(p pattern, cased bool) matcher {
	n := len(p)
	switch {
	case n == 0:
		return matcher{op: opEq, cased: cased}
	case !p.hasWild():
		return matcher{op: opEq, cased: cased, s: lowerIf(p.literal(), cased)}
	case n == 1 && p[0].wild == '*':
		return matcher{op: opAny}
	case n == 2 && p[0].wild == 0 && p[1].wild == '*':
		return matcher{op: opPrefix, cased: cased, s: lowerIf(p[0].lit, cased)}
	case n == 2 && p[0].wild == '*' && p[1].wild == 0:
		return matcher{op: opSuffix, cased: cased, s: lowerIf(p[1].lit, cased)}
	case n == 3 && p[0].wild == '*' && p[1].wild == 0 && p[2].wild == '*':
		return matcher{op: opContains, cased: cased, s: lowerIf(p[1].lit, cased)}
	}
	// General glob: segments between stars; '?' kept as a marker byte.
	var glob []string
	var seg strings.Builder
	for _, sp := range p {
		switch sp.wild {
		case '*':
			glob = append(glob, seg.String())
			seg.Reset()
		case '?':
			seg.WriteByte(0)
		default:
			seg.WriteString(lowerIf(sp.lit, cased))
		}
	}
	glob = append(glob, seg.String())
	return matcher{op: opGlob, cased: cased, x: &matcherExt{glob: glob}}
}

// needle returns a literal every matching value contains (lower-cased), or
// "" when there is none worth using.
func (m *matcher) needle() string {
	var s string
	switch m.op {
	case opEq, opPrefix, opSuffix, opContains:
		s = m.s
	case opGlob:
		for _, g := range m.x.glob {
			for _, part := range strings.Split(g, "\x00") {
				if len(part) > len(s) {
					s = part
				}
			}
		}
	case opRegex:
		s = m.s
	default:
		return ""
	}
	s = toLower(s)
	if len(s) < minNeedle {
		return "" // too common to be worth it (a non-ASCII character is not)
	}
	if len(s) > maxNeedle {
		// Any part of the literal is a valid needle; file names and
		// extensions make endswith literals distinctive at their end.
		if m.op == opSuffix {
			s = s[len(s)-maxNeedle:]
		} else {
			s = s[:maxNeedle]
		}
		for !utf8.ValidString(s) && len(s) > 0 { // do not cut a character
			s = s[:len(s)-1]
		}
	}
	return s
}

const (
	minNeedle = 4
	maxNeedle = 16
)

// regexLiterals returns literals every match must contain (from the
// top-level concatenation, descending into groups and repetitions of at
// least one) and whether they match case-insensitively (all fold or none;
// mixed folding gives nothing). re is parsed with syntax.Perl.
func regexLiterals(re *syntax.Regexp) ([]string, bool) {
	var lits []string
	folds := map[bool]bool{}
	var walk func(r *syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		switch r.Op {
		case syntax.OpLiteral:
			lits = append(lits, string(r.Rune))
			folds[r.Flags&syntax.FoldCase != 0] = true
		case syntax.OpConcat:
			for _, s := range r.Sub {
				walk(s)
			}
		case syntax.OpCapture, syntax.OpPlus:
			walk(r.Sub[0])
		case syntax.OpRepeat:
			if r.Min >= 1 {
				walk(r.Sub[0])
			}
		}
	}
	walk(re.Simplify())
	if len(folds) > 1 {
		return nil, false
	}
	return lits, folds[true]
}

// itemSpec is what the modifier chain of one item decided.
type itemSpec struct {
	all   bool
	neg   bool
	cased bool
}

// compileValues applies the modifier chain to an item's values and returns
// the matcher groups: AND over groups, OR inside a group.
func (c *compiler) compileValues(it *Item) ([][]matcher, itemSpec, error) {
	var spec itemSpec
	mods := it.Modifiers
	kind := "" // re, cidr, gt, gte, lt, lte, exists, fieldref, time part
	reFlags := ""
	var strMods []string
	for _, m := range mods {
		switch m {
		case "all":
			spec.all = true
		case "cased":
			spec.cased = true
		case "neq":
			spec.neg = true
		case "re", "cidr", "gt", "gte", "lt", "lte", "exists", "fieldref",
			"minute", "hour", "day", "week", "month", "year":
			if kind != "" && kind != "fieldref" {
				return nil, spec, fmt.Errorf("modifier %s cannot follow %s", m, kind)
			}
			kind = m
		case "i", "m", "s", "ignorecase", "multiline", "dotall":
			if kind != "re" {
				return nil, spec, fmt.Errorf("regular expression flag %s needs the re modifier before it", m)
			}
			reFlags += m[:1]
		case "contains", "startswith", "endswith", "base64", "base64offset",
			"wide", "utf16le", "utf16be", "utf16", "windash", "expand":
			strMods = append(strMods, m)
		default:
			return nil, spec, &SkipError{Reason: ReasonModifier, Detail: m}
		}
	}
	if len(it.Values) == 0 {
		return [][]matcher{{}}, spec, nil // an empty list matches nothing
	}
	var groups [][]matcher
	for _, v := range it.Values {
		ms, err := c.valueMatchers(v, kind, reFlags, strMods, spec.cased, it.Field == "")
		if err != nil {
			return nil, spec, err
		}
		if spec.all {
			groups = append(groups, ms)
		} else if len(groups) == 0 {
			groups = append(groups, ms)
		} else {
			groups[0] = append(groups[0], ms...)
		}
	}
	return groups, spec, nil
}

func (c *compiler) valueMatchers(v Value, kind, reFlags string, strMods []string, cased, keyword bool) ([]matcher, error) {
	if v.Null && kind == "" {
		return []matcher{{op: opNull}}, nil
	}
	switch kind {
	case "re":
		return regexMatcher(v.S, reFlags)
	case "cidr":
		pfx, err := netip.ParsePrefix(strings.TrimSpace(v.S))
		if err != nil {
			addr, aerr := netip.ParseAddr(strings.TrimSpace(v.S))
			if aerr != nil {
				return nil, fmt.Errorf("cidr: %w", err)
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		return []matcher{{op: opCIDR, x: &matcherExt{pfx: pfx.Masked()}}}, nil
	case "gt", "gte", "lt", "lte":
		f, err := strconv.ParseFloat(v.S, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: want a number, got %q", kind, v.S)
		}
		op := map[string]uint8{"gt": opGT, "gte": opGTE, "lt": opLT, "lte": opLTE}[kind]
		return []matcher{{op: op, num: f}}, nil
	case "exists":
		b, err := strconv.ParseBool(v.S)
		if err != nil {
			return nil, fmt.Errorf("exists: want true or false, got %q", v.S)
		}
		return []matcher{{op: opExists, want: b}}, nil
	case "fieldref":
		sub := opEq
		for _, m := range strMods {
			switch m {
			case "contains":
				sub = opContains
			case "startswith":
				sub = opPrefix
			case "endswith":
				sub = opSuffix
			default:
				return nil, fmt.Errorf("modifier %s cannot combine with fieldref", m)
			}
		}
		return []matcher{{op: opFieldRef, sub: sub, cased: cased, ref: c.slot(v.S)}}, nil
	case "minute", "hour", "day", "week", "month", "year":
		n, err := strconv.Atoi(v.S)
		if err != nil {
			return nil, fmt.Errorf("%s: want an integer, got %q", kind, v.S)
		}
		return []matcher{{op: opTime, sub: timePart(kind), num: float64(n)}}, nil
	}
	pats := []pattern{parseSigmaString(v.S)}
	if keyword && len(strMods) == 0 && !pats[0].hasWild() {
		// A bare keyword is a full-text search: it may appear anywhere.
		pats[0] = pats[0].wrap(true, true)
	}
	for _, m := range strMods {
		var err error
		pats, err = c.applyStringModifier(m, pats)
		if err != nil {
			return nil, err
		}
	}
	ms := make([]matcher, 0, len(pats))
	for _, p := range pats {
		ms = append(ms, patternMatcher(p, cased))
	}
	return ms, nil
}

func (c *compiler) applyStringModifier(m string, pats []pattern) ([]pattern, error) {
	var out []pattern
	for _, p := range pats {
		switch m {
		case "contains":
			out = append(out, p.wrap(true, true))
		case "startswith":
			out = append(out, p.wrap(false, true))
		case "endswith":
			out = append(out, p.wrap(true, false))
		case "base64", "base64offset":
			if p.hasWild() {
				return nil, fmt.Errorf("%s: the value has wildcards", m)
			}
			if m == "base64" {
				out = append(out, literalPattern(base64.StdEncoding.EncodeToString([]byte(p.literal()))))
				continue
			}
			for _, s := range base64Offsets(p.literal()) {
				out = append(out, literalPattern(s))
			}
		case "wide", "utf16le":
			out = append(out, p.mapLiterals(func(s string) string { return utf16Bytes(s, false) }))
		case "utf16be":
			out = append(out, p.mapLiterals(func(s string) string { return utf16Bytes(s, true) }))
		case "utf16":
			q := p.mapLiterals(func(s string) string { return utf16Bytes(s, false) })
			out = append(out, append(pattern{{lit: "\xff\xfe"}}, q...))
		case "windash":
			out = append(out, windash(p)...)
		case "expand":
			ps, err := expandPlaceholders(p, c.placeholders)
			if err != nil {
				return nil, err
			}
			out = append(out, ps...)
		}
	}
	return out, nil
}

func regexMatcher(expr, flags string) ([]matcher, error) {
	if flags != "" {
		expr = "(?" + flags + ")" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, &SkipError{Reason: ReasonRegex, Detail: err.Error()}
	}
	// A literal every match contains makes a cheap test before the regular
	// expression runs (and a prefilter needle).
	// regexp.Compile parses with syntax.Perl too, so this does not fail.
	syn, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, &SkipError{Reason: ReasonRegex, Detail: err.Error()}
	}
	lits, fold := regexLiterals(syn)
	m := matcher{op: opRegex, cased: !fold, x: &matcherExt{re: re, run: regexRun(syn), seq: regexSeq(syn)}}
	for _, l := range lits {
		if fold {
			l = toLower(l)
		}
		if len(l) > len(m.s) {
			m.s = l
		}
		m.x.glob = append(m.x.glob, l) // every required literal, checked before the expression runs
	}
	return []matcher{m}, nil
}

func timePart(kind string) uint8 {
	switch kind {
	case "minute":
		return 0
	case "hour":
		return 1
	case "day":
		return 2
	case "week":
		return 3
	case "month":
		return 4
	}
	return 5
}
