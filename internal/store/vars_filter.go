package store

// Filters of the long variables of a skeleton chunk's framed vars body
// (part version 5 addition, session 7). A needle (a hash, an id) is a
// variable of one row in a block of ~100k variables: a search that only
// knows "the block may hold it" (its bloom) used to decompress every
// group of the variables to find the row. The writer adds, after the
// variables, one item holding a small bloom filter per group of the
// variables of at least minLen bytes (ASCII case-folded), in a last
// group of its own (two frames of a few bytes), so a search decodes only
// the groups whose filter may hold the needle (vars_filter_read.go).
//
// The filter item, the body's last item (length = its bytes), alone in
// the body's last group:
//
//	u8 minLen | u8 k | G × (uvarint maxLen | uvarint words) | the words (8 bytes each)
//
// G is the number of groups of variables (the table's groups less one).
// maxLen is the length of the group's longest variable: no longer
// variable is in the group. Group g's filter is its words (m = 64 × words
// bits; 0 words: the group has no variable of minLen bytes or more); a
// variable v of at least minLen bytes is in it: bits bloomPos(h, i, m)
// for i < k are set, h = varHash(v) (the variable's token hash). So a
// group may hold v only when len(v) <= maxLen and, when len(v) >= minLen,
// the filter has v's bits. A vars body whose table's items exceed the
// variables by exactly one, in a last group of one item, has a filter;
// one whose items equal the variables has none (every group may hold
// anything).
//
// Writers put the distinct variables of varsFilterMinLen bytes or more
// in the filters at varsFilterBits bits each, raising minLen for a body
// with more than one such variable in varsFilterShare (so the filters
// take at most about varsFilterBits/varsFilterShare bits per variable
// of the block).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
)

const (
	// varsFilterMinLen: variables this long or longer are in the filters
	// (hashes, keys, long ids; not the 1-4 byte pieces of times, ports
	// and addresses that most variables are, nor names with digits).
	varsFilterMinLen = 16
	// varsFilterK hashes per variable over varsFilterBits bits per
	// distinct variable of a group: about 2% false positives.
	varsFilterK    = 5
	varsFilterBits = 8
	// varsFilterShare: at most one variable in this many is in the
	// filters (minLen rises past the shorter ones).
	varsFilterShare = 64
	// varsFilterMaxK bounds k for readers.
	varsFilterMaxK = 16
)

var errVarsFilter = errors.New("bad variables filter")

// buildFilter's eight-lengths step takes lengths below 16 for no key.
var _ [varsFilterMinLen - 16]struct{}

// varHash is the filter hash of variable v: FNV-1a over its bytes with
// ASCII letters lower-cased, then finalize (hashToken of the folded
// bytes, so a variable's hash is its token's).
func varHash(v string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		h = (h ^ uint64(c)) * fnvPrime
	}
	return finalize(h)
}

// varsFilter is a parsed filter item.
type varsFilter struct {
	minLen, k int
	maxLens   []int  // per group
	ends      []int  // ends[g]: the end of group g's words in words (bytes)
	words     string // every group's words
	// The refs summary of the block's skeletons (needle_refs.go), when
	// the item has one (hasRefs).
	refs    rawRefs
	hasRefs bool
}

// filterRefsFlag, set in the item's k byte, says a refs summary follows
// the words.
const filterRefsFlag = 0x80

