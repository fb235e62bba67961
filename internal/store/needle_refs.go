package store

// The refs summary of a block's skeletons (session 8): what lies beside
// their references, written at the end of the variables filter item
// (vars_filter.go) and read by TermsOnlyInValues (needle_raw.go).
//
// A needle (a hash, an id) is mostly a field value, so a block's raw
// text holds it as a reference, and a match of it in the raw text lies
// inside that value, which a search finds in the field column anyway.
// Such a search need not read _raw when no other match is possible: none
// in the literal text and variables (the filter's longest variables and
// blooms rule out the term's runs with a digit) and none across a
// value's edge. A match crosses an edge only through the byte beside
// it: a byte of the literal text that the term holds, or a variable, a
// word byte or another value that the match runs on through. The summary
// lists the first kind for the whole block and the skeletons with the
// second kind ("dirty": a value found inside a word, such as a pid that
// happens to occur inside a GUID), so a search decides a block from a
// few bytes, and checks only the values of those skeletons' rows.
//
// The summary (after the filter's words, when bit 7 of the item's k byte
// is set):
//
//	u8 flags                 bit 0: many (more dirty skeletons than listed: every one may be)
//	set next | set codes | set joins
//	uvarint d | d × uvarint  the dirty skeletons (indexes, ascending): the first, then each
//	                         less the previous one, less one
//	u8 n | n × (u8 c | u8 m) chains: bytes c ascending (not word bytes, < 128), m >= 2
//	set: u8 n (<= 32) | n bytes, bit b%8 of byte b/8 for b in the set
//
// next holds the bytes other than word bytes (token.IsWordByte) of the
// literal text right before or after a reference (the stream's host or
// source, or a column); codes the reference codes of the skeletons
// (>= 2); joins the codes of references right next to a word byte, a
// placeholder or another reference; a skeleton with such a reference, or
// a cut escape, is dirty. With many set, no skeleton is listed. A chain
// (c, m) says that a skeleton has m placeholders joined by byte c alone
// ("P.P.P" for c '.', m 3; an escaped 0x01 counts as byte 0x01), and
// none more: a dotted quad lies in the literal text only where a
// skeleton has a chain of 4 by '.'. Bytes without a chain have none
// of 2 or more.

import (
	"encoding/binary"
	"fmt"

	"github.com/mamori/mamori/internal/token"
)

// refsMaxDirty bounds the dirty skeletons a summary lists.
const refsMaxDirty = 64

// byteBits is a set of bytes: bit b%64 of word b/64.
type byteBits [4]uint64

func (s *byteBits) set(b byte)      { s[b>>6] |= 1 << (b & 63) }
func (s *byteBits) has(b byte) bool { return s[b>>6]&(1<<(b&63)) != 0 }

// within reports whether every byte of s is in o.
func (s *byteBits) within(o *byteBits) bool {
	for i := range s {
		if s[i]&^o[i] != 0 {
			return false
		}
	}
	return true
}

// rawRefs is a refs summary.
type rawRefs struct {
	next, codes, joins byteBits
	dirty              []uint32 // skeleton indexes, ascending
	many               bool
	// chains[c]: the most placeholders joined by byte c alone (P c P c
	// P ...) in a skeleton, when at least 2 (c is not a word byte).
	chains [128]uint8
}

// reset empties the summary, keeping its buffer.
func (rr *rawRefs) reset() { *rr = rawRefs{dirty: rr.dirty[:0]} }

// chain notes a placeholder at q of a skeleton whose previous
// placeholder ended at end (-1: none), *c and *n being the joiner and
// length of the chain that ended there.
func (rr *rawRefs) chain(sk string, q, end int, c *byte, n *int) {
	j, ok := byte(0), false
	switch {
	case end < 0:
	case q == end+1 && !token.IsWordByte(sk[end]) && sk[end] != tmplEsc:
		j, ok = sk[end], true
	case q == end+2 && sk[end] == tmplEsc && sk[end+1] == tmplEsc:
		j, ok = tmplEsc, true
	}
	if !ok {
		*n = 1
		return
	}
	if *n >= 2 && *c == j {
		*n++
	} else {
		*c, *n = j, 2
	}
	if m := uint8(min(*n, 255)); m > rr.chains[j] {
		rr.chains[j] = m
	}
}

