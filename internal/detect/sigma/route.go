package sigma

import "slices"

// chanRoute is the routing index of one channel: most routing
// alternatives of a channel only test one field (the event ID) for
// equality, so they are found by one map lookup instead of one test each.
type chanRoute struct {
	slot   int32              // the slot byVal tests; -1 when none
	byVal  map[string][]int32 // lower-cased value -> alternatives
	always []int32            // alternatives every event of the channel is in
	other  []int32            // alternatives tested one by one
}

// eqLeaf returns the slot and lower-cased values of a routing condition
// that is one case-insensitive equality test on a field, besides tests
// that the channel field exists (always true on this path). A condition
// with nothing else (slot -1) always holds.
func (e *Engine) eqLeaf(n node) (int32, []string, bool) {
	var rest []node
	if a, ok := n.(andNode); ok {
		for _, x := range a {
			if !e.chanExists(x) {
				rest = append(rest, x)
			}
		}
	} else if n != nil && !e.chanExists(n) {
		rest = append(rest, n)
	}
	switch len(rest) {
	case 0:
		return -1, nil, true
	case 1:
	default:
		return 0, nil, false
	}
	l, ok := unmemo(rest[0]).(*leafNode)
	if !ok || l.neg || len(l.groups) != 1 || len(l.groups[0]) == 0 {
		return 0, nil, false
	}
	var vals []string
	for i := range l.groups[0] {
		m := &l.groups[0][i]
		if m.op != opEq || m.cased {
			return 0, nil, false
		}
		vals = append(vals, m.s)
	}
	return l.slot, vals, true
}

// chanExists reports whether n only tests that the channel field exists.
func (e *Engine) chanExists(n node) bool {
	l, ok := unmemo(n).(*leafNode)
	if !ok || l.neg || l.slot != e.chanSlot || len(l.groups) != 1 || len(l.groups[0]) != 1 {
		return false
	}
	m := &l.groups[0][0]
	return m.op == opExists && m.want
}

// buildRoutes indexes every channel's alternatives by the slot most of
// their conditions test for equality.
func (e *Engine) buildRoutes() {
	e.routes = make(map[string]*chanRoute, len(e.byChan))
	for ch, ids := range e.byChan {
		count := map[int32]int{}
		for _, id := range ids {
			if s, _, ok := e.eqLeaf(e.alts[id].cond); ok && s >= 0 {
				count[s]++
			}
		}
		r := &chanRoute{slot: -1}
		for s, n := range count {
			if r.slot < 0 || n > count[r.slot] || (n == count[r.slot] && s < r.slot) {
				r.slot = s
			}
		}
		for _, id := range ids {
			s, vals, ok := e.eqLeaf(e.alts[id].cond)
			if ok && s < 0 {
				r.always = append(r.always, id)
				continue
			}
			if !ok || s != r.slot {
				r.other = append(r.other, id)
				continue
			}
			if r.byVal == nil {
				r.byVal = map[string][]int32{}
			}
			for _, v := range vals {
				r.byVal[v] = append(r.byVal[v], id)
			}
		}
		e.routes[ch] = r
	}
}

// route finds the alternatives the event belongs to (st.altList).
func (e *Engine) route(st *state) {
	st.altList = st.altList[:0]
	ch, hasChan := st.value(e.chanSlot)
	hasChan = hasChan && ch != ""
	// Alternatives not indexed by channel: those of the slots the event
	// has, and the few that need no field.
	for j, s := range st.fieldSlot {
		if s < 0 || st.slotField[s] != int32(j) || int(s) >= len(e.bySlot) {
			continue
		}
		for _, id := range e.bySlot[s] {
			if !hasChan || !e.noChanAlt[id] {
				e.checkAlt(st, id)
			}
		}
	}
	for _, id := range e.unindexed {
		if !hasChan || !e.noChanAlt[id] {
			e.checkAlt(st, id)
		}
	}
	if hasChan {
		if r := e.routes[st.lower(e.chanSlot)]; r != nil {
			if r.slot >= 0 {
				if _, ok := st.value(r.slot); ok {
					for _, id := range r.byVal[st.lower(r.slot)] {
						e.acceptAlt(st, id)
					}
				}
			}
			for _, id := range r.always {
				e.acceptAlt(st, id)
			}
			for _, id := range r.other {
				e.checkAlt(st, id)
			}
		}
	}
}

// buildSlotRoutes indexes the alternatives that are not indexed by channel
// (non-Windows sources) by one slot their condition cannot hold without:
// an event is only checked against the alternatives of the fields it has.
func (e *Engine) buildSlotRoutes() {
	e.bySlot = make([][]int32, len(e.slots))
	e.noChanAlt = make([]bool, len(e.alts))
	for _, id := range e.noChan {
		e.noChanAlt[id] = true
	}
	// Each alternative goes under its least shared required slot, so the
	// common ones (_source, event.module) do not gather every alternative.
	ids := append(append([]int32(nil), e.noChan...), e.generic...)
	req := make([][]int32, len(ids))
	count := map[int32]int{}
	for i, id := range ids {
		req[i] = requiredSlots(e.alts[id].cond, nil)
		for _, s := range req[i] {
			count[s]++
		}
	}
	for i, id := range ids {
		best := int32(-1)
		for _, s := range req[i] {
			if best < 0 || count[s] < count[best] || (count[s] == count[best] && s < best) {
				best = s
			}
		}
		if best >= 0 {
			e.bySlot[best] = append(e.bySlot[best], id)
		} else {
			e.unindexed = append(e.unindexed, id)
		}
	}
}

// requiredSlots appends the slots that must all be present for n to hold.
func requiredSlots(n node, dst []int32) []int32 {
	switch n := n.(type) {
	case andNode:
		for _, x := range n {
			dst = requiredSlots(x, dst)
		}
	default:
		if s := requiredSlot(n); s >= 0 && !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

// requiredSlot returns a slot that must be present for n to hold, or -1.
func requiredSlot(n node) int32 {
	switch n := n.(type) {
	case andNode:
		for _, x := range n {
			if s := requiredSlot(x); s >= 0 {
				return s
			}
		}
	case *memoNode:
		return requiredSlot(n.x)
	case *leafNode:
		if n.neg || len(n.groups) == 0 {
			return -1
		}
		for _, g := range n.groups {
			if len(g) == 0 {
				return -1
			}
			for i := range g {
				// A missing field fails every test but null and "exists: false".
				if m := &g[i]; m.op == opNull || (m.op == opExists && !m.want) {
					return -1
				}
			}
		}
		return n.slot
	}
	return -1
}

// acceptAlt records that the event belongs to a routing alternative.
func (e *Engine) acceptAlt(st *state, id int32) {
	if st.altSeen[id] == st.gen {
		return
	}
	st.altSeen[id] = st.gen
	if st.recordVol && e.volatileAlt[id] {
		st.volList = append(st.volList, id)
	}
	st.altOK[id] = st.gen
	st.altList = append(st.altList, id)
}

// checkAlt records whether the event belongs to a routing alternative.
func (e *Engine) checkAlt(st *state, id int32) {
	if st.altSeen[id] == st.gen {
		return
	}
	st.altSeen[id] = st.gen
	if st.recordVol && e.volatileAlt[id] {
		st.volList = append(st.volList, id)
	}
	if c := e.alts[id].cond; c != nil && !c.eval(st) {
		return
	}
	st.altOK[id] = st.gen
	st.altList = append(st.altList, id)
}

// unmemo returns the node a memoNode wraps, or n.
func unmemo(n node) node {
	if m, ok := n.(*memoNode); ok {
		return m.x
	}
	return n
}
