package query

import (
	"hash/maphash"
	"math"
)

// localCounter counts the values of one block's column before they reach
// a shard's map. Its table is small and hot in cache, and it keys values
// by their bytes in the block, so the shard's large map (cache misses, a
// key clone per new group) is touched once per distinct value of the
// block instead of once per row.
type localCounter struct {
	seed   maphash.Seed
	slots  []int32 // open addressing; 0 empty, else 1 + index into keys
	hashes []uint64
	keys   []string // views into the block: valid until the next reset
	counts []int64
}

// reset prepares for up to n values.
func (lc *localCounter) reset(n int) {
	if lc.slots == nil {
		lc.seed = maphash.MakeSeed()
	}
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if cap(lc.slots) < size {
		lc.slots = make([]int32, size)
	} else {
		lc.slots = lc.slots[:size]
		clear(lc.slots)
	}
	lc.hashes, lc.keys, lc.counts = lc.hashes[:0], lc.keys[:0], lc.counts[:0]
}

// add counts v once. At most n distinct values (see reset) fit.
func (lc *localCounter) add(v string) {
	h := maphash.String(lc.seed, v)
	mask := uint64(len(lc.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := lc.slots[i]
		if s == 0 {
			lc.slots[i] = int32(len(lc.keys) + 1)
			lc.hashes = append(lc.hashes, h)
			lc.keys = append(lc.keys, v)
			lc.counts = append(lc.counts, 1)
			return
		}
		if k := s - 1; lc.hashes[k] == h && lc.keys[k] == v {
			lc.counts[k]++
			return
		}
	}
}

// ipHash spreads a over 32-shift bits (Fibonacci hashing).
func ipHash(a uint32, shift uint) uint32 { return (a * 0x9e3779b1) >> shift }

// ipTable is a growing set of IPv4 addresses as numbers, with a count
// per address. A slot is one word, address<<32 | count, so counting an
// address touches one place of the table (the table of a scan's distinct
// addresses is larger than the core's cache).
type ipTable struct {
	slots []uint64 // open addressing; 0 empty (address 0 is zero)
	// big holds what the 32 bits of a slot's count cannot: the rest of
	// the count, by address.
	big   map[uint32]int64
	n     int   // addresses in slots
	zero  bool  // holds 0.0.0.0
	zeroN int64 // its count
	shift uint
}

// add adds n (>= 0) to the count of a and reports whether a was new.
func (t *ipTable) add(a uint32, n int64) bool {
	if a == 0 {
		added := !t.zero
		t.zero, t.zeroN = true, t.zeroN+n
		return added
	}
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := uint32(len(t.slots) - 1)
	for i := ipHash(a, t.shift); ; i = (i + 1) & mask {
		switch s := t.slots[i]; {
		case s == 0:
			t.slots[i] = uint64(a) << 32
			t.n++
			t.addAt(i, n)
			return true
		case uint32(s>>32) == a:
			t.addAt(i, n)
			return false
		}
	}
}

// addAt adds n to the count in slot i.
func (t *ipTable) addAt(i uint32, n int64) {
	s := t.slots[i]
	if c := int64(uint32(s)) + n; n >= 0 && c <= math.MaxUint32 {
		t.slots[i] = s&^math.MaxUint32 | uint64(c)
		return
	}
	if t.big == nil {
		t.big = map[uint32]int64{}
	}
	t.big[uint32(s>>32)] += int64(uint32(s)) + n
	t.slots[i] = s &^ math.MaxUint32
}

// get returns the count of a (0 when absent).
func (t *ipTable) get(a uint32) int64 {
	if a == 0 {
		return t.zeroN
	}
	if len(t.slots) == 0 {
		return 0
	}
	mask := uint32(len(t.slots) - 1)
	for i := ipHash(a, t.shift); ; i = (i + 1) & mask {
		switch s := t.slots[i]; {
		case s == 0:
			return 0
		case uint32(s>>32) == a:
			n := int64(uint32(s))
			if t.big != nil {
				n += t.big[a]
			}
			return n
		}
	}
}

// countEach adds one to the count of each address of addrs and returns
// how many were new.
func (t *ipTable) countEach(addrs []uint32) int {
	added := 0
	for _, a := range addrs {
		if a == 0 || 2*(t.n+1) > len(t.slots) {
			if t.add(a, 1) {
				added++
			}
			continue
		}
		mask := uint32(len(t.slots) - 1)
		for i := ipHash(a, t.shift); ; i = (i + 1) & mask {
			s := t.slots[i]
			if uint32(s>>32) == a { // a is not 0: neither is s
				if uint32(s) == math.MaxUint32 {
					t.addAt(i, 1)
				} else {
					t.slots[i] = s + 1
				}
				break
			}
			if s == 0 {
				t.slots[i] = uint64(a)<<32 | 1
				t.n++
				added++
				break
			}
		}
	}
	return added
}

func (t *ipTable) grow() {
	slots := t.slots
	size, bits := 1024, uint(10)
	for size < 4*(t.n+1) {
		size <<= 1
		bits++
	}
	t.slots, t.shift = make([]uint64, size), 32-bits
	mask := uint32(size - 1)
	for _, s := range slots {
		if s == 0 {
			continue
		}
		i := ipHash(uint32(s>>32), t.shift)
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// len returns the number of addresses.
func (t *ipTable) len() int {
	if t.zero {
		return t.n + 1
	}
	return t.n
}

// each calls fn on every address and its count, in no particular order.
func (t *ipTable) each(fn func(a uint32, n int64)) {
	if t.zero {
		fn(0, t.zeroN)
	}
	if t.big != nil {
		for _, s := range t.slots {
			if s != 0 {
				a := uint32(s >> 32)
				fn(a, int64(uint32(s))+t.big[a])
			}
		}
		return
	}
	for _, s := range t.slots {
		if s != 0 {
			fn(uint32(s>>32), int64(uint32(s)))
		}
	}
}

// topCount returns the k-th largest count (k >= 1), or 0 when the table
// holds at most k addresses.
func (t *ipTable) topCount(k int) int64 {
	if t.len() <= k {
		return 0
	}
	// A min-heap of the k largest counts seen.
	h := make([]int64, 0, k)
	t.each(func(_ uint32, n int64) {
		if len(h) < k {
			h = append(h, n)
			for i := len(h) - 1; i > 0 && h[(i-1)/2] > h[i]; i = (i - 1) / 2 {
				h[i], h[(i-1)/2] = h[(i-1)/2], h[i]
			}
			return
		}
		if n <= h[0] {
			return
		}
		h[0] = n
		for i := 0; ; {
			c := 2*i + 1
			if c >= k {
				break
			}
			if c+1 < k && h[c+1] < h[c] {
				c++
			}
			if h[i] <= h[c] {
				break
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	})
	return h[0]
}
