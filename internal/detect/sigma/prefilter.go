package sigma

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// needleKey is one prefilter needle: a lower-case literal and the slot
// whose value must contain it (-1: any value, for keyword searches).
type needleKey struct {
	slot int32
	lit  string
}

// prefilter selects candidate rules from the literals an event contains.
// Field needles are only looked for in the value of their own slot, so
// only the values of slots that some needle names are scanned; keyword
// needles are looked for in every value and the raw text.
type prefilter struct {
	keys []needleKey
	// keyRefs[start:end] are the rule<<3|group refs whose prefilter holds
	// key k, where keySpan[k] is start | end<<32 (one array: no pointer
	// per key).
	keySpan []uint64
	keyRefs []int32
	// Per slot: a matcher over the slot's substring keys (nil: none), and
	// its pattern id -> key id. Small per-slot tables stay in cache and
	// only probe for needles that can count in that field.
	slotAC   []*anchorMatcher
	slotKeys [][]int32
	maxPats  int // the most patterns of one matcher (scratch size)
	// altKW, per routing alternative, matches the keyword needles of the
	// alternative's rules (nil: none); alternatives with the same needles
	// share one.
	altKW    []*kwMatcher
	kwCombos sync.Map // string of matcher ids -> merged *kwMatcher
	kwComboN atomic.Int32
	// exact, per slot, maps a whole lower-cased value to its key id (nil:
	// the slot has no whole-value keys).
	exact []map[string]int32
	// hasNeedles marks the slots with field needles (exact or slotAC).
	hasNeedles []bool
}

// ruleNeedles returns a rule's needle groups (all required) as keys. A
// rule routed under several field renamings is compiled once per renaming
// (others); the variants have the same shape and only their slots differ,
// so a group accepts its literal in any variant's slot. ok is false when
// the rule has no usable prefilter.
func ruleNeedles(base node, others []node) ([][]needleKey, bool) {
	gs := needleGroups(base)
	if len(gs) == 0 {
		return nil, false
	}
	out := make([][]needleKey, len(gs))
	seen := make([]map[needleKey]bool, len(gs))
	add := func(i int, g needleSet) {
		if seen[i] == nil {
			seen[i] = make(map[needleKey]bool, len(g.lits))
		}
		for j, l := range g.lits {
			if k := (needleKey{slot: g.slots[j], lit: l}); !seen[i][k] {
				seen[i][k] = true
				out[i] = append(out[i], k)
			}
		}
	}
	for i, g := range gs {
		add(i, g)
	}
	for _, v := range others {
		gv := needleGroups(v)
		if len(gv) != len(gs) {
			return nil, false
		}
		for i := range gv {
			if !slices.Equal(gv[i].lits, gs[i].lits) {
				return nil, false
			}
			add(i, gv[i])
		}
	}
	return out, true
}

func (e *Engine) buildPrefilter(needles map[needleKey][]int32) {
	pf := &e.pf
	pf.exact = make([]map[string]int32, len(e.slots))
	pf.slotAC = make([]*anchorMatcher, len(e.slots))
	pf.slotKeys = make([][]int32, len(e.slots))
	pf.hasNeedles = make([]bool, len(e.slots))
	if len(needles) == 0 {
		return
	}
	keys := make([]needleKey, 0, len(needles))
	for k := range needles {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b needleKey) int {
		return cmp.Or(cmp.Compare(a.lit, b.lit), cmp.Compare(a.slot, b.slot))
	})
	pf.keys = keys
	pf.keySpan = make([]uint64, len(keys))
	n := 0
	for _, k := range keys {
		n += len(needles[k])
	}
	pf.keyRefs = make([]int32, 0, n)
	lits := make([][]string, len(e.slots))
	for i, k := range keys {
		start := uint64(len(pf.keyRefs))
		pf.keyRefs = append(pf.keyRefs, needles[k]...)
		pf.keySpan[i] = start | uint64(len(pf.keyRefs))<<32
		if k.slot < 0 { // keyword needles are never whole values
			continue
		}
		if v, ok := strings.CutPrefix(k.lit, exactMark); ok {
			if pf.exact[k.slot] == nil {
				pf.exact[k.slot] = map[string]int32{}
			}
			pf.exact[k.slot][v] = int32(i)
			continue
		}
		lits[k.slot] = append(lits[k.slot], k.lit)
		pf.slotKeys[k.slot] = append(pf.slotKeys[k.slot], int32(i))
	}
	for s, ls := range lits {
		if len(ls) > 0 {
			pf.slotAC[s] = newAnchorMatcher(ls).withStride()
			pf.maxPats = max(pf.maxPats, len(ls))
		}
	}
	for s := range pf.hasNeedles {
		pf.hasNeedles[s] = pf.exact[s] != nil || pf.slotAC[s] != nil
	}
	e.buildKeywordMatchers()
}

