package sigma

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// node is a compiled boolean expression over one event.
type node interface {
	eval(st *state) bool
}

type andNode []node

func (n andNode) eval(st *state) bool {
	for _, x := range n {
		if !x.eval(st) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) eval(st *state) bool {
	for _, x := range n {
		if x.eval(st) {
			return true
		}
	}
	return false
}

type notNode struct{ x node }

func (n notNode) eval(st *state) bool { return !n.x.eval(st) }

// memoNode evaluates x at most once per event (routing conditions that
// many alternatives share).
type memoNode struct {
	id int32
	x  node
}

func (n *memoNode) eval(st *state) bool {
	if st.memoGen[n.id] != st.gen {
		st.memoGen[n.id] = st.gen
		st.memoVal[n.id] = n.x.eval(st)
	}
	return st.memoVal[n.id]
}

type constNode bool

func (n constNode) eval(*state) bool { return bool(n) }

// ofNode is true when at least n operands are (n == 0: all of them).
type ofNode struct {
	n  int
	xs []node
}

func (n ofNode) eval(st *state) bool {
	if n.n == 0 {
		return andNode(n.xs).eval(st)
	}
	hits := 0
	for _, x := range n.xs {
		if x.eval(st) {
			hits++
			if hits >= n.n {
				return true
			}
		}
	}
	return false
}

// leafNode tests one field: every group must have a matching matcher.
type leafNode struct {
	slot   int32
	groups [][]matcher
	neg    bool
	// first, when set for a group, holds every byte a literal of the group
	// can start with: a value without any of them cannot match (a cheap
	// test before many substring searches). nil when no group has one
	// (once compacted, see Engine.compact).
	first []*byteSet
	// quads, when set for a group, is a hashed set of the first four bytes
	// of every literal (all at least four long): a value with no such
	// window cannot match. Sharper than first for long lists (emoji).
	quads []*[quadWords]uint64
	quadK []int // window length of each group's quads (2 to 4)
	// multi, when set for a group, finds any of the group's contains
	// literals in one pass (long lists, such as emoji or homoglyphs).
	multi []*anchorMatcher
	// memo, when > 0, is the leaf's id in the value cache's memo tables:
	// its result depends on its slot's value only, and costs more to
	// compute than to look up (see memoWorthy, Engine.linkNeedles).
	memo int32
	// nonASCII has bit gi set when group gi has a first-byte set and every
	// literal of the group holds a non-ASCII byte (emoji, homoglyph and
	// bidi-control lists): no such literal occurs in an ASCII text, which
	// most values are, so the group fails at once on one.
	nonASCII uint64
}

// minMultiList is the contains-list size from which one pass of an anchor
// matcher beats a substring search per literal.
const minMultiList = 64

// multiMatcher returns an anchor matcher for a group of contains literals
// of one case mode, each at least 2 bytes long; nil otherwise.
func multiMatcher(g []matcher) *anchorMatcher {
	if len(g) < minMultiList {
		return nil
	}
	lits := make([]string, 0, len(g))
	seen := make(map[string]bool, len(g))
	for i := range g {
		m := &g[i]
		if m.op != opContains || m.cased != g[0].cased || len(m.s) < 2 {
			return nil
		}
		if !seen[m.s] {
			seen[m.s] = true
			lits = append(lits, m.s)
		}
	}
	// Long literals (hashes, cmdlet names) are found with fewer probes.
	return newAnchorMatcher(lits).withStride()
}

const (
	quadWords   = 64 // 4096 bits
	minQuadList = 8
)

func quadHash(v uint32) uint32 { return (v * 0x9E3779B1) >> (32 - 12) }

func anyQuadIn(s string, set *[quadWords]uint64, k int) bool {
	var v uint32
	mask := uint32(1)<<(8*k) - 1
	if k == 4 {
		mask = ^uint32(0)
	}
	for i := 0; i < len(s); i++ {
		v = v<<8 | uint32(s[i])
		if i >= k-1 {
			if h := quadHash(v & mask); set[h/64]&(1<<(h%64)) != 0 {
				return true
			}
		}
	}
	return false
}

// minFirstByteGroup is the group size from which the first-byte test pays.
const minFirstByteGroup = 4

// packLiterals copies the literals of a leaf into one string, so testing
// a list reads consecutive memory instead of one allocation per literal.
func packLiterals(groups [][]matcher) {
	var b strings.Builder
	for _, g := range groups {
		for i := range g {
			b.WriteString(g[i].s)
		}
	}
	buf, off := b.String(), 0
	for _, g := range groups {
		for i := range g {
			n := len(g[i].s)
			g[i].s = buf[off : off+n]
			off += n
		}
	}
}

func newLeafNode(slot int32, groups [][]matcher, neg bool) *leafNode {
	packLiterals(groups)
	n := &leafNode{slot: slot, groups: groups, neg: neg, first: make([]*byteSet, len(groups))}
	for gi, g := range groups {
		if mm := multiMatcher(g); mm != nil {
			if n.multi == nil {
				n.multi = make([]*anchorMatcher, len(groups))
			}
			n.multi[gi] = mm
		}
		if len(g) < minFirstByteGroup {
			continue
		}
		var set byteSet
		ok := true
		for i := range g {
			m := &g[i]
			if (m.op != opContains && m.op != opEq && m.op != opPrefix && m.op != opSuffix) || m.s == "" || m.cased != g[0].cased {
				ok = false
				break
			}
			set.add(m.s[0])
		}
		if !ok {
			continue
		}
		n.first[gi] = &set
		if gi < 64 && allNonASCII(g) {
			n.nonASCII |= 1 << gi
		}
		if len(g) < minQuadList {
			continue
		}
		k := 4
		for i := range g {
			k = min(k, len(g[i].s))
		}
		if k < 2 {
			continue
		}
		var quads [quadWords]uint64
		for i := range g {
			h := quadHash(packWindow(g[i].s[:k]))
			quads[h/64] |= 1 << (h % 64)
		}
		if n.quads == nil {
			n.quads = make([]*[quadWords]uint64, len(groups))
			n.quadK = make([]int, len(groups))
		}
		n.quads[gi], n.quadK[gi] = &quads, k
	}
	return n
}

// allNonASCII reports whether every literal of g holds a non-ASCII byte.
func allNonASCII(g []matcher) bool {
	for i := range g {
		if isASCII(g[i].s) {
			return false
		}
	}
	return true
}

// byteSet is a set of bytes in 32 bytes (half a cache line, where a
// [256]bool spans four).
type byteSet [4]uint64

func (b *byteSet) add(c byte) { b[c>>6] |= 1 << (c & 63) }

func anyByteIn(s string, set *byteSet) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; set[c>>6]&(1<<(c&63)) != 0 {
			return true
		}
	}
	return false
}

