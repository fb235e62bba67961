package store

import (
	"strings"
	"sync"
	"sync/atomic"
)

// The body cache keeps decompressed small bodies of the blocks that
// selective reads kept (BlockBodies), process-wide, so that a needle
// searched again (or another needle in the same blocks) decompresses
// none of them. It is filled only by blocks of which a row load read
// few rows (BlockBodies.rowsLoaded): a count or a scan that reads every
// block (count_by_host, phrase_count) never adds to it, and so never
// evicts the needles' bodies. Lookups are made by every BlockBodies.
//
// An entry is keyed by the part (its *part, which the entry keeps
// alive, so that no other part can get the same key) and the chunk's
// offset in it; a part is immutable, so an entry never goes stale. The
// entries of a part that merges or retention dropped are removed when
// the next part enters the cache (sweepDropped) or by forgetPartBodies,
// and never added once the part is gone (its refs hit 0). The cache is
// bounded by bytes (the bodies' lengths plus bodyCacheEntryCost each),
// evicting the least recently used.
//
// A body is admitted on its second use (the doorkeeper, seen): the first
// selective read of a block only notes its key, so a one-off search
// pays no copy and no fresh memory for bodies it never reads again,
// and a search repeated (or another needle in the same blocks) fills the
// cache on its second read.

// DefaultBodyCacheBytes is the body cache's bound until
// SetBodyCacheBytes changes it.
const DefaultBodyCacheBytes = 64 << 20

// bodyCacheEntryCost is what an entry costs besides its body: the entry,
// its map slot and the string header.
const bodyCacheEntryCost = 128

type bodyCacheKey struct {
	p   *part
	off uint64
	// tag tells apart what is kept for the same offset: 0 a chunk's
	// body or a frame's bytes (at the frame's offset), others derived
	// data (rowload_cache.go).
	tag byte
}

type bodyCacheEntry struct {
	key        bodyCacheKey
	kind       byte
	body       string
	prev, next *bodyCacheEntry // the LRU list: lru.next is the most recent
}

type bodyCache struct {
	max atomic.Int64 // the bound in bytes; 0: off

	mu    sync.Mutex
	size  int64 // bytes held (bodies + bodyCacheEntryCost each)
	m     map[bodyCacheKey]*bodyCacheEntry
	parts map[*part]int // entries per part
	lru   bodyCacheEntry
	// seen holds the keys offered once and not admitted yet (nil: every
	// body is admitted at once); emptied when it reaches maxSeen keys.
	seen      map[bodyCacheKey]struct{}
	seenParts map[*part]int // keys in seen per part

	hits, misses, evictions atomic.Uint64
}

// sharedBodies is the process's body cache, admitting bodies on their
// second use.
var sharedBodies = newDoorkeptBodyCache(DefaultBodyCacheBytes)

// maxSeen bounds the doorkeeper's keys (about 40 bytes each).
const maxSeen = 1 << 16

func newDoorkeptBodyCache(max int64) *bodyCache {
	c := newBodyCache(max)
	c.seen, c.seenParts = map[bodyCacheKey]struct{}{}, map[*part]int{}
	return c
}

func newBodyCache(max int64) *bodyCache {
	c := &bodyCache{m: map[bodyCacheKey]*bodyCacheEntry{}, parts: map[*part]int{}}
	c.lru.prev, c.lru.next = &c.lru, &c.lru
	c.max.Store(max)
	return c
}

// SetBodyCacheBytes bounds the process's cache of decompressed bodies
// (n bytes; 0 or less turns it off and empties it). The cache is shared
// by every store of the process: the last bound set holds.
func SetBodyCacheBytes(n int64) {
	sharedBodies.setMax(n)
}

// BodyCacheMetrics counts the body cache's use since the process began.
type BodyCacheMetrics struct {
	Hits, Misses uint64 // lookups of kept bodies that found one or not
	Evictions    uint64 // entries dropped for room (not those of dropped parts)
	Bytes        int64  // held: bodies and per-entry overhead
	Entries      int
	MaxBytes     int64 // the bound (0: off)
}

// BodyCacheStats returns the body cache's counters.
func BodyCacheStats() BodyCacheMetrics {
	return sharedBodies.stats()
}

func (c *bodyCache) stats() BodyCacheMetrics {
	c.mu.Lock()
	size, n := c.size, len(c.m)
	c.mu.Unlock()
	return BodyCacheMetrics{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(),
		Bytes: size, Entries: n, MaxBytes: c.max.Load()}
}

func (c *bodyCache) setMax(n int64) {
	n = max(n, 0)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max.Store(n)
	c.evictTo(n)
}

// get returns the cached body of the chunk at off of p.
func (c *bodyCache) get(p *part, off uint64) (kind byte, body string, ok bool) {
	return c.getTag(p, off, 0)
}

// getTag returns the cached entry (p, off, tag).
func (c *bodyCache) getTag(p *part, off uint64, tag byte) (kind byte, body string, ok bool) {
	if c.max.Load() == 0 {
		return 0, "", false
	}
	c.mu.Lock()
	e := c.m[bodyCacheKey{p, off, tag}]
	if e != nil {
		c.unlink(e)
		c.pushFront(e)
		kind, body = e.kind, e.body
	}
	c.mu.Unlock()
	if e == nil {
		c.misses.Add(1)
		return 0, "", false
	}
	c.hits.Add(1)
	return kind, body, true
}

// cachedBody is a body for bodyCache.putAll.
type cachedBody struct {
	off  uint64
	tag  byte // 0 for bodies and frames (bodyCacheKey)
	kind byte
	body string // copied by putAll
}