// Slot flags (Engine.slotFlags).
const (
	flagKey     = 1 << iota // the slot is in a routing key
	flagNeedles             // the slot has field needles
)

// buildSlotFlags sets Engine.slotFlags (after the routing keys and the
// prefilter are built).
func (e *Engine) buildSlotFlags() {
	e.slotFlags = make([]uint8, len(e.slots))
	for s := range e.slotFlags {
		if e.routeKeys[0].pos[s] >= 0 || e.routeKeys[1].pos[s] >= 0 {
			e.slotFlags[s] |= flagKey
		}
		if e.pf.hasNeedles[s] {
			e.slotFlags[s] |= flagNeedles
		}
	}
}

// kwMatcher finds keyword needles (in every value and the raw text).
type kwMatcher struct {
	id   int32
	ac   *anchorMatcher // with a stride matcher when all needles are long
	few  *fewNeedles    // the same needles when there are only a few (else nil)
	keys []int32        // pattern -> key id
	// ascii says every needle is ASCII (see rawFoldOK).
	ascii bool
}

func newKWMatcher(id int32, lits []string, keys []int32) *kwMatcher {
	m := &kwMatcher{id: id, ac: newAnchorMatcher(lits).withStride(), few: newFewNeedles(lits), keys: keys}
	m.ascii = true
	for _, l := range lits {
		m.ascii = m.ascii && isASCII(l)
	}
	return m
}

// has reports whether key k is one of m's needles (m may be nil). A
// matcher's keys are sorted (buildKeywordMatchers adds them in key order,
// mergedKW sorts them).
func (m *kwMatcher) has(k int32) bool {
	if m == nil {
		return false
	}
	_, ok := slices.BinarySearch(m.keys, k)
	return ok
}

// maxKWCombos bounds the merged keyword matchers kept (see kwFor).
const maxKWCombos = 1024

// kwFor returns one matcher for the keyword needles of several
// alternatives' matchers, so an event's values are scanned once: merged
// matchers are built on first use per combination and kept (an event
// stream has few distinct combinations).
func (e *Engine) kwFor(st *state, ms []*kwMatcher) *kwMatcher {
	if len(ms) == 1 {
		return ms[0]
	}
	// Events come in runs of one source: the last event's list (in its
	// alternatives' order) gives the same matcher without the sort, the
	// key and the shared map's lookup.
	if st.lastKW != nil && slices.Equal(ms, st.lastKWs) {
		return st.lastKW
	}
	st.lastKWs = append(st.lastKWs[:0], ms...)
	st.lastKW = e.mergedKW(st, ms)
	return st.lastKW
}