func (n *leafNode) eval(st *state) bool {
	if n.memo > 0 && st.slotEntGen[n.slot] == st.gen {
		// The slot's value is in the value cache: its entry remembers
		// what this leaf gave on it.
		ent := &st.vcache.ents[st.slotEnt[n.slot]]
		if res, ok := ent.memoGet(n.memo); ok {
			return res
		}
		res := n.test(st)
		ent.memoPut(n.memo, res)
		return res
	}
	return n.test(st)
}

// firstOf returns group gi's first-byte set (nil: none; first is nil
// when no group has one, and then none has quads or multi either).
func (n *leafNode) firstOf(gi int) *byteSet {
	if n.first == nil {
		return nil
	}
	return n.first[gi]
}

// test evaluates the leaf on the event.
func (n *leafNode) test(st *state) bool {
	v, ok := st.value(n.slot)
	res := true
	for gi, g := range n.groups {
		if !ok && n.multi != nil && n.multi[gi] != nil {
			res = false // contains literals never match a missing field
			break
		}
		if f := n.firstOf(gi); f != nil && ok {
			// Literals are lower-cased unless cased: test the same form.
			text := v
			if !g[0].cased {
				text = st.lower(n.slot)
			}
			if n.nonASCII>>uint(gi)&1 != 0 && isASCII(text) {
				res = false
				break
			}
			if !anyByteIn(text, f) {
				res = false
				break
			}
			if n.multi != nil && n.multi[gi] != nil {
				// Fast path: one pass over the value for the whole list.
				if !n.multi[gi].any(text) {
					res = false
					break
				}
				continue
			}
			if n.quads != nil && n.quads[gi] != nil && !anyQuadIn(text, n.quads[gi], n.quadK[gi]) {
				res = false
				break
			}
		}
		hit := false
		for i := range g {
			if g[i].match(st, n.slot, v, ok) {
				hit = true
				break
			}
		}
		if !hit {
			res = false
			break
		}
	}
	return res != n.neg
}

