package sigma

import "unsafe"

// strideMatcher finds which needles (lower-case literals) occur in a text
// by probing only every step-th position. At each probe it reads the
// 4-byte window there and looks it up in up to two tiers:
//
//   - the long needles (at least step+3 bytes) index their 4-byte windows
//     at the first step offsets: the first probed position in an
//     occurrence is one of those offsets, and its window lies inside the
//     needle;
//   - the short needles (step+1 or step+2 bytes) index their 2-byte
//     windows at the first step offsets (the low half of the probe's
//     window), by the same argument.
//
// A probe verifies the needles whose window it found. For needle sets
// whose shortest needle is long (the keyword needles of the Windows
// alternatives are at least 9 bytes: `sekurlsa::`, `\mimilib.dll`) that
// is several times fewer probes than the anchor matcher's byte-by-byte
// slide; a set held down by a few short needles (the Linux keyword
// needles include `scp ` and `sftp `) still probes every third byte, the
// short ones through the 2-byte tier. Windows are read as little-endian
// words with one load, case-merged (see caseMerge) and looked up without
// bounds checks (the tiers' tables are sized to their hash), in a loop
// that calls nothing (see strideTier.next). It reports what the anchor
// matcher over the same needles reports (as a set; the order may differ).
type strideMatcher struct {
	step   int
	minLen int
	long   strideTier // 4-byte windows
	short  strideTier // 2-byte windows (bits nil: no short needles)
	text   string     // the needles end to end (see anchorPair)
}

// strideTier indexes needle windows of one length by hash: a bitmap of
// the hashes, and the (window, needle, offset) entries sorted by hash with
// where each hash's run starts.
type strideTier struct {
	bits  []uint64
	shift uint32
	start []uint32
	pairs []anchorPair
}

// minStride is the smallest step worth a strideMatcher (half the anchor
// matcher's probes; it indexes step windows per needle where the anchor
// matcher indexes one); maxStride bounds the step, and
// maxStridePairs bounds the windows indexed (long lists of long literals,
// such as the vulnerable-driver hashes, keep only the anchor matcher).
// maxShortNeedles bounds the needles of the 2-byte tier: each adds step
// 2-byte windows, which text matches far more often than 4-byte ones.
const (
	minStride       = 2
	maxStride       = 8
	maxStridePairs  = 1 << 13
	maxShortNeedles = 32
)

// strideStep picks the step for needles of these lengths (the shortest is
// minLen): the longest step whose short tier (needles shorter than
// step+3) holds at most maxShortNeedles needles and none shorter than
// step+1 (and a step of 3 at least), preferring no short tier unless the
// short tier halves the probes; 0 when no step of at least minStride
// works. shorts is the number of short needles.
func strideStep(lens []int, minLen int) (step int, shorts int) {
	short := func(s int) int {
		n := 0
		for _, l := range lens {
			if l < s+3 {
				n++
			}
		}
		return n
	}
	plain := min(minLen-3, maxStride) // no short tier
	best, bestShort := 0, 0
	if plain >= minStride {
		best = plain
	}
	// A short tier needs a step of 3 at least: at 2 its two lookups a
	// probe are the anchor matcher's one a byte, with more windows.
	for s := min(minLen-1, maxStride); s > best && s >= 3; s-- {
		n := short(s)
		if n > maxShortNeedles {
			continue
		}
		// A short tier costs more per probe and its 2-byte windows match
		// text often: worth it only when it halves the probes at least.
		if best == 0 || s >= 2*best {
			best, bestShort = s, n
		}
		break
	}
	if best < minStride {
		return 0, 0
	}
	return best, bestShort
}