// mergedKW is kwFor without the scratch space's memo of the last list.
func (e *Engine) mergedKW(st *state, ms []*kwMatcher) *kwMatcher {
	slices.SortFunc(ms, func(a, b *kwMatcher) int { return cmp.Compare(a.id, b.id) })
	st.kwKey = st.kwKey[:0]
	for _, m := range ms {
		st.kwKey = binary.LittleEndian.AppendUint32(st.kwKey, uint32(m.id))
	}
	if v, ok := e.pf.kwCombos.Load(string(st.kwKey)); ok {
		return v.(*kwMatcher)
	}
	var keys []int32
	for _, m := range ms {
		keys = append(keys, m.keys...)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	lits := make([]string, len(keys))
	for i, k := range keys {
		lits[i] = e.pf.keys[k].lit
	}
	m := newKWMatcher(-1, lits, keys)
	if e.pf.kwComboN.Add(1) <= maxKWCombos {
		v, _ := e.pf.kwCombos.LoadOrStore(string(st.kwKey), m)
		m = v.(*kwMatcher)
	}
	if len(st.checked) < len(lits) {
		st.checked = make([]uint32, len(lits))
	}
	return m
}

// buildKeywordMatchers gives every routing alternative a matcher of the
// keyword needles of its rules only: a Windows event is not scanned for
// the needles of Linux keyword rules.
func (e *Engine) buildKeywordMatchers() {
	pf := &e.pf
	pf.altKW = make([]*kwMatcher, len(e.alts))
	perAlt := make([][]int32, len(e.alts))
	for k, key := range pf.keys {
		if key.slot >= 0 {
			continue
		}
		for _, ref := range pf.rulesOf(int32(k)) {
			for _, ar := range e.rules[ref>>3].alts {
				if l := perAlt[ar.alt]; len(l) == 0 || l[len(l)-1] != int32(k) {
					perAlt[ar.alt] = append(l, int32(k))
				}
			}
		}
	}
	shared := map[string]*kwMatcher{}
	for id, keys := range perAlt {
		if len(keys) == 0 {
			continue
		}
		sig := fmt.Sprint(keys)
		m := shared[sig]
		if m == nil {
			lits := make([]string, len(keys))
			for i, k := range keys {
				lits[i] = pf.keys[k].lit
			}
			m = newKWMatcher(int32(len(shared)), lits, keys)
			pf.maxPats = max(pf.maxPats, len(lits))
			shared[sig] = m
		}
		pf.altKW[id] = m
	}
}

// linkNeedles gives every contains matcher whose (slot, literal) is a
// prefilter key that key's id (see matcher.nid), and every leaf worth
// memoizing its memo id (see leafNode.memo).
func (e *Engine) linkNeedles() {
	ids := make(map[needleKey]int32, len(e.pf.keys))
	for i, k := range e.pf.keys {
		if k.slot >= 0 {
			ids[k] = int32(i)
		}
	}
	kwIDs := map[string]int32{}
	for i, k := range e.pf.keys {
		if k.slot < 0 {
			kwIDs[k.lit] = int32(i)
		}
	}
	seen := map[*leafNode]bool{}
	kwSeen := map[*keywordNode]bool{}
	memos := int32(0)
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
			if seen[n] {
				return
			}
			seen[n] = true
			for _, g := range n.groups {
				for i := range g {
					m := &g[i]
					m.nid = 0
					var lit string
					switch {
					case m.op == opEq:
						lit = exactMark + toLower(m.s)
					case m.op == opContains && len(m.s) >= minNeedle && len(m.s) <= maxNeedle:
						lit = toLower(m.s)
					default:
						continue
					}
					if id, ok := ids[needleKey{slot: n.slot, lit: lit}]; ok {
						m.nid = id + 1
					}
				}
			}
			if memoWorthy(n) {
				memos++
				n.memo = memos
			}
		case *keywordNode:
			if kwSeen[n] {
				return
			}
			kwSeen[n] = true
			for _, g := range n.groups {
				for i := range g {
					m := &g[i]
					m.nid = 0
					if lit := kwNeedle(m); lit != "" {
						if id, ok := kwIDs[lit]; ok {
							m.nid = id + 1
						}
					}
				}
			}
		}
	}
	for _, r := range e.rules {
		for _, ar := range r.alts {
			walk(ar.cond)
		}
	}
	for _, a := range e.alts {
		for _, ar := range a.rules {
			walk(ar.cond)
		}
	}
}

// kwNeedle returns the keyword needle a keyword matcher's every match
// holds (lower-cased, as the prefilter looks for it: see matcher.needle),
// or "" when there is none: its literal must occur in a value (or the raw
// text) for it to match, so its needle occurs there too.
func kwNeedle(m *matcher) string {
	switch m.op {
	case opContains, opEq, opPrefix, opSuffix:
		return m.needle()
	}
	return ""
}

