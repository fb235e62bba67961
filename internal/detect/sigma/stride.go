package sigma

// strideMatcher finds which needles (lower-case literals) occur in a text
// by probing only every step-th position. The 4-byte windows at the first
// step offsets of every needle are indexed with their offset, and step is
// at most the shortest needle's length minus 3: the first probed position
// in an occurrence is one of those offsets, and its window lies inside
// the needle. A probe verifies the needles whose window it found around
// it. For needle sets
// whose shortest needle is long (the keyword needles of the Windows
// alternatives are at least 9 bytes: `sekurlsa::`, `\mimilib.dll`) that
// is several times fewer probes than the anchor matcher's byte-by-byte
// slide, and the tables stay small. It reports what the anchor matcher
// over the same needles reports (as a set; the order may differ).
type strideMatcher struct {
	step   int
	minLen int
	bits   []uint64 // hashed windows
	shift  uint32
	// The (window, needle, offset) entries sorted by window hash, and where
	// each hash's run starts.
	start []uint32
	pairs []anchorPair
}

// minStride is the smallest step worth a strideMatcher (half the anchor
// matcher's probes; it indexes step windows per needle where the anchor
// matcher indexes one); maxStride bounds the step, and
// maxStridePairs bounds the windows indexed (long lists of long literals,
// such as the vulnerable-driver hashes, keep only the anchor matcher).
const (
	minStride      = 2
	maxStride      = 8
	maxStridePairs = 1 << 13
)

// newStrideMatcher returns a matcher for needles, or nil when the
// shortest is too short for a useful step.
func newStrideMatcher(needles []string) *strideMatcher {
	if len(needles) == 0 {
		return nil
	}
	minLen := len(needles[0])
	for _, n := range needles {
		minLen = min(minLen, len(n))
	}
	step := min(minLen-3, maxStride)
	if step < minStride {
		return nil
	}
	var pairs []anchorPair
	for id, n := range needles {
		for o := 0; o < step && o+4 <= len(n); o++ {
			pairs = append(pairs, anchorPair{anchor: packWindow(n[o : o+4]), needle: int32(id), off: int32(o), text: n})
		}
	}
	if len(pairs) > maxStridePairs {
		return nil
	}
	// At most 1<<16 bits (a 256 KiB flat index): false probes cost little
	// when there are few probes.
	bits := min(anchorBitsFor(len(pairs)), 16)
	m := &strideMatcher{step: step, minLen: minLen, bits: make([]uint64, (1<<bits)/64), shift: uint32(32 - bits)}
	counts := make([]uint32, 1<<bits+1)
	for _, p := range pairs {
		h := m.hash(p.anchor)
		m.bits[h/64] |= 1 << (h % 64)
		counts[h+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	m.start = counts
	m.pairs = make([]anchorPair, len(pairs))
	fill := append([]uint32(nil), counts[:len(counts)-1]...)
	for _, p := range pairs {
		h := m.hash(p.anchor)
		m.pairs[fill[h]] = p
		fill[h]++
	}
	return m
}

func (m *strideMatcher) hash(v uint32) uint32 { return (v * 0x9E3779B1) >> m.shift }

// scanText appends the id of every needle found in text to dst, at most
// once per tok (checked is per-needle scratch); with fold, text is ASCII
// that is not lower-cased yet.
func (m *strideMatcher) scanText(text string, fold bool, dst []int32, checked []uint32, tok uint32) []int32 {
	if len(text) < m.minLen {
		return dst
	}
	for p := 0; p+4 <= len(text); p += m.step {
		w := text[p : p+4]
		v := uint32(w[0])<<24 | uint32(w[1])<<16 | uint32(w[2])<<8 | uint32(w[3]) // one load
		if fold {
			v = lowerASCII4(v)
		}
		h := m.hash(v)
		if m.bits[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		dst = verifyRun(m.pairs[m.start[h]:m.start[h+1]], v, text, p, fold, dst, checked, tok)
	}
	return dst
}

// any reports whether text (lower-cased) contains at least one needle.
func (m *strideMatcher) any(text string) bool {
	for p := 0; p+4 <= len(text); p += m.step {
		v := packWindow(text[p : p+4])
		h := m.hash(v)
		if m.bits[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		if foundInRun(m.pairs[m.start[h]:m.start[h+1]], v, text, p) {
			return true
		}
	}
	return false
}

// lowerASCII4 lower-cases the four ASCII bytes of v at once: a byte gets
// 0x20 added when it lies in 'A'..'Z' (no byte is 0x80 or more, so the
// sums carry into no other byte).
func lowerASCII4(v uint32) uint32 {
	const lo = 0x01010101
	upper := (v + (0x80-'A')*lo) &^ (v + (0x80-'Z'-1)*lo) & (0x80 * lo)
	return v | upper>>2
}
