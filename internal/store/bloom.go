package store

import (
	"math"
	"math/bits"

	"github.com/mamori/mamori/internal/token"
)

// A block's token filter is a bloom filter of bloomK bits per token over
// about bloomBitsPerToken bits per distinct token, stored as little-endian
// uint64 words. The builder keeps the block's token hashes, estimates the
// number of distinct ones by linear counting, then sizes the filter exactly
// (positions use multiply-shift range reduction, so any multiple of 64 bits
// works). About 0.5% false positives.
const (
	bloomK            = 7
	bloomBitsPerToken = 11
)

// hashToken is FNV-1a 64 followed by a finalizer; stable across processes.
func hashToken(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// bloomBuilder collects the token hashes of one block.
type bloomBuilder struct {
	hashes []uint64
	bitmap []uint64 // scratch for counting distinct hashes
	// recent is a direct-mapped cache of hashes already in hashes: a
	// block's rows repeat most of their tokens (program names, words of
	// the same messages), and a repeat found here costs one compare
	// instead of a slot in hashes, the distinct count and 7 filter
	// probes. 0 marks an empty slot (a hash of 0 is always added).
	recent [bloomRecent]uint64
	toks   []uint64 // scratch for addText
}

const bloomRecent = 2048

func (bb *bloomBuilder) reset() {
	bb.hashes = bb.hashes[:0]
	clear(bb.recent[:])
}

func (bb *bloomBuilder) addHash(h uint64) {
	slot := &bb.recent[h&(bloomRecent-1)]
	if *slot == h && h != 0 {
		return // Fast path: a token the block has just seen.
	}
	*slot = h
	bb.hashes = append(bb.hashes, h)
}

// addText adds every token of s. The hashes are collected first and
// added in a loop (addHash inlined), not passed to a callback one by one.
func (bb *bloomBuilder) addText(s string) {
	bb.toks = appendTokenHashes(bb.toks[:0], s)
	bb.addHashes(bb.toks)
}

// addHashes adds every hash of hs.
func (bb *bloomBuilder) addHashes(hs []uint64) {
	for _, h := range hs {
		bb.addHash(h) // inlined
	}
}

// distinct estimates the number of distinct hashes (linear counting).
func (bb *bloomBuilder) distinct() float64 {
	w := 1
	for w*64 < 2*len(bb.hashes) {
		w <<= 1
	}
	if cap(bb.bitmap) >= w {
		bb.bitmap = bb.bitmap[:w]
		clear(bb.bitmap)
	} else {
		bb.bitmap = make([]uint64, w)
	}
	m := uint64(w * 64)
	for _, h := range bb.hashes {
		p := h & (m - 1)
		bb.bitmap[p>>6] |= 1 << (p & 63)
	}
	zeros := 0
	for _, x := range bb.bitmap {
		zeros += 64 - bits.OnesCount64(x)
	}
	if zeros == 0 {
		return float64(len(bb.hashes))
	}
	return -float64(m) * math.Log(float64(zeros)/float64(m))
}

// bloomPos returns the i-th bit position of hash h in a filter of m bits.
func bloomPos(h uint64, i int, m uint64) uint64 {
	x := h + uint64(i)*((h>>32)|1)
	x ^= x >> 29 // spread the low bits into the high ones for the range reduction
	x *= 0xbf58476d1ce4e5b9
	hi, _ := bits.Mul64(x, m)
	return hi
}

// finish appends the filter to dst.
func (bb *bloomBuilder) finish(dst []byte) []byte {
	n := bb.distinct()
	words := int(math.Ceil(n * bloomBitsPerToken / 64))
	words = max(words, 1)
	start := len(dst)
	dst = append(dst, make([]byte, words*8)...)
	f := dst[start:]
	m := uint64(words * 64)
	for _, h := range bb.hashes {
		for i := 0; i < bloomK; i++ {
			p := bloomPos(h, i, m)
			f[p>>3] |= 1 << (p & 7)
		}
	}
	return dst
}

// bloomHas reports whether the filter f (as written by finish) may hold
// the token with hash h. A malformed filter answers true (no pruning).
func bloomHas(f []byte, h uint64) bool {
	if len(f) < 8 || len(f)%8 != 0 {
		return true
	}
	m := uint64(len(f) * 8)
	for i := 0; i < bloomK; i++ {
		p := bloomPos(h, i, m)
		if f[p>>3]&(1<<(p&7)) == 0 {
			return false
		}
	}
	return true
}

// tokenHashes calls fn with the hash of every token of s.
func tokenHashes(s string, buf []byte, fn func(h uint64)) []byte {
	return token.Each(s, buf, func(t []byte) { fn(hashToken(t)) })
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func finalize(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// foldWord[c] is c lower-cased (ASCII) when c is a word byte, else 0
// (0 is not a word byte): one lookup both tells word bytes and folds case.
var foldWord = func() (t [256]byte) {
	for c := 1; c < 256; c++ {
		if b := byte(c); token.IsWordByte(b) {
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			t[c] = b
		}
	}
	return t
}()

// appendTokenHashes appends to dst hashToken of every token token.Each
// would produce for s, in its order, without copying tokens. It must
// agree with token.Each (FuzzTokenHash checks). The hot loop is one table
// lookup and the FNV step per byte; whether a token is a run of digits
// (for the dotted IPv4 windows) is checked only for tokens of up to 3
// bytes, the only ones a window holds (session 12: ~40% fewer
// instructions than testing every byte for digits and case).
func appendTokenHashes(dst []uint64, s string) []uint64 {
	// The current chain of dotted digit tokens of 1-3 bytes: its length
	// n, the starts of its last four tokens (token k at starts[k%4]) and
	// the end of its last.
	var starts [4]int
	n, lastEnd := 0, 0
	i := 0
	for {
		for i < len(s) && foldWord[s[i]] == 0 {
			i++
		}
		if i >= len(s) {
			return dst
		}
		start := i
		h := uint64(fnvOffset)
		for i < len(s) {
			c := foldWord[s[i]]
			if c == 0 {
				break
			}
			h = (h ^ uint64(c)) * fnvPrime
			i++
		}
		if i-start <= token.MaxLen {
			dst = append(dst, finalize(h))
		}
		if i-start > 3 || !shortDigits(s[start:i]) {
			n = 0
			continue
		}
		if n > 0 && start == lastEnd+1 && s[start-1] == '.' {
			n++
		} else {
			n = 1
		}
		starts[(n-1)&3] = start
		lastEnd = i
		if n >= 4 {
			dst = append(dst, hashString(s[starts[(n-4)&3]:i]))
		}
	}
}

// shortDigits reports whether t (1 to 3 bytes) is all decimal digits.
func shortDigits(t string) bool {
	for k := 0; k < len(t); k++ {
		if t[k] < '0' || t[k] > '9' {
			return false
		}
	}
	return true
}

// exactHash is the bloom key of "column name has exactly value" (for
// dictionary and constant columns). The 0x00 bytes keep it apart from
// token hashes: tokens never contain 0x00.
func exactHash(name, value string) uint64 {
	h := uint64(fnvOffset)
	h = (h ^ 0) * fnvPrime
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * fnvPrime
	}
	h = (h ^ 0) * fnvPrime
	for i := 0; i < len(value); i++ {
		h = (h ^ uint64(value[i])) * fnvPrime
	}
	return finalize(h)
}
