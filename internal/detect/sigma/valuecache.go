package sigma

import (
	"hash/maphash"
	"math/bits"
)

// valueCache remembers, per (slot, keyword matcher, value), which needle
// keys the prefilter found in a field value, so a value seen again is not
// scanned again. Real logs repeat most of their values (image and parent
// image paths, users, command lines of services, integrity levels,
// hashes), and scanning is the largest cost of Match.
//
// It is a set-associative table (cacheWays entries per set, the least
// recently used one replaced): a lookup hashes the value, compares the
// set's hashes (one cache line) and then the whole value, so a hash
// collision never changes a result. Each Match scratch space (state) has
// its own, so there is no locking; its memory is bounded by the number of
// entries times maxCachedValue.
type valueCache struct {
	seed maphash.Seed
	tags []cacheTag // per entry; a set's tags share one cache line
	ents []cacheEntry
	mask uint64 // sets - 1
	// hits and misses count lookups (for diagnostics and tests).
	hits, misses int64
}

// cacheTag is what a lookup reads first about an entry.
type cacheTag struct {
	hash uint64 // the hash of the entry's key
	used uint32 // the state gen of the last event that used the entry
	_    uint32
}

// cacheEntry is one cached value and what the prefilter found in it.
type cacheEntry struct {
	kw   *kwMatcher // the keyword matcher the value was scanned with (nil: none)
	slot int32      // the slot whose field needles were looked for (-1: none)
	val  []byte     // the value (the cache's own copy)
	keys []int32    // needle keys found in the value
	// memo holds the results of leaves evaluated on the value (see
	// leafNode.memo): an open-addressed table of memo id<<1 | result (0:
	// empty), at most maxMemo long.
	memo  []uint32
	memoN int
}

const (
	// defaultValueCache is the most entries per scratch space by default.
	defaultValueCache = 1 << 13
	cacheWays         = 4
	// Values shorter than minCachedValue cost less to scan than to look
	// up; longer than maxCachedValue are scanned every time (it bounds the
	// cache's memory).
	minCachedValue = 8
	maxCachedValue = 1024
)

func newValueCache(entries int) *valueCache {
	sets := 1 << bits.Len(uint(max(entries/cacheWays, 1)-1)) // a power of two
	n := sets * cacheWays
	return &valueCache{seed: maphash.MakeSeed(), tags: make([]cacheTag, n), ents: make([]cacheEntry, n), mask: uint64(sets - 1)}
}

// cacheable reports whether a value is worth caching.
func cacheable(v string) bool {
	return len(v) >= minCachedValue && len(v) <= maxCachedValue
}

// lookup returns the entry holding (slot, kw, v) and true, marking it used
// by the event gen; else the entry where v should go (see store, -1 when
// every entry of the set is in use by this event) and false. h is the hash.
func (c *valueCache) lookup(slot int32, kw *kwMatcher, v string, gen uint32) (i int, h uint64, ok bool) {
	h = maphash.String(c.seed, v) ^ (uint64(uint32(slot)) * 0x9E3779B97F4A7C15)
	set := int(h&c.mask) * cacheWays
	victim, age := -1, uint32(0)
	for i := set; i < set+cacheWays; i++ {
		t := &c.tags[i]
		if t.hash == h {
			if e := &c.ents[i]; e.slot == slot && e.kw == kw && string(e.val) == v {
				t.used = gen
				c.hits++
				return i, h, true
			}
		}
		// The least recently used entry (gen wraps: compare differences);
		// never one this event uses (its keys were just read).
		if a := gen - t.used; a != 0 && (victim < 0 || a > age) {
			victim, age = i, a
		}
	}
	c.misses++
	return victim, h, false
}

// store puts (slot, kw, v) and the keys found in v into entry i.
func (c *valueCache) store(i int, h uint64, slot int32, kw *kwMatcher, v string, keys []int32, gen uint32) {
	if i < 0 {
		return
	}
	e := &c.ents[i]
	c.tags[i] = cacheTag{hash: h, used: gen}
	e.slot, e.kw = slot, kw
	e.val = append(e.val[:0], v...)
	e.keys = append(e.keys[:0], keys...)
	clear(e.memo)
	e.memoN = 0
}

// maxMemo bounds the leaf results one entry keeps (its table is at most
// twice as long).
const maxMemo = 128

// memoGet returns the memoized result of leaf id (memo ids start at 1).
func (e *cacheEntry) memoGet(id int32) (res, ok bool) {
	if len(e.memo) == 0 {
		return false, false
	}
	mask := len(e.memo) - 1
	for i := int(uint32(id)*0x9E3779B1) & mask; ; i = (i + 1) & mask {
		switch x := e.memo[i]; {
		case x == 0:
			return false, false
		case int32(x>>1) == id:
			return x&1 != 0, true
		}
	}
}

// memoPut records the result of leaf id (dropped when the table is full).
func (e *cacheEntry) memoPut(id int32, res bool) {
	if e.memoN >= maxMemo {
		return
	}
	if 2*(e.memoN+1) > len(e.memo) {
		old := e.memo
		e.memo = make([]uint32, max(16, 2*len(old)))
		e.memoN = 0
		for _, x := range old {
			if x != 0 {
				e.memoPut(int32(x>>1), x&1 != 0)
			}
		}
	}
	x := uint32(id) << 1
	if res {
		x |= 1
	}
	mask := len(e.memo) - 1
	i := int(uint32(id)*0x9E3779B1) & mask
	for e.memo[i] != 0 {
		i = (i + 1) & mask
	}
	e.memo[i] = x
	e.memoN++
}

// scanValue appends to dst the needle keys found in v, the value of event
// field j: field needles of slot (when slot >= 0) and keyword needles of
// kw (when not nil).
func (e *Engine) scanValue(st *state, j, slot int32, kw *kwMatcher, v string, dst []int32) []int32 {
	pf := &e.pf
	fold := isASCII(v)
	low := v
	if !fold {
		low = st.lowerField(j)
	}
	if slot >= 0 {
		if ex := pf.exact[slot]; ex != nil {
			if k, ok := ex[st.lowerField(j)]; ok {
				dst = append(dst, k)
			}
		}
		if ac := pf.slotAC[slot]; ac != nil {
			dst = st.findKeys(ac, pf.slotKeys[slot], low, fold, dst)
		}
	}
	if kw != nil {
		dst = st.findKeys(kw.ac, kw.keys, low, fold, dst)
	}
	return dst
}

// findKeys appends to dst the key (keys[pattern]) of every needle of ac
// found in text; fold says text is ASCII and not lower-cased yet.
func (st *state) findKeys(ac *anchorMatcher, keys []int32, text string, fold bool, dst []int32) []int32 {
	n0 := len(st.hits)
	st.hits = ac.scanText(text, fold, st.hits, st.checked, st.nextTok())
	for _, p := range st.hits[n0:] {
		dst = append(dst, keys[p])
	}
	st.hits = st.hits[:n0]
	return dst
}
