package sigma

import (
	"cmp"
	"slices"
	"unsafe"
)

// anchorMatcher finds which needles (lower-case literals) occur in a text.
// Each needle is represented by its rarest window of up to 4 bytes (its
// anchor; rarity is judged by how many needles share the window). A scan
// slides over the text once, probing a 128 KiB bitmap per window length
// (cache friendly, unlike a large Aho-Corasick table), and verifies the
// needles of an anchor where it occurs, by comparing the bytes around it.
type anchorMatcher struct {
	needles []string
	minLen  int                   // the length of the shortest needle: a shorter text holds none
	off     []int                 // per needle: offset of its anchor inside it
	bits    [5][]uint64           // by window length 2..4: hashed anchor bitmap
	tab     [5]map[uint32][]int32 // by window length: anchor -> needle ids (build only)
	// By window length: the (anchor, needle) pairs sorted by anchor hash,
	// and where each hash's run starts (a flat index instead of a map).
	start [5][]uint32
	pairs [5][]anchorPair
	text  string // the needles end to end: what the pairs' toff and tlen index
	shift uint32 // 32 - log2(bits per window length)
	// stride, when set, answers scanText and any with fewer probes (long
	// needles only; see withStride).
	stride *strideMatcher
}

// anchorPair is one needle under its anchor, with what verifying it needs,
// so a probe reads one contiguous run of memory. The needle's text is
// buf[toff:toff+tlen] of the matcher's packed needles (see packNeedles):
// a pair holds no pointer, so the garbage collector does not scan the
// tables (they are most of a compiled rule set's memory).
type anchorPair struct {
	anchor uint32
	needle int32
	off    int32 // offset of the anchor inside the needle
	toff   uint32
	tlen   uint32
}

// packedAt returns buf[off:off+n] without bounds checks: the offsets
// of pairs and matchers are made with the packed string they index
// (packNeedles, Engine.packStrings), so they always lie inside it.
func packedAt(buf string, off, n uint32) string {
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(buf)), off)), n) // #nosec G103 -- off+n <= len(buf) by construction (see above)
}

// packNeedles returns the needles end to end and each one's offset in it.
func packNeedles(needles []string) (string, []uint32) {
	n := 0
	for _, s := range needles {
		n += len(s)
	}
	b := make([]byte, 0, n)
	offs := make([]uint32, len(needles))
	for i, s := range needles {
		offs[i] = uint32(len(b))
		b = append(b, s...)
	}
	return string(b), offs
}

// maxAnchorBits bounds the bitmap (and index) of a matcher: 1<<20 bits
// per window length for the largest needle sets; small sets get small
// tables (about 32 bits per needle), which stay in cache.
const maxAnchorBits = 20

func (m *anchorMatcher) hash(v uint32) uint32 { return (v * 0x9E3779B1) >> m.shift }

func anchorBitsFor(n int) int {
	b := 10
	for b < maxAnchorBits && 1<<b < 32*n {
		b++
	}
	return b
}

func packWindow(s string) uint32 {
	var v uint32
	for i := 0; i < len(s); i++ {
		v = v<<8 | uint32(s[i])
	}
	return v
}

