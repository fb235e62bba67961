package sigma

import (
	"encoding/binary"
	"slices"
)

// Routing cache: which alternatives an event belongs to depends only on
// which routing fields (the channel, the slots that index alternatives,
// the fields routing conditions read) the event has and on some of their
// values. Events of one source repeat a few combinations (channel and
// event ID, product and service fields), so each scratch space keeps the
// alternatives found for recent combinations, keyed by those values
// exactly, and skips routing on a hit.
//
// Alternatives whose condition reads free text (a regular expression on
// the message, a keyword search) would make every key distinct: they are
// volatile, left out of the key and checked on every event for which
// routing considered them (the cache entry lists them).

// maxRouteCache bounds the routing cache per scratch space (entries);
// the cache is cleared when full.
const maxRouteCache = 4096

// maxRouteKey is the longest key cached: events whose routing values are
// longer (unusual: a routing field that carries free text) are routed
// without the cache, so one such field cannot fill it.
const maxRouteKey = 512

// routeKeySpec lists the slots a routing key holds, sorted, and per slot
// whether its value is in the key (else only whether the event has it);
// pos maps every engine slot to its index in slots (-1: not in the key).
type routeKeySpec struct {
	slots []int32
	value []bool
	pos   []int32
}

// routeEntry is a cached routing result: ids[:accepted] are the
// alternatives the event belongs to, ids[accepted:] the volatile ones to
// check.
type routeEntry struct {
	ids      []int32
	accepted int
}

// buildRouteCache computes the routing keys (one for events without a
// channel, one for events with one: their routing reads different fields)
// and the volatile alternatives.
func (e *Engine) buildRouteCache() {
	// Volatile slots: tested by a regular expression in some routing
	// condition (free text such as the message).
	volSlot := map[int32]bool{}
	e.volatileAlt = make([]bool, len(e.alts))
	for id, a := range e.alts {
		if a.cond == nil {
			continue
		}
		if !readSlots(a.cond, func(s int32, regex bool) {
			if regex {
				volSlot[s] = true
			}
		}) {
			e.volatileAlt[id] = true
		}
	}
	for id, a := range e.alts {
		if a.cond != nil && !e.volatileAlt[id] {
			readSlots(a.cond, func(s int32, _ bool) {
				if volSlot[s] {
					e.volatileAlt[id] = true
				}
			})
		}
	}
	for k := range e.routeKeys {
		need := map[int32]bool{} // slot -> its value matters (else its presence)
		add := func(s int32, value bool) {
			if s >= 0 {
				need[s] = need[s] || value
			}
		}
		add(e.chanSlot, true)
		for s, ids := range e.bySlot {
			if len(ids) > 0 {
				add(int32(s), false)
			}
		}
		alts := append(append(slices.Clone(e.generic), e.noChan...), e.unindexed...)
		if k == 1 {
			for _, r := range e.routes {
				add(r.slot, true)
			}
			for _, ids := range e.byChan {
				alts = append(alts, ids...)
			}
		}
		for _, id := range alts {
			if c := e.alts[id].cond; c != nil && !e.volatileAlt[id] {
				readSlots(c, func(s int32, _ bool) { add(s, true) })
			}
		}
		// Presence is all an existence test reads.
		for _, id := range alts {
			if c := e.alts[id].cond; c != nil && !e.volatileAlt[id] {
				existsOnly(c, func(s int32) { add(s, false) })
			}
		}
		spec := &e.routeKeys[k]
		for s := range need {
			spec.slots = append(spec.slots, s)
		}
		slices.Sort(spec.slots)
		spec.pos = make([]int32, len(e.slots))
		for i := range spec.pos {
			spec.pos[i] = -1
		}
		for i, s := range spec.slots {
			spec.value = append(spec.value, need[s])
			spec.pos[s] = int32(i)
		}
	}
}

