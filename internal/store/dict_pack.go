package store

// Packed dictionaries (codecPacked, part version 5): a kindDict chunk of
// a few values whose codes are bit-packed instead of compressed, so that
// reading them costs no zstd frame. The chunk is
//
//	kindDict | codecPacked | uvarint bodyLen | u8 w | head | words
//
// where bodyLen is the length of the kindDict body the chunk stands for,
// head is that body's head as is (uvarint n, n × str: the values, stored
// plain), and words are ceil(rows/k) little-endian u64s of k = 64/w codes
// each (0 absent, else index+1), code j of a word in its bits
// [j·w, j·w+w). 1 <= w <= 7 and n < 2^w, so every code of the kindDict
// body is one byte and rows = bodyLen - len(head). The bits of a word
// past its k codes, and the codes past the last row, are zero.
//
// The writer packs the codes of at most maxPackedValues values when the
// packed codes are at most packEntropyRatio times the order-0 entropy of
// the codes (an estimate of zstd's size), so codes that zstd shrinks far
// more (a value in nearly every row) stay compressed.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

const (
	// maxPackedValues is the most values the writer packs the codes of:
	// four bits a row with the code of absent rows.
	maxPackedValues = 15
	// maxPackedWidth is the widest code the format allows: below 128
	// values every code of the kindDict body is one byte.
	maxPackedWidth = 7
	// packEntropyRatio: codes are packed when their bits are at most
	// this many times their order-0 entropy. Measured on the bench
	// data's 10M store: +0.17 bytes/record, with the codes of app and
	// outcome packed in nearly every block (a ratio of 2 packs app in a
	// third of them; packing every dictionary of up to 31 values costs
	// +0.29).
	packEntropyRatio = 3
	// packMinBody: smaller bodies are stored as they are (codecNone),
	// which reads as fast.
	packMinBody = 64
)

// packedDictChunk appends body, a kindDict body of rows rows, to dst as a
// codecPacked chunk and reports true, or reports false (dst unchanged)
// when packing does not apply.
func packedDictChunk(dst []byte, body []byte, rows int) ([]byte, bool) {
	if len(body) < packMinBody || body[0] > maxPackedValues {
		return dst, false // more values (a count of one byte is < 128)
	}
	nd := int(body[0])
	r := &reader{s: bytesToString(body), off: 1}
	for range nd {
		r.str()
	}
	if r.err != nil || len(body)-r.off != rows || rows == 0 {
		return dst, false
	}
	head, codes := body[:r.off], body[r.off:]
	var hist [256]int
	var top byte
	for _, c := range codes {
		hist[c]++
		top = max(top, c)
	}
	w := max(1, bits.Len(uint(nd)))
	if int(top) > nd || !packPays(hist[:nd+1], rows, w) {
		return dst, false
	}
	return appendPackedChunk(dst, body, len(head), w), true
}

// appendPackedChunk appends body, a kindDict body whose head is headLen
// bytes and whose codes are each below 2^w, as a codecPacked chunk.
func appendPackedChunk(dst []byte, body []byte, headLen, w int) []byte {
	dst = append(dst, kindDict, codecPacked)
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	dst = append(dst, byte(w))
	dst = append(dst, body[:headLen]...)
	return appendPacked(dst, body[headLen:], w)
}

// packPays reports whether rows codes of w bits with the given counts
// (by code) take at most packEntropyRatio times their order-0 entropy.
func packPays(hist []int, rows, w int) bool {
	var sum float64 // Σ x·log2 x; the entropy is rows·log2 rows − sum
	for _, x := range hist {
		if x > 1 {
			sum += float64(x) * math.Log2(float64(x))
		}
	}
	entropy := float64(rows)*math.Log2(float64(rows)) - sum
	return float64(w*rows) <= packEntropyRatio*entropy
}

// appendPacked appends codes (each below 2^w) packed k = 64/w to a
// little-endian word.
func appendPacked(dst []byte, codes []byte, w int) []byte {
	k := 64 / w
	for len(codes) > 0 {
		n := min(k, len(codes))
		var x uint64
		for j := n - 1; j >= 0; j-- {
			x = x<<w | uint64(codes[j])
		}
		dst = binary.LittleEndian.AppendUint64(dst, x)
		codes = codes[n:]
	}
	return dst
}