// newAnchorMatcher builds the matcher; needles must be at least 2 bytes.
func newAnchorMatcher(needles []string) *anchorMatcher {
	bits := anchorBitsFor(len(needles))
	m := &anchorMatcher{needles: needles, off: make([]int, len(needles)), shift: uint32(32 - bits)}
	var toffs []uint32
	m.text, toffs = packNeedles(needles)
	if len(needles) > 0 {
		m.minLen = len(slices.MinFunc(needles, func(a, b string) int { return cmp.Compare(len(a), len(b)) }))
	}
	// Document frequency of every 4-byte window across the needles (last
	// is the needle that counted it last, so a needle counts a window once).
	type windowDF struct{ n, last int32 }
	df := map[uint32]windowDF{}
	for id, n := range needles {
		for i := 0; i+4 <= len(n); i++ {
			w := packWindow(n[i : i+4])
			if d := df[w]; d.last != int32(id)+1 {
				df[w] = windowDF{n: d.n + 1, last: int32(id) + 1}
			}
		}
	}
	for id, n := range needles {
		var anchor string
		if len(n) < 4 {
			anchor = n
		} else {
			best := int32(-1)
			for i := 0; i+4 <= len(n); i++ {
				if d := df[packWindow(n[i:i+4])].n; best < 0 || d < best {
					best, anchor = d, n[i:i+4]
					m.off[id] = i
				}
			}
		}
		k := len(anchor)
		if m.tab[k] == nil {
			m.tab[k] = map[uint32][]int32{}
			m.bits[k] = make([]uint64, (1<<bits)/64)
		}
		v := packWindow(anchor)
		m.tab[k][v] = append(m.tab[k][v], int32(id))
		h := m.hash(v)
		m.bits[k][h/64] |= 1 << (h % 64)
	}
	for k := range m.tab {
		if m.tab[k] == nil {
			continue
		}
		counts := make([]uint32, 1<<bits+1)
		for v, ids := range m.tab[k] {
			counts[m.hash(v)+1] += uint32(len(ids))
		}
		for i := 1; i < len(counts); i++ {
			counts[i] += counts[i-1]
		}
		m.start[k] = counts
		m.pairs[k] = make([]anchorPair, counts[len(counts)-1])
		fill := append([]uint32(nil), counts[:len(counts)-1]...)
		for v, ids := range m.tab[k] {
			h := m.hash(v)
			for _, id := range ids {
				m.pairs[k][fill[h]] = anchorPair{anchor: v, needle: id, off: int32(m.off[id]), toff: toffs[id], tlen: uint32(len(m.needles[id]))}
				fill[h]++
			}
		}
		m.tab[k] = nil
	}
	return m
}

// withStride returns m, answering with a strideMatcher over the same
// needles when they are all long enough for one (see newStrideMatcher).
func (m *anchorMatcher) withStride() *anchorMatcher {
	m.stride = newStrideMatcher(m.needles)
	return m
}

// asciiLower maps a byte to its ASCII lower case.
var asciiLower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

// identity maps every byte to itself: scanText's table when not folding.
var identity = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	return t
}()

// scan appends the id of every needle found in text to dst. checked is
// per-needle scratch (len(needles)) and tok a value unique to this call,
// so a needle is reported at most once per text.
func (m *anchorMatcher) scan(text string, dst []int32, checked []uint32, tok uint32) []int32 {
	return m.scanText(text, false, dst, checked, tok)
}

// scanText is scan; with fold, text is ASCII that is not lower-cased and
// its bytes are folded as they are read, so it needs no lower-cased copy.
func (m *anchorMatcher) scanText(text string, fold bool, dst []int32, checked []uint32, tok uint32) []int32 {
	if len(text) < m.minLen {
		return dst
	}
	if m.stride != nil {
		return m.stride.scanText(text, fold, dst, checked, tok)
	}
	tbl := &identity
	if fold {
		tbl = &asciiLower
	}
	var v uint32
	b2, b3, b4 := m.bits[2], m.bits[3], m.bits[4]
	if b2 == nil && b3 == nil && b4 != nil {
		// Fast path: every needle is at least 4 bytes long.
		for i := 0; i < len(text); i++ {
			v = v<<8 | uint32(tbl[text[i]])
			if h := m.hash(v); i >= 3 && b4[h/64]&(1<<(h%64)) != 0 {
				dst = verifyRun(m.text, m.run(4, h), v, text, i-3, fold, dst, checked, tok)
			}
		}
		return dst
	}
	for i := 0; i < len(text); i++ {
		v = v<<8 | uint32(tbl[text[i]])
		if i >= 3 && b4 != nil {
			if h := m.hash(v); b4[h/64]&(1<<(h%64)) != 0 {
				dst = verifyRun(m.text, m.run(4, h), v, text, i-3, fold, dst, checked, tok)
			}
		}
		if i >= 2 && b3 != nil {
			w := v & 0xffffff
			if h := m.hash(w); b3[h/64]&(1<<(h%64)) != 0 {
				dst = verifyRun(m.text, m.run(3, h), w, text, i-2, fold, dst, checked, tok)
			}
		}
		if i >= 1 && b2 != nil {
			w := v & 0xffff
			if h := m.hash(w); b2[h/64]&(1<<(h%64)) != 0 {
				dst = verifyRun(m.text, m.run(2, h), w, text, i-1, fold, dst, checked, tok)
			}
		}
	}
	return dst
}

