package store

import (
	mbits "math/bits"
	"strings"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// Coverage keys (part version 5): the bloom filter of a block records
// which field columns hold a value that is not found in the same row's
// raw text, and which bytes other than word bytes the values of each
// field column hold, so that a search for text can leave out, without
// decompressing them, the columns whose every value it would find in
// _raw anyway and the columns whose values lack a byte of the text.
//
// A value found in its row's raw text at word boundaries (coveredAt) is
// covered: a term or phrase (token.Match: ASCII case folded, ends on word
// boundaries) that matches inside the value matches the raw text at the
// same bytes, since the bytes around the value in the raw text are not
// word bytes. An empty value is covered too (no term matches it). A
// column all of whose present values in the block are covered is fully
// covered: leaving it out of a term search changes no row's answer.
//
// Keys, all FNV-1a 64 with the finalizer of hashString, over:
//
//	0x01 name          the column has a value that is not covered (uncoveredHash)
//	0x03 name 0x00 b   some value of the column holds byte b, b not a word byte (byteHash)
//	0x02 "coverage" i  for i = '0'..'7': the block has coverage keys (coverMarks)
//
// A reader uses them only when every marker key is in the filter: a
// false positive on a column's key then keeps the column (costs only
// pruning). A block written before coverage keys (part version 5 blocks
// of session 5, copied as they are by merges) lacks the markers; all
// coverMarkN of them are present by chance in about 0.5%^8 of such
// blocks. Metadata columns (_category, _received) get no keys and are
// never left out.

// coverMarkN is the number of marker keys.
const coverMarkN = 8

// coverMarks are the marker keys: FNV-1a (as exactHash) over the bytes
// 0x02 "coverage" i. Tokens never hold bytes below 0x20 and exact keys
// start with 0x00, uncovered keys with 0x01, so none of them is one.
var coverMarks = func() [coverMarkN]uint64 {
	var m [coverMarkN]uint64
	for i := range m {
		m[i] = hashString("\x02coverage" + string(rune('0'+i)))
	}
	return m
}()

// uncoveredHash is the bloom key of "column name has a value not covered
// by its row's raw text": FNV-1a (as hashString) over 0x01 name.
func uncoveredHash(name string) uint64 {
	h := uint64(fnvOffset)
	h = (h ^ 1) * fnvPrime
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * fnvPrime
	}
	return finalize(h)
}

// addCoverageKeys adds the block's coverage keys to bb after the
// columns' tokens (kinds are the chunk kinds written for cb's columns;
// column 0 is _raw).
//
// dicts (may be shorter than cb.cols) holds the dictionaries of columns
// written as one: their bytes are collected from the distinct values.
func addCoverageKeys(bb *bloomBuilder, cb *colBuilder, kinds []byte, dicts []colDict) {
	if len(cb.cols) == 0 {
		return
	}
	raw := &cb.cols[0]
	for i := 1; i < len(cb.cols); i++ {
		c := &cb.cols[i]
		if event.IsMeta(c.name) {
			continue
		}
		if !columnCovered(c, raw) {
			bb.addHash(uncoveredHash(c.name))
		}
		var set byteSet
		switch {
		case i < len(dicts) && i < len(kinds) && kinds[i] == kindDict && dicts[i].ok:
			set = valuesNonWordBytes(dicts[i].vals)
		case i < len(kinds) && kinds[i] == kindConst:
			set = valuesNonWordBytes(c.vals[:1])
		default:
			set = nonWordBytes(c)
		}
		for w, bits := range set {
			for ; bits != 0; bits &= bits - 1 {
				bb.addHash(byteHash(c.name, byte(w*64+mbits.TrailingZeros64(bits))))
			}
		}
	}
	for _, h := range coverMarks {
		bb.addHash(h)
	}
}

// byteSet is a set of ASCII bytes (the bytes that are not word bytes
// are all ASCII).
type byteSet [2]uint64

// nonWordBytes returns the bytes other than word bytes that the present
// values of c hold.
func nonWordBytes(c *builtCol) byteSet {
	var set byteSet
	var last string
	for j, v := range c.vals {
		if (c.absent != nil && c.absent[j]) || (j > 0 && v == last) {
			continue
		}
		last = v
		for i := 0; i < len(v); i++ {
			if b := v[i]; !token.IsWordByte(b) {
				set[b>>6] |= 1 << (b & 63)
			}
		}
	}
	return set
}