// parse reads filter item b of a body of groups groups of variables.
func (f *varsFilter) parse(b string, groups int) error {
	if len(b) < 2 {
		return fmt.Errorf("%w: %d bytes", errVarsFilter, len(b))
	}
	f.minLen, f.k, f.hasRefs = int(b[0]), int(b[1]&^filterRefsFlag), b[1]&filterRefsFlag != 0
	if f.minLen == 0 || f.k == 0 || f.k > varsFilterMaxK {
		return fmt.Errorf("%w: minimum length %d, %d hashes", errVarsFilter, f.minLen, f.k)
	}
	r := reader{s: b, off: 2}
	f.ends, f.maxLens = growTo(f.ends, groups), growTo(f.maxLens, groups)
	end := 0
	for g := range groups {
		ml := r.uvarint()
		w := r.uvarint()
		if r.err != nil || ml == 0 || ml > maxChunkBytes || w > uint64(len(b)/8) {
			return fmt.Errorf("%w: group %d: longest variable %d, %d words", errVarsFilter, g, ml, w)
		}
		end += int(w) * 8
		f.ends[g], f.maxLens[g] = end, int(ml)
	}
	if len(b)-r.off < end || !f.hasRefs && len(b)-r.off != end {
		return fmt.Errorf("%w: words of %d bytes, %d left", errVarsFilter, end, len(b)-r.off)
	}
	f.words = b[r.off : r.off+end]
	if f.hasRefs {
		return f.refs.parse(b[r.off+end:])
	}
	return nil
}

// mayHold reports whether group g may hold variable v of hash h
// (varHash, computed by the caller when len(v) >= minLen).
func (f *varsFilter) mayHold(g int, v string, h uint64) bool {
	if len(v) > f.maxLens[g] {
		return false
	}
	if len(v) < f.minLen {
		return true
	}
	s := 0
	if g > 0 {
		s = f.ends[g-1]
	}
	w := f.words[s:f.ends[g]]
	if len(w) == 0 {
		return false
	}
	m := uint64(len(w) * 8)
	for i := range f.k {
		p := bloomPos(h, i, m)
		if w[p>>3]&(1<<(p&7)) == 0 {
			return false
		}
	}
	return true
}

// varsFilterWriter holds a writer's buffers (pooled).
type varsFilterWriter struct {
	filter []byte   // the filter item
	keys   []varKey // the variables of varsFilterMinLen bytes or more
	lens   []int    // scratch: their lengths
	hashes []uint64 // one group's
	ends   []int    // per group: the end of its keys
	maxes  []int    // per group: its longest variable
	flen   []byte   // the filter's length
	raws   [][]byte // the frames' bytes
	fw     frameWriter
}

var varsFilterWriters = sync.Pool{New: func() any { return new(varsFilterWriter) }}

// appendFilteredVars appends the vars sub-chunk of vars (nvars ×
// uvarint length, then the variables' bytes) to dst framed with a filter
// item, which ends with the refs summary of skels (the block's
// skeletons; needle_refs.go); false (dst unchanged) when the body is not
// framed (too small, or frames do not pay): it is then written without a
// filter.
func appendFilteredVars(dst, vars []byte, skels []string, lv level) ([]byte, bool) {
	if len(vars) < frameMinBody {
		return dst, false
	}
	var refs *rawRefs
	if !varsRefsOff {
		refs = refsPool.Get().(*rawRefs)
		defer refsPool.Put(refs)
		refs.summarize(skels)
	}
	return appendVarsFiltered(dst, vars, refs, lv, frameBytes, nil)
}

var refsPool = sync.Pool{New: func() any { return new(rawRefs) }}

// appendVarsFiltered is appendFilteredVars with groups of about size
// bytes, for any body length; edit, when not nil, returns the filter
// item to write in place of the one built (tests of damaged filters).
func appendVarsFiltered(dst, vars []byte, refs *rawRefs, lv level, size int, edit func([]byte) []byte) ([]byte, bool) {
	vw := varsFilterWriters.Get().(*varsFilterWriter)
	defer varsFilterWriters.Put(vw)
	fw := &vw.fw
	if !fw.group(vars, false, size) {
		return dst, false
	}
	groups := len(fw.items)
	lensEnd := fw.cuts[groups-1]
	vw.filter = vw.buildFilter(vw.filter[:0], vars, lensEnd, fw.items)
	if refs != nil {
		vw.filter[1] |= filterRefsFlag
		vw.filter = refs.appendTo(vw.filter)
	}
	filter := vw.filter
	if edit != nil {
		filter = edit(filter)
	}
	// The frames: G lengths frames and the filter's length, G bytes
	// frames and the filter; the body is their concatenation.
	vw.flen = binary.AppendUvarint(vw.flen[:0], uint64(len(filter)))
	raws := vw.raws[:0]
	start := 0
	for g, end := range fw.cuts {
		if g == groups {
			raws = append(raws, vw.flen)
		}
		raws = append(raws, vars[start:end])
		start = end
	}
	raws = append(raws, filter)
	vw.raws = raws
	fw.items = append(fw.items, 1)
	out, ok := fw.appendChunk(dst, kindSkeleton, raws, len(vars)+len(vw.flen)+len(filter), lv)
	clear(raws) // keep no view of vars in the pool
	return out, ok
}

