package sigma

import "unsafe"

// A compiled rule set is tens of thousands of small objects (leaves, their
// matcher lists, condition slices, literals), and the garbage collector
// marks every one of them at every cycle for as long as the engine lives:
// on a server running every SigmaHQ rule, much of the collection live
// detection adds. compact moves them, once compiled, into a few large
// arrays (slabs) of each kind and the literals into one string (the whole
// SigmaHQ set: 160,700 objects before, 13,300 after, mostly regular
// expressions and matcher tables). Nothing else changes: the nodes,
// leaves and matchers keep their types and values, and evaluation is the
// same code reading the same fields.

// slab hands out consecutive elements of large arrays: a new array is
// allocated when the current one is full (earlier ones stay in use), so
// a good size hint means one allocation.
type slab[T any] struct {
	buf  []T
	hint int
}

// take returns n zeroed elements (a full slice: appending to it copies).
func (s *slab[T]) take(n int) []T {
	if n == 0 {
		return nil
	}
	if cap(s.buf)-len(s.buf) < n {
		s.buf = make([]T, 0, max(n, s.hint))
	}
	i := len(s.buf)
	s.buf = s.buf[:i+n]
	return s.buf[i : i+n : i+n]
}

// copyOf returns xs copied into the slab.
func (s *slab[T]) copyOf(xs []T) []T {
	out := s.take(len(xs))
	copy(out, xs)
	return out
}

// compactor relinks an engine's condition trees into slabs. Shared nodes
// (a leaf, memo node or condition slice reached from several rules or
// alternatives) stay shared: each is moved once.
type compactor struct {
	leaves   slab[leafNode]
	kws      slab[keywordNode]
	nodes    slab[node]
	heads    slab[[]node]
	nots     slab[notNode]
	ofs      slab[ofNode]
	matchers slab[matcher]
	groups   slab[[]matcher]
	firsts   slab[*byteSet]
	sets     slab[byteSet]
	quadPtrs slab[*[quadWords]uint64]
	quads    slab[[quadWords]uint64]
	ints     slab[int]
	multis   slab[*anchorMatcher]

	leafAt  map[*leafNode]*leafNode
	kwAt    map[*keywordNode]*keywordNode
	memos   map[*memoNode]bool
	sliceAt map[sliceID]node
}

// sliceID identifies an andNode or orNode (or an ofNode's operands) by its
// array, so a slice reached twice is moved once.
type sliceID struct {
	p   *node
	n   int
	and bool
}

// compact moves the engine's condition trees into slabs (see above). It
// runs once, at the end of Compile, when nothing changes them any more.
func (e *Engine) compact() {
	c := &compactor{
		leafAt:  map[*leafNode]*leafNode{},
		kwAt:    map[*keywordNode]*keywordNode{},
		memos:   map[*memoNode]bool{},
		sliceAt: map[sliceID]node{},
	}
	c.sizeHints(e)
	// The rules and their alternatives' lists, each one array.
	rules := make([]compiledRule, len(e.rules))
	var alts slab[altRule]
	for _, r := range e.rules {
		alts.hint += len(r.alts)
	}
	for i, r := range e.rules {
		rules[i] = *r
		rules[i].alts = alts.copyOf(r.alts)
		e.rules[i] = &rules[i]
		for j := range rules[i].alts {
			rules[i].alts[j].cond = c.relink(rules[i].alts[j].cond)
		}
	}
	for _, a := range e.alts {
		a.cond = c.relink(a.cond)
		for j := range a.rules {
			a.rules[j].cond = c.relink(a.rules[j].cond)
		}
	}
	for _, m := range e.pf.slotAC {
		m.dropBuild()
	}
	for _, k := range e.pf.altKW {
		if k != nil {
			k.ac.dropBuild()
		}
	}
	e.packStrings(true)
}

// dropBuild lets go of what only building m needed: a scan verifies
// needles by the pairs' offsets into m.text (and the stride matcher's).
func (m *anchorMatcher) dropBuild() {
	if m != nil {
		m.needles, m.off = nil, nil
	}
}

// sizeHints counts what the slabs will hold, so each is one array.
func (c *compactor) sizeHints(e *Engine) {
	seen := map[any]bool{}
	var leaves, kws, nodes, slices, matchers, groups, sets, quads int
	var firsts, quadLists, multis, nots, ofs int
	e.walkConds(func(n node) bool {
		switch n := n.(type) {
		case andNode:
			nodes, slices = nodes+len(n), slices+1
		case orNode:
			nodes, slices = nodes+len(n), slices+1
		case ofNode:
			nodes, slices, ofs = nodes+len(n.xs), slices+1, ofs+1
		case notNode:
			nots++
		case *memoNode:
			if seen[n] {
				return false
			}
			seen[n] = true
		case *leafNode:
			if seen[n] {
				return false
			}
			seen[n] = true
			leaves++
			groups += len(n.groups)
			if !slicesAllNil(n.first) {
				firsts += len(n.first)
			}
			if n.quads != nil {
				quadLists += len(n.quads)
			}
			multis += len(n.multi)
			for gi, g := range n.groups {
				matchers += len(g)
				if n.first[gi] != nil {
					sets++
				}
				if n.quads != nil && n.quads[gi] != nil {
					quads++
				}
			}
		case *keywordNode:
			if seen[n] {
				return false
			}
			seen[n] = true
			kws++
			groups += len(n.groups)
			for _, g := range n.groups {
				matchers += len(g)
			}
		}
		return true
	})
	c.leaves.hint, c.kws.hint, c.nodes.hint, c.heads.hint = leaves, kws, nodes, slices
	c.matchers.hint, c.groups.hint, c.firsts.hint = matchers, groups, firsts
	c.sets.hint, c.quads.hint, c.quadPtrs.hint, c.ints.hint = sets, quads, quadLists, quadLists
	c.multis.hint, c.nots.hint, c.ofs.hint = multis, nots, ofs
}