// valuesNonWordBytes returns the bytes other than word bytes that vals
// hold (a dictionary's distinct values: the same set as nonWordBytes of
// its column).
func valuesNonWordBytes(vals []string) byteSet {
	var set byteSet
	for _, v := range vals {
		for i := 0; i < len(v); i++ {
			if b := v[i]; !token.IsWordByte(b) {
				set[b>>6] |= 1 << (b & 63)
			}
		}
	}
	return set
}

// byteHash is the bloom key of "some value of column name holds byte b".
func byteHash(name string, b byte) uint64 {
	h := uint64(fnvOffset)
	h = (h ^ 3) * fnvPrime
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * fnvPrime
	}
	h = (h ^ 0) * fnvPrime
	h = (h ^ uint64(b)) * fnvPrime
	return finalize(h)
}

// columnCovered reports whether every present value of c is covered by
// the same row's raw text. Rows the templater marked are trusted; the
// others (values too short to reference, found first off word
// boundaries, past the template's columns) are looked for here. It stops
// at the first row that is not covered, so a column of values the text
// lacks (normalizer additions) costs one search.
func columnCovered(c, raw *builtCol) bool {
	for j, v := range c.vals {
		if (c.absent != nil && c.absent[j]) || v == "" || (c.covered != nil && j < len(c.covered) && c.covered[j]) {
			continue
		}
		if raw.absent != nil && raw.absent[j] || !coveredAnywhere(raw.vals[j], v) {
			return false
		}
	}
	return true
}

// coveredAnywhere reports whether v occurs in raw at word boundaries.
func coveredAnywhere(raw, v string) bool {
	for from := 0; from+len(v) <= len(raw); {
		p := strings.Index(raw[from:], v)
		if p < 0 {
			return false
		}
		if coveredAt(raw, from+p, len(v)) {
			return true
		}
		from += p + 1
	}
	return false
}

// hasCoverage reports whether bloom filter f of a block of p carries
// coverage keys.
func (p *part) hasCoverage(f []byte) bool {
	if p.version < 5 || len(f) < 8 || len(f)%8 != 0 {
		return false
	}
	for _, h := range coverMarks {
		if !bloomHas(f, h) {
			return false
		}
	}
	return true
}

// fullyCovered reports whether the field column name of a block whose
// filter f has coverage keys (hasCoverage) is fully covered. Never for
// metadata columns.
func fullyCovered(f []byte, name string) bool {
	return !event.IsMeta(name) && !bloomHas(f, uncoveredHash(name))
}

// lacksText reports whether the values of column name of a block whose
// filter f has coverage keys (hasCoverage) cannot contain text: text
// holds a byte other than a word byte that no value of the column holds.
// (Case folding keeps such bytes as they are.)
func lacksText(f []byte, name, text string) bool {
	var seen byteSet
	for i := 0; i < len(text); i++ {
		b := text[i]
		if token.IsWordByte(b) || seen[b>>6]&(1<<(b&63)) != 0 {
			continue
		}
		seen[b>>6] |= 1 << (b & 63)
		if !bloomHas(f, byteHash(name, b)) {
			return true
		}
	}
	return false
}

// CoveredColumns returns the names of names that are field columns of
// the block whose every present value lies in its row's _raw at word
// boundaries (the block's coverage keys say so; none when it has none),
// appended to dst. A term search may leave such a column out: a term
// that matches inside one of its values matches _raw in the same row.
// Aliases are reported under their own names.
func (r *partRef) CoveredColumns(dst, names []string) []string {
	bl := r.p.bloom(r.i)
	if !r.p.hasCoverage(bl) {
		return dst
	}
	bm := r.bm()
	for _, n := range names {
		if fullyCovered(bl, n) && r.p.hasColumn(bm, n) {
			dst = append(dst, n)
		}
	}
	return dst
}

// hasColumn reports whether block bm of p has a column called name.
func (p *part) hasColumn(bm *blockMeta, name string) bool {
	for _, c := range bm.cols {
		if p.names[c.name] == name {
			return true
		}
	}
	return false
}