// keywordNode searches every field value (and the raw text) of the event.
type keywordNode struct {
	groups [][]matcher
	neg    bool
}

func (n *keywordNode) eval(st *state) bool {
	res := true
	for _, g := range n.groups {
		if !st.anyValue(g) {
			res = false
			break
		}
	}
	return res != n.neg
}

func (st *state) anyValue(g []matcher) bool {
	for i := range g {
		m := &g[i]
		if m.op == opNull || m.op == opExists {
			continue
		}
		if m.nid > 0 && st.scanned && st.keyGen[m.nid-1] != st.gen && st.kwScan.has(m.nid-1) {
			// The prefilter looked for the literal's needle in every
			// value and the raw text of the event and did not see it.
			continue
		}
		if st.ev.Raw != "" {
			st.kwLow = st.lowerRaw()
			if m.match(st, -1, st.ev.Raw, true) {
				return true
			}
		}
		for j := range st.ev.Fields {
			st.kwLow = st.lowerField(int32(j))
			if m.match(st, -1, st.ev.Fields[j].Value, true) {
				return true
			}
		}
	}
	return false
}

// needleSet is the prefilter of a node: a set of literals of which at least
// one occurs in the event's (lower-cased) values whenever the node matches.
// ok is false when no such set is known.
type needleSet struct {
	lits  []string
	slots []int32 // per literal: the slot it is found in, -1 for any field
	ok    bool
}

// minLen is the smallest distinctiveness of the set's needles (see
// distinct); an empty set (never matches) is the best there is.
func (s needleSet) minLen() int {
	m := 1 << 30
	for _, l := range s.lits {
		if d := distinct(l); d < m {
			m = d
		}
	}
	return m
}

// commonParts are substrings that most Windows events carry: a needle made
// mostly of them selects little. This is general knowledge of the log
// source, not tuned to any sample.
var commonParts = []string{
	`c:\windows\system32\`, `c:\windows\syswow64\`, `\windows\system32\`, `\windows\syswow64\`,
	`c:\program files (x86)\`, `c:\program files\`, `\program files (x86)\`, `\program files\`,
	`c:\windows\`, `\windows\`, `\system32\`, `\syswow64\`, `c:\users\`, `\users\`,
	`\appdata\local\temp\`, `\appdata\local\`, `\appdata\roaming\`, `\appdata\`, `\temp\`,
	`\software\microsoft\windows\currentversion\`, `\software\microsoft\`, `\software\`,
	`\microsoft\windows\`, `\microsoft\`, `\currentversion\`, `hklm\`, `hku\`, `hkcu\`,
	`\registry\machine\`, `\registry\user\`, `https://`, `http://`, `.exe`, `.dll`, `c:\`,
}

// distinct is the length of a needle once common parts are removed. A
// whole-value needle counts as distinct as a 4-byte substring, plus its length.
func distinct(l string) int {
	if strings.HasPrefix(l, exactMark) {
		return minDistinct + len(l) - 1
	}
	n := len(l)
	for _, c := range commonParts {
		for {
			i := strings.Index(l, c)
			if i < 0 {
				break
			}
			n -= len(c)
			l = l[:i] + "\x00" + l[i+len(c):]
		}
	}
	return max(n, 0)
}