// newStrideMatcher returns a matcher for needles, or nil when the
// shortest is too short for a useful step.
func newStrideMatcher(needles []string) *strideMatcher {
	if len(needles) == 0 {
		return nil
	}
	lens := make([]int, len(needles))
	minLen := len(needles[0])
	for i, n := range needles {
		lens[i] = len(n)
		minLen = min(minLen, len(n))
	}
	step, _ := strideStep(lens, minLen)
	if step == 0 {
		return nil
	}
	text, toffs := packNeedles(needles)
	var long, short []anchorPair
	for id, n := range needles {
		w := 4
		if len(n) < step+3 {
			w = 2
		}
		for o := 0; o < step; o++ {
			p := anchorPair{anchor: leWindow(n[o : o+w]), needle: int32(id), off: int32(o), toff: toffs[id], tlen: uint32(len(n))}
			if w == 4 {
				long = append(long, p)
			} else {
				short = append(short, p)
			}
		}
	}
	if len(long)+len(short) > maxStridePairs {
		return nil
	}
	m := &strideMatcher{step: step, minLen: minLen, text: text}
	m.long = newStrideTier(long)
	if len(short) > 0 {
		m.short = newStrideTier(short)
	}
	return m
}

// newStrideTier indexes pairs: at most 1<<16 bits (a 256 KiB flat
// index), as false probes cost little when there are few probes.
func newStrideTier(pairs []anchorPair) strideTier {
	bits := min(anchorBitsFor(len(pairs)), 16)
	t := strideTier{bits: make([]uint64, (1<<bits)/64), shift: uint32(32 - bits)}
	counts := make([]uint32, 1<<bits+1)
	for _, p := range pairs {
		h := t.hash(p.anchor)
		t.bits[h/64] |= 1 << (h % 64)
		counts[h+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	t.start = counts
	t.pairs = make([]anchorPair, len(pairs))
	fill := append([]uint32(nil), counts[:len(counts)-1]...)
	for _, p := range pairs {
		h := t.hash(p.anchor)
		t.pairs[fill[h]] = p
		fill[h]++
	}
	return t
}

func (t *strideTier) hash(v uint32) uint32 { return (v * 0x9E3779B1) >> (t.shift & 31) }

// run returns the pairs under hash h.
func (t *strideTier) run(h uint32) []anchorPair { return t.pairs[t.start[h]:t.start[h+1]] }

// has reports whether hash h (of this tier: below len(bits)*64) is in
// the bitmap, without a bounds check.
func (t *strideTier) has(h uint32) bool {
	w := *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(t.bits)), uintptr(h>>6)*8)) // #nosec G103 -- h < 1<<(32-shift) = 64*len(bits)
	return w&(1<<(h&63)) != 0
}

// leWindow packs a 2- or 4-byte window as the little-endian word the scan
// reads (its low bytes for a 2-byte window), case-merged (see caseMerge).
func leWindow(s string) uint32 {
	var v uint32
	for i := len(s) - 1; i >= 0; i-- {
		v = v<<8 | uint32(s[i]|0x20)
	}
	return v
}

// caseMerge is or-ed into every window before it is hashed: it maps an
// ASCII letter's two cases to one byte, so a window of text that is not
// lower-cased yet is looked up as read (one instruction where lower-casing
// four bytes at once takes seven). It merges a few other bytes too ('@'
// and '`', '\\' and '|', ...), which only adds probes that the exact
// comparison of verifyRun (lower-casing when folding) rejects: the window
// of an occurrence merges to its needle's merged window either way.
const caseMerge = 0x20202020

// scanText appends the id of every needle found in text to dst, at most
// once per tok (checked is per-needle scratch); with fold, text is ASCII
// that is not lower-cased yet.
func (m *strideMatcher) scanText(text string, fold bool, dst []int32, checked []uint32, tok uint32) []int32 {
	if len(text) < m.minLen {
		return dst
	}
	if m.short.bits != nil {
		return m.scanShort(text, fold, dst, checked, tok)
	}
	long, step := &m.long, m.step
	for p := long.next(text, 0, step); p >= 0; p = long.next(text, p+step, step) {
		v := word32At(text, p) | caseMerge
		dst = verifyRun(m.text, long.run(long.hash(v)), v, text, p, fold, dst, checked, tok)
	}
	return dst
}