// memoWorthy reports whether a leaf's result is a function of its slot's
// value alone (no reference to another field) and costs more than a memo
// lookup: a regular expression, a glob, a long list, a literal the
// prefilter does not know. A leaf of one or two literals the prefilter
// knows answers from the scan's key stamps at least as fast.
func memoWorthy(n *leafNode) bool {
	if n.slot < 0 {
		return false
	}
	count, cheap := 0, true
	for _, g := range n.groups {
		for i := range g {
			m := &g[i]
			switch m.op {
			case opFieldRef:
				return false
			case opNull, opExists, opAny:
			case opEq, opContains:
				if m.nid == 0 {
					cheap = false
				}
			default:
				cheap = false
			}
			count++
		}
	}
	return !cheap || count > 2
}

// nextTok returns a new scan token for the prefilter's scratch.
func (st *state) nextTok() uint32 {
	st.tok++
	if st.tok == 0 {
		clear(st.checked)
		st.tok = 1
	}
	return st.tok
}

// scan runs the prefilter: field needles over the values of the slots
// they name, keyword needles over every value and the raw text. What the
// value of a slot with field needles holds is remembered per (slot,
// keyword matcher, value) in the state's value cache, so repeated values
// are not scanned again (the large per-slot matchers are what costs).
func (e *Engine) scan(st *state) {
	pf := &e.pf
	st.scanned = true
	if len(st.checked) < pf.maxPats {
		st.checked = make([]uint32, pf.maxPats)
	}
	// Keyword needles: the matchers of the event's alternatives, merged.
	st.kws = st.kws[:0]
	for _, id := range st.altList {
		if m := pf.altKW[id]; m != nil && !slices.Contains(st.kws, m) {
			st.kws = append(st.kws, m)
		}
	}
	var kw *kwMatcher
	if len(st.kws) > 0 {
		kw = e.kwFor(st, st.kws)
		if len(st.checked) < len(kw.keys) {
			// A merged matcher another scratch space built.
			st.checked = make([]uint32, len(kw.keys))
		}
	}
	st.kwScan = kw
	if st.vcache == nil && e.vcEntries > 0 {
		st.vcache = newValueCache(e.vcEntries)
	}
	// kwc is the keyword matcher whose findings the value cache keeps: a
	// few keyword needles are searched for directly in every value.
	kwc := kw
	if kw != nil && kw.few != nil {
		kwc = nil
	}
	// The raw text is scanned for keyword needles below; values that lie
	// in it verbatim (a JSON document without a message member is Raw, and
	// its unescaped values are parts of it) need no scan of their own. A
	// needle spanning two values in the raw text only adds a candidate.
	raw := st.ev.Raw
	// Field needles: only the field that set a slot is the slot's value,
	// and only a slot with field needles is scanned for them (keyword
	// needles along: see scanNeedles). Then keyword needles in the rest.
	// load listed them (needleSlots), in field order.
	for _, s := range st.needleSlots {
		e.scanNeedles(st, st.slotField[s], s, kw, kwc)
	}
	// A raw text scanned folded (ASCII, or rawFoldOK) covers every value
	// whose memory lies in it, rune boundaries or not (see inText).
	folded := raw != "" && kw != nil && (isASCII(raw) || rawFoldOK(kw, raw))
	if kw != nil {
		gen, few, minLen := st.gen, kw != kwc, kw.ac.minLen
		fields := st.ev.Fields
		done := st.kwDone[:len(st.fieldSlot)]
		for j := range done {
			if done[j] == gen {
				continue
			}
			var v string
			if j < len(fields) {
				v = fields[j].Value
			} else {
				v = st.extra[j-len(fields)]
			}
			switch {
			case folded && inText(raw, v):
				// Keyword needles: found by the scan of the raw text (a
				// Winlogbeat line's values mostly lie in it: tested first).
			case shorterThan(v, minLen):
			case raw != "" && !folded && within(raw, v):
				// Keyword needles: found by the scan of the raw text.
			case few:
				e.scanFew(st, kw, int32(j), v)
			case isASCII(v):
				// Keyword needles only: their matcher is small and stays
				// in the CPU cache, so scanning costs less than a cache
				// lookup. The stride matcher directly, when there is one
				// (no hit in nearly every value).
				if sm := kw.ac.stride; sm != nil {
					if n0, h := len(st.hits), sm.scanText(v, true, st.hits, st.checked, st.nextTok()); len(h) > n0 {
						e.takeHits(st, kw, h, n0)
					}
				} else {
					e.scanKeywords(st, kw, v, true)
				}
			default:
				e.scanKeywords(st, kw, st.lowerField(int32(j)), false)
			}
		}
	}
	if raw != "" && kw != nil {
		if folded {
			e.scanKeywords(st, kw, raw, true)
		} else {
			e.scanKeywords(st, kw, st.lowerRaw(), false)
		}
	}
}

