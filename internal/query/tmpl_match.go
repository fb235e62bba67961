package query

import (
	"math/bits"
	"strings"

	"github.com/mamori/mamori/internal/token"
)

// This file decides text searches on the _raw templates of a block
// (store.RawTemplates) without expanding them. A row's raw text is
// pieces[0] V1 pieces[1] ... Vn pieces[n]: known text (the pieces) and
// field values (the Vs, each the value of a column in the same row). A
// match of a term in that text either
//
//   - lies inside one piece: found by searching the piece; it is decided
//     when the bytes around it are known too (inside the piece, or the
//     text's edge), and undecided when it touches a value and the term
//     needs a word boundary there;
//   - lies inside one value: the term then matches that field's value too
//     (the value's edges count as word boundaries), which the term matcher
//     checks on the field columns anyway;
//   - touches a value and a piece, or two values: then a piece next to a
//     value ends with the term's start or starts with the rest of it, or
//     two values are adjacent. Such rows are undecided.
//
// Undecided rows are expanded and matched as text, so the answer is the
// same as matching the expanded text (TestTmplDecide and FuzzTmplDecide
// check this).

// tmplAnswer is what the pieces of a row say about a term.
type tmplAnswer uint8

const (
	tmplNo    tmplAnswer = iota // no match outside single values
	tmplYes                     // a match in the known text
	tmplMaybe                   // a match may touch a value: expand
)

// tmplFinder is a textFinder with the tables for junction checks.
type tmplFinder struct {
	textFinder
	// startAt[c] lists the positions k >= 1 of the term whose byte is c
	// (folded); endAt[c] the positions k <= len-2.
	startAt, endAt [256][]int32
	// grams holds the folded 3-byte windows of the term but its first
	// and last (a hash set, may say yes wrongly): a piece edge of 3 bytes
	// or more that is not one cannot run on into the term there.
	gramsEnd, gramsStart [gramBits / 64]uint64
	// For pieces of one or two bytes (most pieces between a skeleton's
	// holes: " ", ":", "]: "): end1[c] is endSplits of piece c with a
	// hole before it, start1[c] startSplits with a hole after it; bigrams
	// holds the folded 2-byte windows of the term (a hash set, may say
	// yes wrongly).
	end1, start1 [256]uint64
	bigrams      [gramBits / 64]uint64
	// For skeletons (varAnswer): the term holds a digit, is all word
	// bytes; intoWord has bit k when term[k] is a word byte (k >= 1),
	// fromWord bit k when term[k-1] is (k < len); from 63 on bit 63.
	digit, allWord     bool
	intoWord, fromWord uint64
	// wordHead is the length of the term's first run of word bytes
	// (len when all are), wordTail the start of its last.
	wordHead, wordTail int
	// The prepass's plans of pooled skeletons, as a term and as a
	// literal (phrase_plan.go).
	plans [2]planStore
}

const gramBits = 4096

func gramHash(a, b, c byte) uint32 {
	return (uint32(foldByte(a))*0x9E3779B1 ^ uint32(foldByte(b))*0x85EBCA77 ^ uint32(foldByte(c))*0xC2B2AE3D) >> 20
}

func bigramHash(a, b byte) uint32 {
	return (uint32(foldByte(a))*0x9E3779B1 ^ uint32(foldByte(b))*0x85EBCA77) >> 20
}

func hasGram(set *[gramBits / 64]uint64, h uint32) bool { return set[h/64]&(1<<(h%64)) != 0 }
func addGram(set *[gramBits / 64]uint64, h uint32)      { set[h/64] |= 1 << (h % 64) }

func newTmplFinder(term string, boundaries bool) *tmplFinder {
	tf := &tmplFinder{textFinder: newTextFinder(term)}
	if !boundaries {
		tf.wantL, tf.wantR = false, false
	}
	tf.setVarTables()
	for k := 0; k < len(term); k++ {
		c := foldByte(term[k])
		if k >= 1 {
			tf.startAt[c] = append(tf.startAt[c], int32(k))
			tf.start1[c] |= 1 << min(k, 63)
		}
		if k <= len(term)-2 {
			tf.endAt[c] = append(tf.endAt[c], int32(k))
			tf.end1[c] |= 1 << min(k+1, 63)
			addGram(&tf.bigrams, bigramHash(term[k], term[k+1]))
		}
		if k+3 <= len(term) {
			h := gramHash(term[k], term[k+1], term[k+2])
			if k+3 <= len(term)-1 {
				addGram(&tf.gramsEnd, h) // ends a proper prefix
			}
			if k >= 1 {
				addGram(&tf.gramsStart, h) // starts a proper suffix
			}
		}
	}
	return tf
}

func foldByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// decide tells what the pieces of a row (len(pieces)-1 values between
// them) say about the term; with tmplMaybe, unsure marks the pieces next
// to which a match may touch a value (bit j for piece j; pieces from 63
// on share bit 63).
func (tf *tmplFinder) decide(pieces []string) (ans tmplAnswer, unsure uint64) {
	if len(tf.term) == 0 {
		return tmplYes, 0
	}
	n := len(pieces) - 1
	for j, p := range pieces {
		openL, openR := j > 0, j < n
		yes, may := tf.scanPiece(p, openL, openR)
		if yes {
			return tmplYes, 0
		}
		if may || tf.straddles(p, openL, openR) {
			unsure |= 1 << min(j, 63)
		}
	}
	if unsure != 0 {
		return tmplMaybe, unsure
	}
	return tmplNo, 0
}

// scanPiece looks for the term inside piece p; openL and openR say that a
// value (unknown bytes) lies before and after it. yes: a match whose word
// boundaries hold; maybe: a match whose boundary byte is in a value.
func (tf *tmplFinder) scanPiece(p string, openL, openR bool) (yes, maybe bool) {
	f := &tf.textFinder
	m := len(f.term)
	if len(p) < m {
		return false, false
	}
	end := len(p) - m + f.k + 1
	nextLo, nextUp := -2, -2 // -2: not searched yet, -1: none left
	if f.lo == f.up {
		nextUp = -1
	}
	for i := f.k; i < end; {
		if nextLo != -1 && nextLo < i {
			nextLo = indexFrom(p[:end], f.lo, i)
		}
		if nextUp != -1 && nextUp < i {
			nextUp = indexFrom(p[:end], f.up, i)
		}
		at := nextLo
		if at < 0 || (nextUp >= 0 && nextUp < at) {
			at = nextUp
		}
		if at < 0 {
			return false, maybe
		}
		i = at + 1
		s := at - f.k
		if !token.EqualFold(p[s:s+m], f.term) {
			continue
		}
		l, r := edgeOK, edgeOK
		if f.wantL {
			l = edgeAt(p, s-1, openL)
		}
		if f.wantR {
			r = edgeAt(p, s+m, openR)
		}
		switch {
		case l == edgeOK && r == edgeOK:
			return true, false
		case l != edgeBad && r != edgeBad:
			maybe = true
		}
	}
	return false, maybe
}

const (
	edgeOK = iota
	edgeBad
	edgeUnknown
)

// edgeAt tells whether p[j] is a word boundary for a match next to it; j
// may be just outside p, where open means a value lies (unknown) and
// else the text ends (a boundary).
func edgeAt(p string, j int, open bool) int {
	if j < 0 || j >= len(p) {
		if open {
			return edgeUnknown
		}
		return edgeOK
	}
	if token.IsWordByte(p[j]) {
		return edgeBad
	}
	return edgeOK
}

// straddles reports whether a match may cross an edge of piece p into a
// value: p ends with a proper prefix of the term (a value after it), or
// starts with a part of the term after its first byte (a value before
// it), or is empty between two values.
func (tf *tmplFinder) straddles(p string, openL, openR bool) bool {
	if len(tf.term) < 2 {
		return false // one byte is inside a piece or a value
	}
	if len(p) == 0 {
		return openL && openR
	}
	return (openR && tf.endSplits(p, openL) != 0) || (openL && tf.startSplits(p, openR) != 0)
}

// edgeSplits returns the splits of a match across the edges of a hole
// between pieces left and right: endSplits of left (openL: a hole lies
// before it) and startSplits of right (openR: one lies after it), 0 for
// an empty piece.
func (tf *tmplFinder) edgeSplits(left, right string, openL, openR bool) (ends, starts uint64) {
	if len(left) > 0 {
		ends = tf.endSplits(left, openL)
	}
	if len(right) > 0 {
		starts = tf.startSplits(right, openR)
	}
	return ends, starts
}

// endSplits returns the splits k (1 <= k < len(term)) at which a match
// may start in non-empty piece p (or before it, when openL) and run into
// the value after p: p[len-l:] is term[k-l:k]. Bit k is set for split k;
// splits from 63 on share bit 63.
func (tf *tmplFinder) endSplits(p string, openL bool) uint64 {
	t := tf.term
	n := len(p)
	// Fast path: the last three bytes are no window of the term and the
	// piece does not end with its first two bytes, so it can end with
	// its first byte only.
	if n >= 3 && !hasGram(&tf.gramsEnd, gramHash(p[n-3], p[n-2], p[n-1])) &&
		(len(t) < 3 || !token.EqualFold(p[n-2:], t[:2])) {
		return tf.end1[foldByte(p[n-1])] & (1 << 1) // bit 1: p ends with term[:1]
	}
	if n < 3 && len(tf.endAt[foldByte(p[n-1])]) > 1 {
		if a, ok := tf.shortEndSplits(p, openL); ok {
			return a
		}
	}
	var ks uint64
	for _, e := range tf.endAt[foldByte(p[len(p)-1])] {
		k := int(e) + 1
		l := min(len(p), k)
		if l < k && !openL {
			continue // would start before the text
		}
		if token.EqualFold(p[len(p)-l:], t[k-l:k]) {
			ks |= 1 << min(k, 63)
		}
	}
	return ks
}

