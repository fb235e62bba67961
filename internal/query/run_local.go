package query

import "hash/maphash"

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

// ipCounter is localCounter for IPv4 addresses as numbers.
type ipCounter struct {
	slots  []int32 // open addressing; 0 empty, else 1 + index into keys
	keys   []uint32
	counts []int64
	shift  uint
}

// reset prepares for up to n addresses.
func (lc *ipCounter) reset(n int) {
	size, bits := 16, uint(4)
	for size < 2*n {
		size <<= 1
		bits++
	}
	if cap(lc.slots) < size {
		lc.slots = make([]int32, size)
	} else {
		lc.slots = lc.slots[:size]
		clear(lc.slots)
	}
	lc.shift = 32 - bits
	lc.keys, lc.counts = lc.keys[:0], lc.counts[:0]
}

// add counts a once. At most n distinct addresses (see reset) fit.
func (lc *ipCounter) add(a uint32) {
	mask := uint32(len(lc.slots) - 1)
	for i := ipHash(a, lc.shift); ; i = (i + 1) & mask {
		s := lc.slots[i]
		if s == 0 {
			lc.slots[i] = int32(len(lc.keys) + 1)
			lc.keys = append(lc.keys, a)
			lc.counts = append(lc.counts, 1)
			return
		}
		if lc.keys[s-1] == a {
			lc.counts[s-1]++
			return
		}
	}
}

// ipHash spreads a over 32-shift bits (Fibonacci hashing).
func ipHash(a uint32, shift uint) uint32 { return (a * 0x9e3779b1) >> shift }

// ipTable is a growing set of IPv4 addresses as numbers, with a count
// per address.
type ipTable struct {
	slots  []uint32 // open addressing; 0 empty (address 0 is zero)
	counts []int64  // by slot
	n      int      // addresses in slots
	zero   bool     // holds 0.0.0.0
	zeroN  int64    // its count
	shift  uint
}

// add adds n to the count of a and reports whether a was new.
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
		switch t.slots[i] {
		case 0:
			t.slots[i], t.counts[i] = a, n
			t.n++
			return true
		case a:
			t.counts[i] += n
			return false
		}
	}
}

func (t *ipTable) grow() {
	slots, counts := t.slots, t.counts
	size, bits := 1024, uint(10)
	for size < 4*(t.n+1) {
		size <<= 1
		bits++
	}
	t.slots, t.counts, t.shift, t.n = make([]uint32, size), make([]int64, size), 32-bits, 0
	for i, a := range slots {
		if a != 0 {
			t.add(a, counts[i])
		}
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
	for i, a := range t.slots {
		if a != 0 {
			fn(a, t.counts[i])
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