// packedDict is a parsed codecPacked chunk.
type packedDict struct {
	w, k  int    // bits a code, codes a word
	nd    int    // values
	head  []byte // uvarint nd, nd × str (a view of the chunk)
	words []byte // ceil(rows/k) × 8 bytes
	rows  int
	n     uint64 // length of the kindDict body
}

var errPackedKind = errors.New("packed codes of a kind other than dict")

// parsePacked parses the data of a codecPacked chunk (after its body
// length n) and checks its codes (see packedDict.check).
func parsePacked(kind byte, data []byte, n uint64) (packedDict, error) {
	pk, err := parsePackedHead(kind, data, n)
	if err != nil {
		return pk, err
	}
	return pk, pk.check()
}

// parsePackedHead is parsePacked without the check of the codes: a
// reader of a few rows checks theirs (packedDict.code).
func parsePackedHead(kind byte, data []byte, n uint64) (packedDict, error) {
	var pk packedDict
	if kind != kindDict {
		return pk, fmt.Errorf("%w (%d)", errPackedKind, kind)
	}
	if len(data) == 0 {
		return pk, fmt.Errorf("packed codes: %w", errShort)
	}
	pk.w, pk.n = int(data[0]), n
	if pk.w < 1 || pk.w > maxPackedWidth {
		return pk, fmt.Errorf("packed codes of %d bits", pk.w)
	}
	pk.k = 64 / pk.w
	r := &reader{s: bytesToString(data[1:])}
	pk.nd = r.count(1)
	if r.err == nil && pk.nd >= 1<<pk.w {
		return pk, fmt.Errorf("packed dictionary of %d values in codes of %d bits", pk.nd, pk.w)
	}
	for i := 0; i < pk.nd && r.err == nil; i++ {
		r.str()
	}
	if r.err != nil {
		return pk, fmt.Errorf("packed dictionary: %w", r.err)
	}
	pk.head = data[1 : 1+r.off]
	if n < uint64(r.off) || n > maxChunkBytes {
		return pk, fmt.Errorf("packed dictionary: body length %d below its head (%d)", n, r.off)
	}
	pk.rows = int(n) - r.off
	pk.words = data[1+r.off:]
	if want := (pk.rows + pk.k - 1) / pk.k * 8; len(pk.words) != want {
		return pk, fmt.Errorf("packed codes: %d bytes for %d rows, want %d", len(pk.words), pk.rows, want)
	}
	return pk, nil
}

// code returns the code of row i (< rows), an error when it is above nd.
func (pk *packedDict) code(i int) (int, error) {
	x := binary.LittleEndian.Uint64(pk.words[i/pk.k*8:])
	c := int(x >> (i % pk.k * pk.w) & (1<<pk.w - 1))
	if c > pk.nd {
		return 0, fmt.Errorf("dictionary index %d out of %d", c, pk.nd)
	}
	return c, nil
}

// fieldOnes returns a word with bit j·w set for each of the k fields
// (every other field when every2).
func fieldOnes(w, k int, every2 bool) uint64 {
	var x uint64
	step := 1
	if every2 {
		step = 2
	}
	for j := 0; j < k; j += step {
		x |= 1 << (j * w)
	}
	return x
}

// check reports a code above nd, or a bit set past the codes of a word
// or past the last row.
func (pk *packedDict) check() error {
	w, k := pk.w, pk.k
	nw := len(pk.words) / 8
	if nw == 0 {
		return nil
	}
	if pk.nd+1 < 1<<w && codesAbove(pk.words, w, k, pk.nd) {
		return pk.badCode()
	}
	var over uint64
	for i := 0; i < nw-1; i++ {
		over |= binary.LittleEndian.Uint64(pk.words[8*i:])
	}
	last := binary.LittleEndian.Uint64(pk.words[8*(nw-1):])
	if over&^fieldsMask(w, k) != 0 || last&^fieldsMask(w, pk.rows-(nw-1)*k) != 0 {
		return errors.New("packed codes: bits set past the codes")
	}
	return nil
}

// codesAbove reports whether a code of the words (k codes of w bits
// each) is above nd, k codes at a time.
func codesAbove(words []byte, w, k, nd int) bool {
	// Fields at even positions get the bits of the odd ones as room for
	// a carry: f + (2^w-1-nd) reaches bit w exactly when f > nd. The odd
	// fields are checked shifted down by one field.
	ev := fieldOnes(w, k, true)
	even := ev * (1<<w - 1)
	add := ev * uint64(1<<w-1-nd)
	carry := ev << w
	var bad uint64
	for i := 0; i+8 <= len(words); i += 8 {
		x := binary.LittleEndian.Uint64(words[i:])
		bad |= ((x&even + add) | (x>>w&even + add)) & carry
	}
	return bad != 0
}

