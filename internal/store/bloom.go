package store

import (
	"encoding/binary"
	"math/bits"

	"github.com/mamori/mamori/internal/token"
)

// A block's token filter is a bloom filter of bloomK bits per token over a
// power-of-two number of bits, stored as little-endian uint64 words. It is
// built oversized and then folded in half (OR of the halves, valid because
// positions are taken modulo the size) until it is about half full.
const (
	bloomK        = 3
	bloomMaxFill  = 0.45
	bloomMinWords = 1
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

// bloomBuilder collects token hashes of one block.
type bloomBuilder struct {
	words []uint64
	tok   []byte
}

// reset prepares for a block with about n token occurrences.
func (bb *bloomBuilder) reset(n int) {
	w := 1
	for w*64 < n*10 {
		w <<= 1
	}
	if cap(bb.words) >= w {
		bb.words = bb.words[:w]
		clear(bb.words)
	} else {
		bb.words = make([]uint64, w)
	}
}

func (bb *bloomBuilder) addHash(h uint64) {
	m := uint64(len(bb.words)*64 - 1)
	h1, h2 := h, (h>>32)|1
	for i := 0; i < bloomK; i++ {
		p := h1 & m
		bb.words[p>>6] |= 1 << (p & 63)
		h1 += h2
	}
}

// addText adds every token of s.
func (bb *bloomBuilder) addText(s string) {
	eachTokenHash(s, bb.addHash)
}

// finish folds the filter and appends it to dst.
func (bb *bloomBuilder) finish(dst []byte) []byte {
	w := bb.words
	ones := 0
	for _, x := range w {
		ones += bits.OnesCount64(x)
	}
	for len(w) > bloomMinWords {
		half := len(w) / 2
		n := 0
		for i := 0; i < half; i++ {
			n += bits.OnesCount64(w[i] | w[i+half])
		}
		if float64(n) > bloomMaxFill*float64(half*64) {
			break
		}
		for i := 0; i < half; i++ {
			w[i] |= w[i+half]
		}
		w = w[:half]
	}
	for _, x := range w {
		dst = binary.LittleEndian.AppendUint64(dst, x)
	}
	return dst
}

// bloomHas reports whether the filter f (as written by finish) may hold
// the token with hash h. A malformed filter answers true (no pruning).
func bloomHas(f []byte, h uint64) bool {
	if len(f) < 8 || len(f)&(len(f)-1) != 0 {
		return true
	}
	m := uint64(len(f)*8 - 1)
	h1, h2 := h, (h>>32)|1
	for i := 0; i < bloomK; i++ {
		p := h1 & m
		if f[p>>3]&(1<<(p&7)) == 0 {
			return false
		}
		h1 += h2
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

// eachTokenHash calls fn with hashToken of every token token.Each would
// produce for s, without copying tokens. It must agree with token.Each
// (FuzzTokenHash checks).
func eachTokenHash(s string, fn func(h uint64)) {
	var ds [4][2]int
	n := 0
	i := 0
	for i < len(s) {
		for i < len(s) && !token.IsWordByte(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		allDigits := true
		h := uint64(fnvOffset)
		// Fast path: ASCII letters folded inline.
		for i < len(s) && token.IsWordByte(s[i]) {
			c := s[i]
			if c < '0' || c > '9' {
				allDigits = false
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
			}
			h = (h ^ uint64(c)) * fnvPrime
			i++
		}
		end := i
		if end-start <= token.MaxLen {
			fn(finalize(h))
		}
		if allDigits && end-start <= 3 {
			if n > 0 && start-ds[(n-1)%4][1] == 1 && s[start-1] == '.' {
				ds[n%4] = [2]int{start, end}
				n++
			} else {
				ds[0] = [2]int{start, end}
				n = 1
			}
			if n >= 4 {
				fn(hashString(s[ds[(n-4)%4][0]:end]))
			}
		} else {
			n = 0
		}
	}
}