// putAll adds the bodies of part p that the cache does not hold. p must
// be pinned by the caller (a snapshot's ref).
func (c *bodyCache) putAll(p *part, bodies []cachedBody) {
	lim := c.max.Load()
	if lim == 0 || len(bodies) == 0 {
		return
	}
	if c.seen != nil {
		if bodies = c.admit(p, bodies); len(bodies) == 0 {
			return
		}
	}
	// The copies are made before taking the lock (other workers' lookups
	// wait on it), each its own allocation (an entry evicted frees its
	// body).
	var buf [keptBodiesMax]string
	copies := buf[:0]
	for _, b := range bodies {
		copies = append(copies, strings.Clone(b.body))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.refs.Load() <= 0 {
		return // dropped (the caller's pin is gone): never added
	}
	if c.parts[p] == 0 {
		c.sweepDropped() // a new part: merges may have dropped others
	}
	for j, b := range bodies {
		body := copies[j]
		cost := int64(len(b.body)) + bodyCacheEntryCost
		if cost > lim {
			continue
		}
		k := bodyCacheKey{p, b.off, b.tag}
		if c.m[k] != nil {
			continue
		}
		c.evictTo(lim - cost)
		e := &bodyCacheEntry{key: k, kind: b.kind, body: body}
		c.m[k] = e
		c.parts[p]++
		c.size += cost
		c.pushFront(e)
	}
}

// admit returns the bodies offered before (their keys in seen), and
// notes the others' keys for next time. The returned slice may share
// bodies' array.
func (c *bodyCache) admit(p *part, bodies []cachedBody) []cachedBody {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.refs.Load() <= 0 {
		return nil
	}
	if c.parts[p] == 0 && c.seenParts[p] == 0 {
		c.sweepDropped() // a new part: merges may have dropped others
	}
	out := bodies[:0]
	for _, b := range bodies {
		k := bodyCacheKey{p, b.off, b.tag}
		if _, ok := c.seen[k]; ok {
			delete(c.seen, k)
			if c.seenParts[p]--; c.seenParts[p] == 0 {
				delete(c.seenParts, p)
			}
			out = append(out, b)
			continue
		}
		if c.m[k] == nil {
			c.noteSeen(p, k)
		}
	}
	return out
}

// noteSeen notes k in the doorkeeper (it is admitted when offered
// again). c.mu is held.
func (c *bodyCache) noteSeen(p *part, k bodyCacheKey) {
	if len(c.seen) >= maxSeen {
		clear(c.seen)
		clear(c.seenParts)
	}
	c.seen[k] = struct{}{}
	c.seenParts[p]++
}

// wants reports whether k was offered before (its key is in the
// doorkeeper, so that an entry put now is admitted), noting it when not:
// for what costs work to make (delta marks), made on the second use.
func (c *bodyCache) wants(p *part, k bodyCacheKey) bool {
	if c.max.Load() == 0 {
		return false
	}
	if c.seen == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.refs.Load() <= 0 {
		return false
	}
	if _, ok := c.seen[k]; ok {
		return true
	}
	if c.m[k] != nil {
		return false
	}
	if c.parts[p] == 0 && c.seenParts[p] == 0 {
		c.sweepDropped()
	}
	c.noteSeen(p, k)
	return false
}

// evictTo drops the least recently used entries until at most n bytes
// are held. c.mu is held.
func (c *bodyCache) evictTo(n int64) {
	for c.size > n && c.lru.prev != &c.lru {
		c.remove(c.lru.prev)
		c.evictions.Add(1)
	}
}

// sweepDropped removes the entries and doorkeeper keys of parts no longer
// live (their refs hit 0: released, unmapped). c.mu is held.
func (c *bodyCache) sweepDropped() {
	var gone []*part
	for q := range c.parts {
		if q.refs.Load() <= 0 {
			gone = append(gone, q)
		}
	}
	for q := range c.seenParts {
		if q.refs.Load() <= 0 && c.parts[q] == 0 {
			gone = append(gone, q)
		}
	}
	for _, q := range gone {
		c.forgetLocked(q)
	}
}

// forgetPartBodies removes the entries and doorkeeper keys of p: the
// release of a part (its last ref) calls it.
func forgetPartBodies(p *part) {
	c := sharedBodies
	c.mu.Lock()
	c.forgetLocked(p)
	c.mu.Unlock()
}

func (c *bodyCache) forgetLocked(p *part) {
	if c.seenParts[p] > 0 {
		for k := range c.seen {
			if k.p == p {
				delete(c.seen, k)
			}
		}
		delete(c.seenParts, p)
	}
	if c.parts[p] == 0 {
		return
	}
	for e := c.lru.next; e != &c.lru; {
		next := e.next
		if e.key.p == p {
			c.remove(e)
		}
		e = next
	}
	delete(c.parts, p)
}

func (c *bodyCache) remove(e *bodyCacheEntry) {
	c.unlink(e)
	delete(c.m, e.key)
	c.size -= int64(len(e.body)) + bodyCacheEntryCost
	if n := c.parts[e.key.p] - 1; n > 0 {
		c.parts[e.key.p] = n
	} else {
		delete(c.parts, e.key.p)
	}
}

func (c *bodyCache) unlink(e *bodyCacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *bodyCache) pushFront(e *bodyCacheEntry) {
	e.prev, e.next = &c.lru, c.lru.next
	c.lru.next.prev = e
	c.lru.next = e
}