// fieldsMask is the bits of k fields of w bits.
func fieldsMask(w, k int) uint64 {
	if k*w >= 64 {
		return math.MaxUint64
	}
	return 1<<(k*w) - 1
}

// badCode returns the error for the first code above nd (codesAbove
// found one).
func (pk *packedDict) badCode() error {
	mask := uint64(1)<<pk.w - 1
	for i := 0; i < len(pk.words)/8; i++ {
		x := binary.LittleEndian.Uint64(pk.words[8*i:])
		for j := 0; j < pk.k; j++ {
			if c := x >> (j * pk.w) & mask; c > uint64(pk.nd) {
				return fmt.Errorf("dictionary index %d out of %d", c, pk.nd)
			}
		}
	}
	return fmt.Errorf("packed codes: a code above %d", pk.nd) // not reached: codesAbove is exact
}

// expand8 returns the rows codes as bytes, in dst's memory when it is
// large enough.
func (pk *packedDict) expand8(dst []byte) []byte {
	nw := len(pk.words) / 8
	// spreadWord writes up to 3 bytes past a word's codes.
	dst = slices.Grow(dst[:0], nw*pk.k+8)[:nw*pk.k+8]
	for i := 0; i < nw; i++ {
		spreadWord(dst[i*pk.k:], binary.LittleEndian.Uint64(pk.words[8*i:]), pk.w, pk.k)
	}
	return dst[:pk.rows]
}

// spreadWord writes the k fields of w bits of x to o as bytes, and up to
// 3 bytes more (o must hold max(k, 24) bytes).
func spreadWord(o []byte, x uint64, w, k int) {
	le := binary.LittleEndian
	switch w {
	case 1:
		_ = o[63]
		le.PutUint64(o, spread1(byte(x)))
		le.PutUint64(o[8:], spread1(byte(x>>8)))
		le.PutUint64(o[16:], spread1(byte(x>>16)))
		le.PutUint64(o[24:], spread1(byte(x>>24)))
		le.PutUint64(o[32:], spread1(byte(x>>32)))
		le.PutUint64(o[40:], spread1(byte(x>>40)))
		le.PutUint64(o[48:], spread1(byte(x>>48)))
		le.PutUint64(o[56:], spread1(byte(x>>56)))
	case 2:
		_ = o[31]
		le.PutUint64(o, spread2(uint16(x)))
		le.PutUint64(o[8:], spread2(uint16(x>>16)))
		le.PutUint64(o[16:], spread2(uint16(x>>32)))
		le.PutUint64(o[24:], spread2(uint16(x>>48)))
	case 3:
		// 21 codes: eight, eight and five (the bits past them are zero).
		_ = o[23]
		le.PutUint64(o, spread3(x))
		le.PutUint64(o[8:], spread3(x>>24))
		le.PutUint64(o[16:], spread3(x>>48))
	case 4:
		_ = o[15]
		le.PutUint64(o, spread4(uint32(x)))
		le.PutUint64(o[8:], spread4(uint32(x>>32)))
	default:
		mask := uint64(1)<<w - 1
		for j := range o[:k] {
			o[j] = byte(x & mask)
			x >>= w
		}
	}
}