// better reports whether s is a more selective prefilter than t.
func (s needleSet) better(t needleSet) bool {
	if !t.ok {
		return s.ok
	}
	if !s.ok {
		return false
	}
	a, b := min(s.minLen(), 12), min(t.minLen(), 12)
	if a != b {
		return a > b
	}
	return len(s.lits) < len(t.lits)
}

func unionNeedles(sets []needleSet) needleSet {
	out := needleSet{ok: true}
	for _, s := range sets {
		if !s.ok {
			return needleSet{}
		}
		out.lits = append(out.lits, s.lits...)
		out.slots = append(out.slots, s.slots...)
	}
	return out
}

// maxGroups bounds how many needle sets (all required) a rule keeps.
const maxGroups = 4

// needleGroups returns needle sets that must all have a hit when n
// matches (a conjunction); nil when nothing is known.
func needleGroups(n node) []needleSet {
	switch n := n.(type) {
	case andNode:
		return conjunction([]node(n))
	case ofNode:
		if n.n == 0 {
			return conjunction(n.xs)
		}
		return disjunction(n.xs)
	case orNode:
		return disjunction([]node(n))
	case constNode:
		if !n {
			return []needleSet{{ok: true}} // never matches: never a candidate
		}
	case *leafNode:
		if n.neg {
			return nil
		}
		return leafGroups(n.groups, n.slot)
	case *keywordNode:
		if n.neg {
			return nil
		}
		return leafGroups(n.groups, -1)
	}
	return nil
}

func leafGroups(groups [][]matcher, slot int32) []needleSet {
	var out []needleSet
	for _, g := range groups {
		if s := groupNeedles(g, slot); s.ok {
			out = append(out, s)
		}
	}
	return topGroups(out)
}

func conjunction(xs []node) []needleSet {
	var all []needleSet
	for _, x := range xs {
		all = append(all, needleGroups(x)...)
	}
	return topGroups(all)
}

func disjunction(xs []node) []needleSet {
	sets := make([]needleSet, 0, len(xs))
	for _, x := range xs {
		gs := needleGroups(x)
		if len(gs) == 0 {
			return nil
		}
		sets = append(sets, gs[0]) // the best of each branch
	}
	u := unionNeedles(sets)
	if !u.ok {
		return nil
	}
	return []needleSet{u}
}

// topGroups keeps the most selective sets, best first.
func topGroups(sets []needleSet) []needleSet {
	sort.SliceStable(sets, func(i, j int) bool { return sets[i].better(sets[j]) })
	if len(sets) > maxGroups {
		sets = sets[:maxGroups]
	}
	// Weak groups (needles made of common parts) cost a lot to verify and
	// filter almost nothing: keep them only when nothing better exists.
	if len(sets) > 1 && sets[0].minLen() >= minDistinct {
		n := 1
		for n < len(sets) && sets[n].minLen() >= minDistinct {
			n++
		}
		sets = sets[:n]
	}
	return sets
}

// minDistinct is how distinctive a needle group must be to be worth
// keeping beside a better one.
const minDistinct = 4

// exactMark starts a needle that is a whole (lower-cased) field value, not
// a substring: the prefilter looks such needles up in a map.
const exactMark = "\x00"

func groupNeedles(g []matcher, slot int32) needleSet {
	s := needleSet{ok: true}
	for i := range g {
		var l string
		if m := &g[i]; m.op == opEq && slot >= 0 {
			// Any length will do: a map lookup finds it.
			l = exactMark + toLower(m.s)
		} else {
			l = m.needle()
		}
		if l == "" || !utf8.ValidString(l) {
			return needleSet{}
		}
		s.lits = append(s.lits, l)
		s.slots = append(s.slots, slot)
	}
	return s
}
