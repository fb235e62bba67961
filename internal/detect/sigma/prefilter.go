package sigma

import (
	"cmp"
	"slices"
	"strings"
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
	keys     []needleKey
	keyRules [][]int32 // key id -> rule<<3|group refs whose prefilter holds it
	// Per slot: a matcher over the slot's substring keys (nil: none), and
	// its pattern id -> key id. Small per-slot tables stay in cache and
	// only probe for needles that can count in that field.
	slotAC   []*anchorMatcher
	slotKeys [][]int32
	maxPats  int // the most patterns of one matcher (scratch size)
	kwac     *anchorMatcher
	kwKeys   []int32 // keyword-matcher pattern -> key id
	// exact, per slot, maps a whole lower-cased value to its key id (nil:
	// the slot has no whole-value keys).
	exact []map[string]int32
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
	pf.keyRules = make([][]int32, len(keys))
	var kwLits []string
	lits := make([][]string, len(e.slots))
	for i, k := range keys {
		pf.keyRules[i] = needles[k]
		if k.slot < 0 { // keyword needles are never whole values
			kwLits = append(kwLits, k.lit)
			pf.kwKeys = append(pf.kwKeys, int32(i))
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
			pf.slotAC[s] = newAnchorMatcher(ls)
			pf.maxPats = max(pf.maxPats, len(ls))
		}
	}
	if len(kwLits) > 0 {
		pf.kwac = newAnchorMatcher(kwLits)
		pf.maxPats = max(pf.maxPats, len(kwLits))
	}
}

// linkNeedles gives every contains matcher whose (slot, literal) is a
// prefilter key that key's id (see matcher.nid).
func (e *Engine) linkNeedles() {
	ids := make(map[needleKey]int32, len(e.pf.keys))
	for i, k := range e.pf.keys {
		if k.slot >= 0 {
			ids[k] = int32(i)
		}
	}
	seen := map[*leafNode]bool{}
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
// they name, keyword needles over every value and the raw text.
func (e *Engine) scan(st *state) {
	pf := &e.pf
	st.lowerAll()
	st.scanned = true
	if len(st.checked) < pf.maxPats {
		st.checked = make([]uint32, pf.maxPats)
	}
	for j, s := range st.fieldSlot {
		// Only the field that set the slot is the slot's value.
		if s < 0 || st.slotField[s] != int32(j) {
			continue
		}
		if ex := pf.exact[s]; ex != nil {
			if k, ok := ex[st.fieldLows[j]]; ok {
				e.hitKey(st, k)
			}
		}
		if ac := pf.slotAC[s]; ac != nil {
			n0 := len(st.hits)
			st.hits = ac.scan(st.fieldLows[j], st.hits, st.checked, st.nextTok())
			keys := pf.slotKeys[s]
			for _, p := range st.hits[n0:] {
				e.hitKey(st, keys[p])
			}
		}
	}
	if pf.kwac != nil {
		for j := range st.fieldLows {
			e.scanKeywords(st, st.fieldLows[j])
		}
		if st.rawLow != "" {
			e.scanKeywords(st, st.rawLow)
		}
	}
}

func (e *Engine) scanKeywords(st *state, text string) {
	n0 := len(st.hits)
	st.hits = e.pf.kwac.scan(text, st.hits, st.checked, st.nextTok())
	for _, p := range st.hits[n0:] {
		e.hitKey(st, e.pf.kwKeys[p])
	}
	st.hits = st.hits[:n0]
}

// hitKey records that needle key k occurs in the event and updates the
// candidate state of the rules whose prefilter holds it.
func (e *Engine) hitKey(st *state, k int32) {
	if st.keyGen[k] == st.gen {
		return
	}
	st.keyGen[k] = st.gen
	for _, ref := range e.pf.keyRules[k] {
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