// Elements of a skeleton before a reference (add): a literal byte is its
// value.
const (
	refsEdge = -1
	refsVar  = 256 // a placeholder
	refsRef  = 257 // a reference
)

// add adds skeleton id, sk, to the summary (ids ascending).
func (rr *rawRefs) add(id int, sk string) {
	prev := refsEdge // the element before the current position
	var prevCode byte
	open := false // prev is a reference whose right side is not seen yet
	dirty := false
	varEnd, chainN := -1, 0 // where the last placeholder ended; its chain
	var chainC byte
	for i := 0; i < len(sk); {
		// Escapes are a few bytes apart (placeholders): a plain loop
		// finds the next for less than strings.IndexByte or eight bytes
		// a step.
		e := i
		for e < len(sk) && sk[e] != tmplEsc {
			e++
		}
		if e != i && open {
			dirty = rr.beside(prevCode, sk[i]) || dirty
			open = false
		}
		if e == len(sk) {
			break
		}
		if e > i {
			prev = int(sk[e-1])
		}
		i = e
		if i+1 >= len(sk) {
			rr.many = true // a cut escape: anything may be anywhere
			break
		}
		code := sk[i+1]
		i += 2
		switch code {
		case tmplEsc:
			if open {
				rr.next.set(tmplEsc)
				open = false
			}
			prev = tmplEsc
		case tmplVar:
			if open {
				rr.joins.set(prevCode)
				dirty, open = true, false
			}
			if varEnd >= 0 && i-2-varEnd <= 2 {
				rr.chain(sk, i-2, varEnd, &chainC, &chainN)
			} else {
				chainN = 1
			}
			prev, varEnd = refsVar, i
		default:
			rr.codes.set(code)
			switch {
			case prev == refsRef:
				rr.joins.set(prevCode)
				rr.joins.set(code)
				dirty = true
			case prev == refsVar:
				rr.joins.set(code)
				dirty = true
			case prev >= 0:
				dirty = rr.beside(code, byte(prev)) || dirty
			}
			prev, prevCode, open = refsRef, code, true
		}
	}
	if dirty && !rr.many {
		rr.dirty = append(rr.dirty, uint32(id))
		if len(rr.dirty) > refsMaxDirty {
			rr.many = true
		}
	}
	if rr.many {
		rr.dirty = rr.dirty[:0]
	}
}

// beside notes literal byte b right next to a reference of code; true
// when it makes the skeleton dirty (a word byte).
func (rr *rawRefs) beside(code, b byte) bool {
	if token.IsWordByte(b) {
		rr.joins.set(code)
		return true
	}
	rr.next.set(b)
	return false
}

// chainOf returns the longest chain of placeholders joined by byte c (0
// or 1: none).
func (rr *rawRefs) chainOf(c byte) uint8 {
	if int(c) >= len(rr.chains) {
		return 0
	}
	return rr.chains[c]
}

// summarize sets rr to the summary of skeletons skels.
func (rr *rawRefs) summarize(skels []string) {
	rr.reset()
	for id, sk := range skels {
		rr.add(id, sk)
	}
}

// covers reports whether rr says at least all that o says (verify: a
// stored summary may say more than the skeletons, never less).
func (rr *rawRefs) covers(o *rawRefs) bool {
	if o.many && !rr.many || !o.next.within(&rr.next) || !o.codes.within(&rr.codes) || !o.joins.within(&rr.joins) {
		return false
	}
	for c, m := range o.chains {
		if m > rr.chains[c] {
			return false
		}
	}
	if rr.many {
		return true
	}
	j := 0
	for _, id := range o.dirty {
		for j < len(rr.dirty) && rr.dirty[j] < id {
			j++
		}
		if j == len(rr.dirty) || rr.dirty[j] != id {
			return false
		}
	}
	return true
}