// varKey is a long variable: its length and hash.
type varKey struct {
	n int
	h uint64
}

// buildFilter appends the filter item of vars (lengths up to lensEnd,
// then bytes) cut into groups of items to dst.
func (vw *varsFilterWriter) buildFilter(dst, vars []byte, lensEnd int, items []int) []byte {
	keys, ends, maxes := vw.keys[:0], vw.ends[:0], vw.maxes[:0]
	pos, at, nv := 0, lensEnd, 0
	for _, n := range items {
		longest := 0
		for k := 0; k < n; k++ {
			if k+8 <= n && pos+8 <= lensEnd {
				// Eight one-byte lengths below 16 (below varsFilterMinLen):
				// no key; their sum is the product's top byte.
				w := binary.LittleEndian.Uint64(vars[pos:])
				if w&0xf0f0f0f0f0f0f0f0 == 0 {
					// A byte above longest (< 15) makes its high bit.
					if longest < 15 && (w+uint64(127-longest)*ones)&highBits != 0 {
						for i := range 8 {
							longest = max(longest, int(vars[pos+i]))
						}
					}
					at += int((w * ones) >> 56)
					pos += 8
					k += 7
					continue
				}
			}
			l := int(vars[pos])
			if l < 0x80 {
				pos++
			} else {
				u, w := binary.Uvarint(vars[pos:]) // checked by group
				l = int(u)
				pos += w
			}
			longest = max(longest, l)
			if l >= varsFilterMinLen {
				keys = append(keys, varKey{n: l, h: varHash(bytesToString(vars[at : at+l]))})
			}
			at += l
		}
		nv += n
		ends, maxes = append(ends, len(keys)), append(maxes, longest)
	}
	vw.keys, vw.ends, vw.maxes = keys, ends, maxes
	// At most one key in varsFilterShare variables: the longest ones.
	minLen := varsFilterMinLen
	if limit := nv / varsFilterShare; len(keys) > limit {
		lens := vw.lens[:0]
		for _, k := range keys {
			lens = append(lens, k.n)
		}
		slices.Sort(lens)
		vw.lens = lens
		minLen = min(lens[len(lens)-1-limit]+1, 255)
	}
	dst = append(dst, byte(minLen), varsFilterK)
	// Each group's distinct hashes, in place of its keys' first ones.
	hs := vw.hashes[:0]
	first := 0
	for g, end := range ends {
		gs := len(hs)
		for _, k := range keys[first:end] {
			if k.n >= minLen {
				hs = append(hs, k.h)
			}
		}
		first = end
		grp := hs[gs:]
		slices.Sort(grp)
		hs = append(hs[:gs], slices.Compact(grp)...)
		ends[g] = len(hs)
		dst = binary.AppendUvarint(dst, uint64(maxes[g]))
		dst = binary.AppendUvarint(dst, uint64(filterWords(len(hs)-gs)))
	}
	vw.hashes = hs
	first = 0
	for _, end := range ends {
		nw := filterWords(end - first)
		start := len(dst)
		dst = append(dst, make([]byte, nw*8)...)
		f := dst[start:]
		m := uint64(nw * 64)
		for _, h := range hs[first:end] {
			for i := range varsFilterK {
				p := bloomPos(h, i, m)
				f[p>>3] |= 1 << (p & 7)
			}
		}
		first = end
	}
	return dst
}

// filterWords is the size in words of a group's filter of n distinct
// variables.
func filterWords(n int) int { return (n*varsFilterBits + 63) / 64 }
