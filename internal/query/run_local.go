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