// appendTo appends the encoded summary to dst.
func (rr *rawRefs) appendTo(dst []byte) []byte {
	flags := byte(0)
	if rr.many {
		flags = 1
	}
	dst = append(dst, flags)
	for _, s := range [...]*byteBits{&rr.next, &rr.codes, &rr.joins} {
		dst = appendByteBits(dst, s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(rr.dirty)))
	last := -1
	for _, id := range rr.dirty {
		dst = binary.AppendUvarint(dst, uint64(int(id)-last-1))
		last = int(id)
	}
	n := 0
	for _, m := range rr.chains {
		if m >= 2 {
			n++
		}
	}
	dst = append(dst, byte(n))
	for c, m := range rr.chains {
		if m >= 2 {
			dst = append(dst, byte(c), m)
		}
	}
	return dst
}

// appendByteBits appends set s: its length in bytes (trailing zero bytes
// left out), then those bytes.
func appendByteBits(dst []byte, s *byteBits) []byte {
	var b [32]byte
	n := 0
	for i := range b {
		b[i] = byte(s[i/8] >> (8 * (i % 8)))
		if b[i] != 0 {
			n = i + 1
		}
	}
	dst = append(dst, byte(n))
	return append(dst, b[:n]...)
}

// parse reads an encoded summary, which must take all of b.
func (rr *rawRefs) parse(b string) error {
	rr.reset()
	r := reader{s: b}
	if len(b) == 0 || b[0] > 1 {
		return fmt.Errorf("%w: refs summary flags", errVarsFilter)
	}
	rr.many = b[0] == 1
	r.off = 1
	for _, s := range [...]*byteBits{&rr.next, &rr.codes, &rr.joins} {
		if r.off >= len(b) || b[r.off] > 32 || int(b[r.off]) > len(b)-r.off-1 {
			return fmt.Errorf("%w: refs summary set", errVarsFilter)
		}
		n := int(b[r.off])
		for i := range n {
			s[i/8] |= uint64(b[r.off+1+i]) << (8 * (i % 8))
		}
		r.off += 1 + n
	}
	if rr.codes[0]&3 != 0 || !rr.joins.within(&rr.codes) {
		return fmt.Errorf("%w: refs summary codes", errVarsFilter)
	}
	for c := range 256 {
		if rr.next.has(byte(c)) && token.IsWordByte(byte(c)) {
			return fmt.Errorf("%w: refs summary: word byte %d beside a reference", errVarsFilter, c)
		}
	}
	d := r.uvarint()
	if r.err != nil || d > refsMaxDirty || (rr.many && d > 0) {
		return fmt.Errorf("%w: refs summary: %d dirty skeletons", errVarsFilter, d)
	}
	last := -1
	for range d {
		v := r.uvarint()
		if r.err != nil || v > maxChunkBytes {
			return fmt.Errorf("%w: refs summary: dirty skeleton", errVarsFilter)
		}
		last += int(v) + 1
		rr.dirty = append(rr.dirty, uint32(last))
	}
	if r.off >= len(b) || int(b[r.off]) > (len(b)-r.off-1)/2 {
		return fmt.Errorf("%w: refs summary: chains", errVarsFilter)
	}
	n := int(b[r.off])
	r.off++
	prev := -1
	for range n {
		c, m := int(b[r.off]), b[r.off+1]
		if c <= prev || c >= len(rr.chains) || token.IsWordByte(byte(c)) || m < 2 {
			return fmt.Errorf("%w: refs summary: chain of %d by byte %d", errVarsFilter, m, c)
		}
		rr.chains[c], prev = m, c
		r.off += 2
	}
	if r.off != len(b) {
		return fmt.Errorf("%w: refs summary: %d trailing bytes", errVarsFilter, len(b)-r.off)
	}
	return nil
}