// startSplits returns the splits k (1 <= k < len(term)) at which a match
// may start in the value before non-empty piece p (or earlier) and run
// into p (or past it, when openR): p[:l] is term[k:k+l]. Bits as for
// endSplits.
func (tf *tmplFinder) startSplits(p string, openR bool) uint64 {
	t := tf.term
	m := len(t)
	// Fast path: the first three bytes are no window of the term and
	// the piece does not start with its last two bytes, so it can start
	// with its last byte only.
	if len(p) >= 3 && !hasGram(&tf.gramsStart, gramHash(p[0], p[1], p[2])) &&
		(m < 3 || !token.EqualFold(p[:2], t[m-2:])) {
		if m <= 64 {
			return tf.start1[foldByte(p[0])] & (1 << (m - 1)) // p starts with term[m-1:]
		}
		if foldByte(p[0]) == foldByte(t[m-1]) {
			return 1 << 63
		}
		return 0
	}
	if len(p) < 3 && len(tf.startAt[foldByte(p[0])]) > 1 {
		if a, ok := tf.shortStartSplits(p, openR); ok {
			return a
		}
	}
	var ks uint64
	for _, s := range tf.startAt[foldByte(p[0])] {
		k := int(s)
		l := min(len(p), m-k)
		if l < m-k && !openR {
			continue // would end after the text
		}
		if token.EqualFold(p[:l], t[k:k+l]) {
			ks |= 1 << min(k, 63)
		}
	}
	return ks
}

// shortEndSplits is endSplits of a piece of one or two bytes from the
// finder's tables (for pieces whose last byte is at several places in
// the term: the loop would compare at each); false when they do not tell
// (a bigram of the term).
func (tf *tmplFinder) shortEndSplits(p string, openL bool) (uint64, bool) {
	t := tf.term
	if len(t) < 2 {
		return 0, true
	}
	last := foldByte(p[len(p)-1])
	if len(p) == 1 {
		if !openL {
			return tf.end1[last] & (1 << 1), true // term[:1] only
		}
		return tf.end1[last], true
	}
	if hasGram(&tf.bigrams, bigramHash(p[0], p[1])) {
		return 0, false
	}
	// Only term[:1] can end the piece.
	if last == foldByte(t[0]) {
		return 1 << 1, true
	}
	return 0, true
}

// shortStartSplits is startSplits of a piece of one or two bytes from
// the finder's tables; false when they do not tell.
func (tf *tmplFinder) shortStartSplits(p string, openR bool) (uint64, bool) {
	t := tf.term
	m := len(t)
	if m < 2 {
		return 0, true
	}
	first := foldByte(p[0])
	if len(p) == 1 {
		if !openR {
			if first == foldByte(t[m-1]) {
				return 1 << min(m-1, 63), true // term[m-1:] only
			}
			return 0, true
		}
		return tf.start1[first], true
	}
	if hasGram(&tf.bigrams, bigramHash(p[0], p[1])) {
		return 0, false
	}
	// Only term[m-1:] can start the piece.
	if first == foldByte(t[m-1]) {
		return 1 << min(m-1, 63), true
	}
	return 0, true
}

// goesOn reports whether value v may go on with the term after one of the
// splits ks (endSplits): v starts with term[k:], or is a start of it.
func (tf *tmplFinder) goesOn(ks uint64, v string) bool {
	t := tf.term
	for ; ks != 0; ks &= ks - 1 {
		k := bits.TrailingZeros64(ks)
		if k == 63 {
			return true // long terms: not told apart
		}
		if n := min(len(v), len(t)-k); token.EqualFold(v[:n], t[k:k+n]) {
			return true
		}
	}
	return false
}

// leadsIn reports whether value v may lead into the term before one of
// the splits ks (startSplits): v ends with term[:k], or is an end of it.
func (tf *tmplFinder) leadsIn(ks uint64, v string) bool {
	t := tf.term
	for ; ks != 0; ks &= ks - 1 {
		k := bits.TrailingZeros64(ks)
		if k == 63 {
			return true
		}
		if n := min(len(v), k); token.EqualFold(v[len(v)-n:], t[k-n:k]) {
			return true
		}
	}
	return false
}

// indexFrom returns the index of the first c in s at or after i, or -1.
func indexFrom(s string, c byte, i int) int {
	if j := strings.IndexByte(s[i:], c); j >= 0 {
		return i + j
	}
	return -1
}