// next returns the first probe position from p on (every step-th) whose
// 4-byte window's hash is in the tier's bitmap, or -1. The probe loop
// calls nothing, so its values stay in registers (with verifyRun's call
// in the loop, the compiler spilled and reloaded half of them per probe).
//
//go:noinline
func (t *strideTier) next(text string, p, step int) int {
	bits, shift := unsafe.Pointer(unsafe.SliceData(t.bits)), t.shift&31 // #nosec G103 -- see has
	for end := len(text) - 4; p <= end; p += step {
		h := ((word32At(text, p) | caseMerge) * 0x9E3779B1) >> shift
		if *(*uint64)(unsafe.Add(bits, uintptr(h>>6)*8))&(1<<(h&63)) != 0 { // #nosec G103 -- h < 64*len(bits)
			return p
		}
	}
	return -1
}

// next2 is next over two tiers: t's 4-byte windows and short's 2-byte
// ones (the low half of each probe's window).
//
//go:noinline
func (t *strideTier) next2(short *strideTier, text string, p, step int) int {
	bits, shift := unsafe.Pointer(unsafe.SliceData(t.bits)), t.shift&31           // #nosec G103 -- see has
	sbits, sshift := unsafe.Pointer(unsafe.SliceData(short.bits)), short.shift&31 // #nosec G103 -- see has
	for end := len(text) - 4; p <= end; p += step {
		v := word32At(text, p) | caseMerge
		h := (v * 0x9E3779B1) >> shift
		s := ((v & 0xffff) * 0x9E3779B1) >> sshift
		if *(*uint64)(unsafe.Add(bits, uintptr(h>>6)*8))&(1<<(h&63)) != 0 || // #nosec G103 -- h < 64*len(bits)
			*(*uint64)(unsafe.Add(sbits, uintptr(s>>6)*8))&(1<<(s&63)) != 0 { // #nosec G103 -- s < 64*len(short.bits)
			return p
		}
	}
	return -1
}

// scanShort is scanText with a short tier: each probe looks its window up
// in both, and the probes too close to the end for a 4-byte window look
// up the 2-byte one only.
func (m *strideMatcher) scanShort(text string, fold bool, dst []int32, checked []uint32, tok uint32) []int32 {
	long, short, step := &m.long, &m.short, m.step
	last := -step // the last probe position done
	for p := long.next2(short, text, 0, step); p >= 0; p = long.next2(short, text, p+step, step) {
		v := word32At(text, p) | caseMerge
		if h := long.hash(v); long.has(h) {
			dst = verifyRun(m.text, long.run(h), v, text, p, fold, dst, checked, tok)
		}
		if h := short.hash(v & 0xffff); short.has(h) {
			dst = verifyRun(m.text, short.run(h), v&0xffff, text, p, fold, dst, checked, tok)
		}
		last = p
	}
	// The probes with no room for a 4-byte window (next2 stopped before
	// them): the 2-byte window only.
	p := last + step
	if end := len(text) - 4; p <= end {
		p += (end - p) / step * step
		for p <= end {
			p += step
		}
	}
	for ; p+2 <= len(text); p += step {
		v := uint32(text[p]|0x20) | uint32(text[p+1]|0x20)<<8
		if h := short.hash(v); short.has(h) {
			dst = verifyRun(m.text, short.run(h), v, text, p, fold, dst, checked, tok)
		}
	}
	return dst
}

// any reports whether text (lower-cased) contains at least one needle.
func (m *strideMatcher) any(text string) bool {
	long, short, step := &m.long, &m.short, m.step
	p := 0
	for end := len(text) - 4; p <= end; p += step {
		v := word32At(text, p) | caseMerge
		if h := long.hash(v); long.has(h) && foundInRun(m.text, long.run(h), v, text, p) {
			return true
		}
		if short.bits != nil {
			if h := short.hash(v & 0xffff); short.has(h) && foundInRun(m.text, short.run(h), v&0xffff, text, p) {
				return true
			}
		}
	}
	if short.bits != nil {
		for ; p+2 <= len(text); p += step {
			v := uint32(text[p]|0x20) | uint32(text[p+1]|0x20)<<8
			if h := short.hash(v); short.has(h) && foundInRun(m.text, short.run(h), v, text, p) {
				return true
			}
		}
	}
	return false
}