// run returns the pairs under hash h of the anchors of length k.
func (m *anchorMatcher) run(k int, h uint32) []anchorPair {
	return m.pairs[k][m.start[k][h]:m.start[k][h+1]]
}

// verifyRun appends to dst, at most once per tok (checked is per-needle
// scratch), the needles of run (the pairs under one hash, shared by the
// anchor and stride matchers; buf holds their text) whose window is v and
// that occur in text with that window at text[at:]; with fold, text is
// compared lower-cased.
func verifyRun(buf string, run []anchorPair, v uint32, text string, at int, fold bool, dst []int32, checked []uint32, tok uint32) []int32 {
	for i := range run {
		p := &run[i]
		if p.anchor != v || checked[p.needle] == tok {
			continue
		}
		begin, n := at-int(p.off), int(p.tlen)
		if begin < 0 || begin+n > len(text) {
			continue
		}
		needle := packedAt(buf, p.toff, p.tlen)
		if w := text[begin : begin+n]; fold && !equalLowerASCII(w, needle) || !fold && w != needle {
			continue
		}
		checked[p.needle] = tok
		dst = append(dst, p.needle)
	}
	return dst
}

// foundInRun reports whether a needle of run (its text in buf) whose
// window is v occurs in text (lower-cased) with that window at text[at:].
func foundInRun(buf string, run []anchorPair, v uint32, text string, at int) bool {
	for i := range run {
		p := &run[i]
		if begin := at - int(p.off); p.anchor == v && begin >= 0 && begin+int(p.tlen) <= len(text) && text[begin:begin+int(p.tlen)] == packedAt(buf, p.toff, p.tlen) {
			return true
		}
	}
	return false
}

// equalLowerASCII reports whether s, lower-cased, equals low (same length).
func equalLowerASCII(s, low string) bool {
	for i := 0; i < len(low); i++ {
		if asciiLower[s[i]] != low[i] {
			return false
		}
	}
	return true
}

// any reports whether text contains at least one of the needles.
func (m *anchorMatcher) any(text string) bool {
	if m.stride != nil {
		return m.stride.any(text)
	}
	var v uint32
	b2, b3, b4 := m.bits[2], m.bits[3], m.bits[4]
	for i := 0; i < len(text); i++ {
		v = v<<8 | uint32(text[i])
		if b4 != nil && i >= 3 {
			if h := m.hash(v); b4[h/64]&(1<<(h%64)) != 0 && foundInRun(m.text, m.run(4, h), v, text, i-3) {
				return true
			}
		}
		if b3 != nil && i >= 2 {
			w := v & 0xffffff
			if h := m.hash(w); b3[h/64]&(1<<(h%64)) != 0 && foundInRun(m.text, m.run(3, h), w, text, i-2) {
				return true
			}
		}
		if b2 != nil && i >= 1 {
			w := v & 0xffff
			if h := m.hash(w); b2[h/64]&(1<<(h%64)) != 0 && foundInRun(m.text, m.run(2, h), w, text, i-1) {
				return true
			}
		}
	}
	return false
}
