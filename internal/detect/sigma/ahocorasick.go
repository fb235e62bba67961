package sigma

// acMatcher is an Aho-Corasick automaton compiled to a DFA over byte
// classes. ASCII letters fold to one class, so it finds lower-case patterns
// in text of any ASCII case without lowering the text first.
type acMatcher struct {
	class    [256]byte
	nclass   int
	trans    []uint32 // state*nclass + class -> next state
	out      []int32  // state -> first pattern id ending here, or -1
	nextOut  []int32  // state -> next state (by dictionary link) with output, or -1
	patterns int
}

func foldByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// newACMatcher builds the automaton. Patterns must be lower-case ASCII.
func newACMatcher(patterns []string) *acMatcher {
	m := &acMatcher{patterns: len(patterns)}
	// Byte classes: one per distinct (folded) byte used in the patterns;
	// class 0 is every other byte.
	var used [256]bool
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			used[foldByte(p[i])] = true
		}
	}
	n := 1
	for c := 0; c < 256; c++ {
		if used[c] {
			m.class[c] = byte(n)
			n++
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		m.class[c] = m.class[c+'a'-'A']
	}
	m.nclass = n
	// Trie with goto in a sparse map first.
	type tnode struct {
		next map[byte]uint32
		out  int32
	}
	nodes := []tnode{{out: -1}}
	for id, p := range patterns {
		s := uint32(0)
		for i := 0; i < len(p); i++ {
			c := m.class[p[i]]
			if nodes[s].next == nil {
				nodes[s].next = map[byte]uint32{}
			}
			nx, ok := nodes[s].next[c]
			if !ok {
				nx = uint32(len(nodes))
				nodes = append(nodes, tnode{out: -1})
				nodes[s].next[c] = nx
			}
			s = nx
		}
		if nodes[s].out < 0 {
			nodes[s].out = int32(id)
		}
	}
	ns := len(nodes)
	m.trans = make([]uint32, ns*n)
	m.out = make([]int32, ns)
	m.nextOut = make([]int32, ns)
	fail := make([]uint32, ns)
	// BFS builds the DFA: missing transitions follow the failure state's.
	queue := make([]uint32, 0, ns)
	for c := 0; c < n; c++ {
		if nx, ok := nodes[0].next[byte(c)]; ok {
			m.trans[c] = nx
			fail[nx] = 0
			queue = append(queue, nx)
		}
	}
	for i := 0; i < ns; i++ {
		m.out[i] = nodes[i].out
		m.nextOut[i] = -1
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := fail[s]
		if m.out[f] >= 0 {
			m.nextOut[s] = int32(f)
		} else {
			m.nextOut[s] = m.nextOut[f]
		}
		base := int(s) * n
		for c := 0; c < n; c++ {
			if nx, ok := nodes[s].next[byte(c)]; ok {
				m.trans[base+c] = nx
				fail[nx] = m.trans[int(f)*n+c]
				queue = append(queue, nx)
			} else {
				m.trans[base+c] = m.trans[int(f)*n+c]
			}
		}
	}
	return m
}

// scan appends the id of every pattern that occurs in text to dst (a
// pattern may be reported more than once).
func (m *acMatcher) scan(text string, dst []int32) []int32 {
	s := uint32(0)
	n := uint32(m.nclass)
	trans, out, next := m.trans, m.out, m.nextOut
	for i := 0; i < len(text); i++ {
		s = trans[s*n+uint32(m.class[text[i]])]
		if out[s] >= 0 || next[s] >= 0 {
			for t := int32(s); t >= 0; t = next[t] {
				if out[t] >= 0 {
					dst = append(dst, out[t])
				}
			}
		}
	}
	return dst
}

// states returns the number of DFA states (for memory accounting).
func (m *acMatcher) states() int { return len(m.out) }