// markEq sets keep[i] (set) or narrows it (!set) to whether row i's code
// is c, k codes at a time, and reports whether a row is left. len(keep)
// is pk.rows.
func (pk *packedDict) markEq(keep []byte, c byte, set bool) bool {
	w, k := pk.w, pk.k
	if int(c) >= 1<<w {
		clear(keep) // no code is c
		return false
	}
	ones := fieldOnes(w, k, false)
	pat := ones * uint64(c)
	low := ones * (1<<(w-1) - 1)
	high := ones << (w - 1)
	var (
		tmp [64]byte
		hit uint64
		i   int
	)
	// Words whose bytes spreadWord writes lie in keep: straight into it.
	if w <= 4 {
		span := [5]int{0, 64, 32, 24, 16}[w]
		le := binary.LittleEndian
		for ; i*k+span <= len(keep); i++ {
			x := le.Uint64(pk.words[8*i:]) ^ pat
			m := (^((x&low + low) | x) & high) >> (w - 1)
			o := keep[i*k:]
			switch w {
			case 1:
				_ = o[63]
				hit |= mark8(o, spread1(byte(m)), set) | mark8(o[8:], spread1(byte(m>>8)), set) |
					mark8(o[16:], spread1(byte(m>>16)), set) | mark8(o[24:], spread1(byte(m>>24)), set) |
					mark8(o[32:], spread1(byte(m>>32)), set) | mark8(o[40:], spread1(byte(m>>40)), set) |
					mark8(o[48:], spread1(byte(m>>48)), set) | mark8(o[56:], spread1(byte(m>>56)), set)
			case 2:
				_ = o[31]
				hit |= mark8(o, spread2(uint16(m)), set) | mark8(o[8:], spread2(uint16(m>>16)), set) |
					mark8(o[16:], spread2(uint16(m>>32)), set) | mark8(o[24:], spread2(uint16(m>>48)), set)
			case 3:
				// The third eight bytes hold five codes: the three after
				// them are the next word's and keep their value.
				_ = o[23]
				hit |= mark8(o, spread3(m), set) | mark8(o[8:], spread3(m>>24), set)
				old := le.Uint64(o[16:])
				v := spread3(m >> 48)
				if !set {
					v &= old
				}
				le.PutUint64(o[16:], v|old&^0xffffffffff)
				hit |= v
			case 4:
				_ = o[15]
				hit |= mark8(o, spread4(uint32(m)), set) | mark8(o[8:], spread4(uint32(m>>32)), set)
			}
		}
	}
	// The other words through tmp.
	for ; i*k < len(keep); i++ {
		x := binary.LittleEndian.Uint64(pk.words[8*i:]) ^ pat
		// A field equal to c is a zero field of x: its low bit, set.
		spreadWord(tmp[:], (^((x&low+low)|x)&high)>>(w-1), w, k)
		o := keep[i*k : min(i*k+k, len(keep))]
		j := 0
		if set {
			for ; j+8 <= len(o); j += 8 {
				v := binary.LittleEndian.Uint64(tmp[j:])
				binary.LittleEndian.PutUint64(o[j:], v)
				hit |= v
			}
		} else {
			for ; j+8 <= len(o); j += 8 {
				v := binary.LittleEndian.Uint64(tmp[j:]) & binary.LittleEndian.Uint64(o[j:])
				binary.LittleEndian.PutUint64(o[j:], v)
				hit |= v
			}
		}
		for ; j < len(o); j++ {
			v := tmp[j]
			if !set {
				v &= o[j]
			}
			o[j] = v
			hit |= uint64(v)
		}
	}
	return hit != 0
}

// mark8 stores v (set) or v and the eight bytes at o into o, and returns
// what it stored.
func mark8(o []byte, v uint64, set bool) uint64 {
	if !set {
		v &= binary.LittleEndian.Uint64(o)
	}
	binary.LittleEndian.PutUint64(o, v)
	return v
}

// spread1 returns the eight bits of b as eight bytes (bit j in byte j).
func spread1(b byte) uint64 {
	x := uint64(b)
	x = (x | x<<28) & 0x0000000f0000000f
	x = (x | x<<14) & 0x0003000300030003
	return (x | x<<7) & 0x0101010101010101
}

// spread2 returns the eight 2-bit fields of v as eight bytes.
func spread2(v uint16) uint64 {
	x := uint64(v)
	x = (x | x<<24) & 0x000000ff000000ff
	x = (x | x<<12) & 0x000f000f000f000f
	return (x | x<<6) & 0x0303030303030303
}

// spread3 returns the eight 3-bit fields of the low 24 bits of v as
// eight bytes.
func spread3(v uint64) uint64 {
	x := v & 0xffffff
	x = (x | x<<20) & 0x00000fff00000fff
	x = (x | x<<10) & 0x003f003f003f003f
	return (x | x<<5) & 0x0707070707070707
}

// spread4 returns the eight nibbles of v as eight bytes.
func spread4(v uint32) uint64 {
	x := uint64(v)
	x = (x | x<<16) & 0x0000ffff0000ffff
	x = (x | x<<8) & 0x00ff00ff00ff00ff
	return (x | x<<4) & 0x0f0f0f0f0f0f0f0f
}

// expand16 writes the rows codes into codes (len(codes) == pk.rows).
func (pk *packedDict) expand16(codes []uint16) {
	w, k, mask := pk.w, pk.k, uint64(1)<<pk.w-1
	for i := 0; i*k < len(codes); i++ {
		x := binary.LittleEndian.Uint64(pk.words[8*i:])
		o := codes[i*k : min(i*k+k, len(codes))]
		for j := range o {
			o[j] = uint16(x & mask)
			x >>= w
		}
	}
}