// walkConds calls visit on every node of the rules' conditions and the
// alternatives' routing conditions, depth first, and on a node's operands
// when visit returns true (it skips what it has seen: shared nodes).
func (e *Engine) walkConds(visit func(node) bool) {
	for _, r := range e.rules {
		for _, ar := range r.alts {
			walkNode(ar.cond, visit)
		}
	}
	for _, a := range e.alts {
		walkNode(a.cond, visit)
	}
}

// walkNode calls visit on n and, when it returns true, on n's operands.
func walkNode(n node, visit func(node) bool) {
	if n == nil || !visit(n) {
		return
	}
	switch n := n.(type) {
	case andNode:
		for _, x := range n {
			walkNode(x, visit)
		}
	case orNode:
		for _, x := range n {
			walkNode(x, visit)
		}
	case ofNode:
		for _, x := range n.xs {
			walkNode(x, visit)
		}
	case notNode:
		walkNode(n.x, visit)
	case *memoNode:
		walkNode(n.x, visit)
	}
}

// relink returns n with its parts moved into the slabs.
func (c *compactor) relink(n node) node {
	switch n := n.(type) {
	case andNode:
		return c.relinkSlice(n, true)
	case orNode:
		return c.relinkSlice(n, false)
	case ofNode:
		if len(n.xs) == 0 {
			return n
		}
		xs := c.relinkSlice(n.xs, true).(andNode)
		p := &c.ofs.take(1)[0]
		*p = ofNode{n: n.n, xs: xs}
		to := ofTemplate
		boxAt(&to, unsafe.Pointer(p)) // #nosec G103 -- see boxAt
		return to
	case notNode:
		p := &c.nots.take(1)[0]
		*p = notNode{c.relink(n.x)}
		to := notTemplate
		boxAt(&to, unsafe.Pointer(p)) // #nosec G103 -- see boxAt
		return to
	case *memoNode:
		if !c.memos[n] {
			c.memos[n] = true
			n.x = c.relink(n.x)
		}
		return n
	case *leafNode:
		return c.leaf(n)
	case *keywordNode:
		if to, ok := c.kwAt[n]; ok {
			return to
		}
		to := &c.kws.take(1)[0]
		*to = keywordNode{groups: c.matcherGroups(n.groups), neg: n.neg}
		c.kwAt[n] = to
		return to
	}
	return n
}

// relinkSlice moves the operands of an andNode (and) or orNode.
func (c *compactor) relinkSlice(xs []node, and bool) node {
	if len(xs) == 0 {
		if and {
			return andNode(xs)
		}
		return orNode(xs)
	}
	id := sliceID{p: unsafe.SliceData(xs), n: len(xs), and: and} // #nosec G103 -- the backing array identifies a shared operand list; only compared, never dereferenced
	if to, ok := c.sliceAt[id]; ok {
		return to
	}
	out := c.nodes.take(len(xs))
	for i, x := range xs {
		out[i] = c.relink(x)
	}
	h := &c.heads.take(1)[0]
	*h = out
	to := orTemplate
	if and {
		to = andTemplate
	}
	boxAt(&to, unsafe.Pointer(h)) // #nosec G103 -- see boxAt
	c.sliceAt[id] = to
	return to
}

// iface is the layout of a non-empty interface value.
type iface struct {
	tab  unsafe.Pointer
	data unsafe.Pointer
}

// boxAt makes n, a node of a value type (andNode, orNode, notNode,
// ofNode), hold *p without copying it to a new object: the interface's
// data word points at p, an element of a slab of that type, where a
// conversion would allocate a box per node. n must already hold a value
// of p's type (one of the templates below), so its type word is right;
// nothing writes through an interface's data, so the slab's element is
// what the runtime's own box would be (same type, same layout).
func boxAt(n *node, p unsafe.Pointer) {
	(*iface)(unsafe.Pointer(n)).data = p // #nosec G103 -- see above
}

// The templates boxAt starts from: each holds its type's zero value.
var (
	andTemplate node = andNode(nil)
	orTemplate  node = orNode(nil)
	notTemplate node = notNode{}
	ofTemplate  node = ofNode{}
)