// rawFoldOK reports whether scanning raw folded (ASCII letters only, as
// an ASCII text is scanned) finds what scanning its lower-cased form
// finds, for kw's needles: they are ASCII, and raw holds none of the
// non-ASCII runes that lower-case to ASCII (U+0130 and U+212A only, see
// TestLowerToASCII). Other non-ASCII bytes are never part of an
// occurrence of an ASCII needle, folded or lower-cased, so the raw text
// of a line with a few accented letters need not be lower-cased whole.
func rawFoldOK(kw *kwMatcher, raw string) bool {
	return kw.ascii && !strings.Contains(raw, "\u0130") && !strings.Contains(raw, "\u212a")
}

// scanNeedles scans event field j, which set slot s, a slot with field
// needles: for those, and for kw's keyword needles (marking the field in
// st.kwDone). What the value holds is remembered per (slot, keyword
// matcher kwc, value) in the value cache.
func (e *Engine) scanNeedles(st *state, j, s int32, kw, kwc *kwMatcher) {
	st.kwDone[j] = st.gen
	v := st.fieldValue(j)
	kwv := kwc
	switch {
	case kw == nil:
	case st.ev.Raw != "" && within(st.ev.Raw, v):
		// Keyword needles: found by the scan of the raw text.
		kwv = nil
	case kw != kwc:
		e.scanFew(st, kw, j, v)
	}
	vc := st.vcache
	if vc == nil || !cacheable(v) {
		st.found = e.scanValue(st, j, s, kwv, v, st.found[:0])
		e.hitKeys(st, st.found)
		return
	}
	i, h, ok := vc.lookup(s, kwv, v, st.gen)
	if ok {
		e.hitKeys(st, vc.ents[i].keys)
	} else {
		st.found = e.scanValue(st, j, s, kwv, v, st.found[:0])
		e.hitKeys(st, st.found)
		vc.store(i, h, s, kwv, v, st.found, st.gen)
	}
	if i >= 0 {
		// The slot's value has an entry: leaves on it memoize there.
		st.slotEnt[s], st.slotEntGen[s] = int32(i), st.gen
	}
}

// within reports whether v is a part of text's memory (so text holds v
// verbatim) that starts and ends on rune boundaries, so lower-casing text
// maps v's runes as lower-casing v alone does. The empty value counts as
// within: no needle occurs in it.
func within(text, v string) bool {
	if v == "" {
		return true
	}
	if len(v) > len(text) {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(v)))    // #nosec G103 -- address compare only
	b := uintptr(unsafe.Pointer(unsafe.StringData(text))) // #nosec G103 -- address compare only
	if p < b || p-b > uintptr(len(text)-len(v)) {
		return false
	}
	off := int(p - b)
	if c := text[off]; c >= 0x80 && c < 0xc0 {
		return false
	}
	if end := off + len(v); end < len(text) {
		if c := text[end]; c >= 0x80 && c < 0xc0 {
			return false
		}
	}
	return true
}