// count returns the number of rows whose code is c (1 <= c <= nd), k
// codes at a time: a field equal to c is a zero field of the word xor c
// in every field.
func (pk *packedDict) count(c uint16) int {
	w, k := pk.w, pk.k
	ones := fieldOnes(w, k, false)
	pat := ones * uint64(c)
	low := ones * (1<<(w-1) - 1) // the bits of a field below its top bit
	high := ones << (w - 1)
	n := 0
	for i := 0; i+8 <= len(pk.words); i += 8 {
		x := binary.LittleEndian.Uint64(pk.words[i:]) ^ pat
		n += bits.OnesCount64(^((x&low + low) | x) & high)
	}
	// The codes past the last row are 0, never c.
	return n
}

// unpackDictBody decodes a codecPacked body into the kindDict body of n
// bytes it stands for (data follows the chunk's length), like
// chunkBodyTo.
func unpackDictBody(kind byte, data []byte, n uint64, sc *colScratch) (byte, string, error) {
	pk, err := parsePacked(kind, data, n)
	if err != nil {
		return 0, "", err
	}
	var dst []byte
	if sc != nil {
		dst = sc.body[:0]
	}
	// expand8 writes whole words of codes and 8 bytes more.
	dst = slices.Grow(dst, len(pk.head)+len(pk.words)/8*pk.k+8)
	dst = append(dst, pk.head...)
	codes := pk.expand8(dst[len(dst):])
	dst = dst[:len(dst)+len(codes)]
	if sc != nil {
		sc.body = dst
	}
	return kind, bytesToString(dst), nil
}

// packedChunk parses a codecPacked chunk (see parsePacked).
func packedChunk(chunk []byte) (packedDict, error) {
	if len(chunk) < 2 {
		return packedDict{}, errShort
	}
	n, k := binary.Uvarint(chunk[2:])
	if k <= 0 || n > maxChunkBytes {
		return packedDict{}, errors.New("bad body length")
	}
	return parsePacked(chunk[0], chunk[2+k:], n)
}

// isPacked reports whether chunk is a codecPacked chunk.
func isPacked(chunk []byte) bool { return len(chunk) >= 2 && chunk[1] == codecPacked }

// decodePackedDict is decodeDictTo for a codecPacked chunk: the codes
// are read from their words, without the kindDict body.
func decodePackedDict(chunk []byte, rows int, buf *DictBuf) (*DictColumn, error) {
	pk, err := packedChunk(chunk)
	if err == nil && pk.rows != rows {
		err = fmt.Errorf("%d rows, want %d", pk.rows, rows)
	}
	if err != nil {
		return nil, fmt.Errorf("decode dictionary: %w", err)
	}
	var (
		dc   *DictColumn
		head string
	)
	if buf != nil {
		buf.clear()
		dc, head = &buf.dc, bytesToString(pk.head)
		dc.Dict = slices.Grow(buf.dict[:0], pk.nd)[:pk.nd]
		buf.dict = dc.Dict
	} else {
		dc, head = &DictColumn{}, string(pk.head) // the strings must not alias chunk
		dc.Dict = make([]string, pk.nd)
	}
	r := &reader{s: head}
	r.count(1)
	for i := range dc.Dict {
		dc.Dict[i] = r.str() // parsePacked read them before
	}
	switch {
	case buf != nil && buf.narrow && buf.lazy:
		buf.pc, buf.hasPC = PackedCodes{pk: pk, buf: buf}, true
	case buf != nil && buf.narrow:
		buf.packed = pk.expand8(buf.packed)
		buf.codes8 = buf.packed
	case buf != nil:
		dc.Codes = slices.Grow(buf.codes[:0], rows)[:rows]
		buf.codes = dc.Codes
		pk.expand16(dc.Codes)
	default:
		dc.Codes = make([]uint16, rows)
		pk.expand16(dc.Codes)
	}
	return dc, nil
}

// checkPackedChunk checks the layout and codes of chunk when it is a
// codecPacked chunk (nil for other codecs): for verify, which reads
// chunks only as far as their checksums otherwise.
func checkPackedChunk(chunk []byte) error {
	if !isPacked(chunk) {
		return nil
	}
	_, err := packedChunk(chunk)
	return err
}