// readSlots calls add for every slot whose value n reads (regex: a
// regular expression tests it); false when n reads more than slot values
// (a keyword search) or is of a kind it does not know. Slots only tested
// for existence are left out (see existsOnly).
func readSlots(n node, add func(s int32, regex bool)) bool {
	switch n := n.(type) {
	case andNode:
		for _, x := range n {
			if !readSlots(x, add) {
				return false
			}
		}
	case orNode:
		for _, x := range n {
			if !readSlots(x, add) {
				return false
			}
		}
	case notNode:
		return readSlots(n.x, add)
	case *memoNode:
		return readSlots(n.x, add)
	case ofNode:
		for _, x := range n.xs {
			if !readSlots(x, add) {
				return false
			}
		}
	case constNode:
	case *leafNode:
		value, regex := false, false
		for _, g := range n.groups {
			for i := range g {
				switch g[i].op {
				case opExists:
				case opFieldRef:
					value = true
					add(g[i].ref, false)
				case opRegex:
					value, regex = true, true
				default:
					value = true
				}
			}
		}
		if value {
			add(n.slot, regex)
		}
	default:
		return false
	}
	return true
}

// existsOnly calls add for the slot of every leaf of n that only tests
// whether its field exists.
func existsOnly(n node, add func(int32)) {
	switch n := n.(type) {
	case andNode:
		for _, x := range n {
			existsOnly(x, add)
		}
	case orNode:
		for _, x := range n {
			existsOnly(x, add)
		}
	case notNode:
		existsOnly(n.x, add)
	case *memoNode:
		existsOnly(n.x, add)
	case ofNode:
		for _, x := range n.xs {
			existsOnly(x, add)
		}
	case *leafNode:
		add(n.slot)
	}
}

// routeKey appends the event's routing key to dst: which key, then for
// each slot of that key the event has, in the key's slot order, the slot's
// index in the key and, when its value matters, the value's length and
// the value. The slots the event has are found through its fields (every
// set slot is the slot of the field that set it, st.fieldSlot), not by
// testing each of the key's slots: an event has a few dozen fields, a key
// of all SigmaHQ rules ~80 slots.
func (e *Engine) routeKey(st *state, dst []byte) []byte {
	k := 0
	if v, ok := st.value(e.chanSlot); ok && v != "" {
		k = 1
	}
	dst = append(dst, byte(k))
	spec := &e.routeKeys[k]
	// The set slots of either key, as load found them (the field that
	// set each: the one routing reads).
	pos := spec.pos
	have := st.keyPos[:0]
	for _, s := range st.keySlots {
		if p := pos[s]; p >= 0 {
			have = append(have, p)
		}
	}
	// Insertion sort: a handful of positions, often in order already.
	for i := 1; i < len(have); i++ {
		for j := i; j > 0 && have[j] < have[j-1]; j-- {
			have[j], have[j-1] = have[j-1], have[j]
		}
	}
	st.keyPos = have
	for _, p := range have {
		dst = binary.AppendUvarint(dst, uint64(p))
		if spec.value[p] {
			v := st.vals[spec.slots[p]]
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		}
	}
	return dst
}

// routeCached is route through the scratch space's routing cache.
func (e *Engine) routeCached(st *state) {
	st.routeKey = e.routeKey(st, st.routeKey[:0])
	if len(st.routeKey) > maxRouteKey {
		e.route(st)
		return
	}
	if ent, ok := st.routes[string(st.routeKey)]; ok {
		st.altList = st.altList[:0]
		for _, id := range ent.ids[:ent.accepted] {
			e.acceptAlt(st, id)
		}
		for _, id := range ent.ids[ent.accepted:] {
			e.checkAlt(st, id)
		}
		return
	}
	st.volList, st.recordVol = st.volList[:0], true
	e.route(st)
	st.recordVol = false
	ids := make([]int32, 0, len(st.altList)+len(st.volList))
	for _, id := range st.altList {
		if !e.volatileAlt[id] {
			ids = append(ids, id)
		}
	}
	ent := routeEntry{accepted: len(ids)}
	ent.ids = append(ids, st.volList...)
	if st.routes == nil {
		st.routes = map[string]routeEntry{}
	} else if len(st.routes) >= maxRouteCache {
		clear(st.routes)
	}
	st.routes[string(st.routeKey)] = ent
}