// inText reports whether v's memory lies in text's. For a text scanned
// folded (ASCII, or see rawFoldOK) that is enough for its scan to find
// every keyword needle v's own scan would: v is ASCII, or its ASCII runs
// are those of the text at the same place (bytes of a rune v starts or
// ends inside lower-case to U+FFFD, as any non-ASCII byte breaks an ASCII
// needle).
func inText(text, v string) bool {
	p := uintptr(unsafe.Pointer(unsafe.StringData(v))) - uintptr(unsafe.Pointer(unsafe.StringData(text))) // #nosec G103 -- address compare only
	return len(v) <= len(text) && p <= uintptr(len(text)-len(v))
}

// scanFew searches event field j's value v for the needles of a keyword
// matcher that has only a few.
func (e *Engine) scanFew(st *state, kw *kwMatcher, j int32, v string) {
	fold := isASCII(v)
	if !fold {
		v = st.lowerField(j)
	}
	n0 := len(st.hits)
	st.hits = kw.few.scan(v, fold, st.hits)
	for _, p := range st.hits[n0:] {
		e.hitKey(st, kw.keys[p])
	}
	st.hits = st.hits[:n0]
}

// shorterThan reports whether v, lower-cased, is shorter than n bytes.
// Lower-casing keeps an ASCII value's length and makes no byte sequence
// more than three times as long (an invalid byte becomes U+FFFD).
func shorterThan(v string, n int) bool {
	switch {
	case len(v) >= n:
		return false
	case 3*len(v) < n:
		return true
	}
	return isASCII(v)
}

// isASCII reports whether s has only ASCII bytes (sixteen at a time; the
// tail by one more word that overlaps the last ones, or by four).
func isASCII(s string) bool {
	const hi = 0x8080808080808080
	n := len(s)
	if n < 8 {
		if n >= 4 {
			return (load32(s, 0)|load32(s, n-4))&0x80808080 == 0
		}
		for i := 0; i < n; i++ {
			if s[i] >= 0x80 {
				return false
			}
		}
		return true
	}
	i := 0
	for ; i+16 <= n; i += 16 {
		if (wordAt(s, i)|wordAt(s, i+8))&hi != 0 {
			return false
		}
	}
	if i+8 <= n && wordAt(s, i)&hi != 0 {
		return false
	}
	return wordAt(s, n-8)&hi == 0
}

// scanKeywords scans text for m's needles; fold says text is ASCII and not
// lower-cased yet.
func (e *Engine) scanKeywords(st *state, m *kwMatcher, text string, fold bool) {
	n0 := len(st.hits)
	st.hits = m.ac.scanText(text, fold, st.hits, st.checked, st.nextTok())
	for _, p := range st.hits[n0:] {
		e.hitKey(st, m.keys[p])
	}
	st.hits = st.hits[:n0]
}

// takeHits records the needle keys of kw's patterns in hits[n0:] and
// leaves st.hits as hits[:n0].
func (e *Engine) takeHits(st *state, kw *kwMatcher, hits []int32, n0 int) {
	for _, p := range hits[n0:] {
		e.hitKey(st, kw.keys[p])
	}
	st.hits = hits[:n0]
}

// hitKeys records every needle key of keys (see hitKey).
func (e *Engine) hitKeys(st *state, keys []int32) {
	for _, k := range keys {
		e.hitKey(st, k)
	}
}

// rulesOf returns the rule<<3|group refs whose prefilter holds key k.
func (pf *prefilter) rulesOf(k int32) []int32 {
	sp := pf.keySpan[k]
	return pf.keyRefs[uint32(sp):uint32(sp>>32)]
}

// hitKey records that needle key k occurs in the event and updates the
// candidate state of the rules whose prefilter holds it.
func (e *Engine) hitKey(st *state, k int32) {
	if st.keyGen[k] == st.gen {
		return
	}
	st.keyGen[k] = st.gen
	for _, ref := range e.pf.rulesOf(k) {
		r := ref >> 3
		if st.cand[r] != st.gen {
			st.cand[r] = st.gen
			st.mask[r] = 0
		}
		if m := st.mask[r] | 1<<(ref&7); m != st.mask[r] {
			st.mask[r] = m
			if m == e.rules[r].full {
				st.candList = append(st.candList, r)
			}
		}
	}
}