// matcherGroups copies a leaf's matcher lists into the slabs.
func (c *compactor) matcherGroups(groups [][]matcher) [][]matcher {
	out := c.groups.take(len(groups))
	for i, g := range groups {
		out[i] = c.matchers.copyOf(g)
	}
	return out
}

// leaf moves a leaf, its matchers and its per-group tests.
func (c *compactor) leaf(n *leafNode) *leafNode {
	if to, ok := c.leafAt[n]; ok {
		return to
	}
	to := &c.leaves.take(1)[0]
	*to = leafNode{slot: n.slot, neg: n.neg, memo: n.memo, groups: c.matcherGroups(n.groups)}
	if slicesAllNil(n.first) {
		// No group has a first-byte set, so none has quads or multi
		// (both need one): test skips the group tests on nil.
		c.leafAt[n] = to
		return to
	}
	to.nonASCII = n.nonASCII
	to.first = c.firsts.take(len(n.first))
	for i, f := range n.first {
		if f != nil {
			s := &c.sets.take(1)[0]
			*s = *f
			to.first[i] = s
		}
	}
	if n.quads != nil {
		to.quads = c.quadPtrs.take(len(n.quads))
		for i, q := range n.quads {
			if q != nil {
				s := &c.quads.take(1)[0]
				*s = *q
				to.quads[i] = s
			}
		}
		to.quadK = c.ints.copyOf(n.quadK)
	}
	if n.multi != nil {
		to.multi = c.multis.copyOf(n.multi)
		for _, m := range to.multi {
			m.dropBuild()
		}
	}
	c.leafAt[n] = to
	return to
}

// slicesAllNil reports whether every element of xs is nil.
func slicesAllNil[T any](xs []*T) bool {
	for _, x := range xs {
		if x != nil {
			return false
		}
	}
	return true
}

// packStrings moves the literals of every matcher, every prefilter key
// and the needles of the keyword matchers into one string, e.lits (equal
// ones shared), and gives every matcher its literal's place in it (see
// matcher.lit). With clear, a leaf's matchers then let go of their
// literal (s): what evaluation reads is the place, and a matcher without
// a pointer is one pointer fewer for the collector per matcher (keyword
// matchers keep theirs for the hunt's flattener, see packSafeNode).
func (e *Engine) packStrings(clear bool) {
	at := map[string]int{}
	var buf []byte
	e.eachString(func(s *string) {
		if _, ok := at[*s]; !ok && *s != "" {
			at[*s] = len(buf)
			buf = append(buf, *s...)
		}
	}, nil)
	e.lits = string(buf)
	e.eachString(func(s *string) {
		if *s != "" {
			o := at[*s]
			*s = e.lits[o : o+len(*s)]
		}
	}, func(m *matcher, kw bool) {
		m.soff, m.slen = uint32(at[m.s]), uint32(len(m.s))
		if clear && !kw {
			m.s = ""
		}
	})
}

// eachString calls fn on every literal packStrings moves, then fm (when
// set) on every matcher of a leaf (kw false) or keyword search (kw true).
func (e *Engine) eachString(fn func(*string), fm func(m *matcher, kw bool)) {
	seen := map[any]bool{}
	groups := func(gs [][]matcher, kw bool) {
		for _, g := range gs {
			for i := range g {
				fn(&g[i].s)
				if fm != nil {
					fm(&g[i], kw)
				}
				if x := g[i].x; x != nil && !seen[x] {
					seen[x] = true
					for j := range x.glob {
						fn(&x.glob[j])
					}
				}
			}
		}
	}
	anchor := func(m *anchorMatcher) {
		if m != nil && !seen[m] {
			seen[m] = true
			for i := range m.needles {
				fn(&m.needles[i])
			}
		}
	}
	e.walkConds(func(n node) bool {
		switch n := n.(type) {
		case *memoNode:
			if seen[n] {
				return false
			}
			seen[n] = true
		case *leafNode:
			if !seen[n] {
				seen[n] = true
				groups(n.groups, false)
				for _, m := range n.multi {
					anchor(m)
				}
			}
		case *keywordNode:
			if !seen[n] {
				seen[n] = true
				groups(n.groups, true)
			}
		}
		return true
	})
	for i := range e.pf.keys {
		fn(&e.pf.keys[i].lit)
	}
	for i, m := range e.pf.exact {
		if m == nil {
			continue
		}
		// A map keeps its own copy of each key: rebuilt with keys that
		// share the packed string.
		to := make(map[string]int32, len(m))
		for k, v := range m {
			fn(&k)
			to[k] = v
		}
		e.pf.exact[i] = to
	}
	for _, m := range e.pf.slotAC {
		anchor(m)
	}
	for _, k := range e.pf.altKW {
		if k != nil && !seen[k] {
			seen[k] = true
			anchor(k.ac)
			if k.few != nil {
				for i := range k.few.needles {
					fn(&k.few.needles[i])
				}
			}
		}
	}
}
