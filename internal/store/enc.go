package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/zstd"
)

// Column chunk encodings. Every chunk is
//
//	u8 kind | u8 codec | uvarint bodyLen | body (compressed per codec)
//
// and the body (after decompression) depends on kind:
//
//	kindConst: str value                      (every row present, same value)
//	kindInt:   rows × varint delta            (every row present, canonical decimal int64)
//	kindDict:  uvarint n, n × str, rows × uvarint (0 absent, else index+1);
//	           n ≤ maxDict (dictpol.go)
//	kindPlain: rows × uvarint (0 absent, else len+1), then the values' bytes
const (
	kindConst byte = 1
	kindInt   byte = 2
	kindDict  byte = 3
	kindPlain byte = 4

	codecNone byte = 0
	codecZstd byte = 1
	// codecPacked (part version 5): a kindDict body whose codes are
	// bit-packed instead of compressed; see dict_pack.go.
	codecPacked byte = 2
	// codecFramed (part version 5): a zstd-compressed body cut into
	// independently decodable frames; see chunk_frames.go.
	codecFramed byte = 3
	// codecGrouped (part version 5, session 7): a skeleton head cut
	// into groups of skeletons and of row ids; see rowload_head.go.
	codecGrouped byte = 4

	maxChunkBytes = 1 << 30
)

// Compression levels for chunks: flushes favour speed, merges size.
type level int

const (
	levelFast level = iota
	levelBetter
	// levelDefault is for merges whose output is likely merged again.
	levelDefault
)

// levelRawBetter is the level of the _raw chunks (templates, skeleton
// heads and variables) of blocks written at levelBetter: merges whose
// output stays, and full blocks. Since session 7 a row gets one full
// encoding, at its merge, and zstd was the largest piece of merge CPU
// (~19% at 10M records on the server), three quarters of it the better
// level on _raw's skeleton variables. At the fast level a 2.2M-row part
// of the bench data re-encodes in ~15% less CPU a row for 0.87 bytes a
// row more in _raw (session 12, docs/benchmarks-ingest.md); the other
// columns keep the better level, where it saves the most bytes for its
// CPU (request ids and hashes: 2.3 bytes a row).
var levelRawBetter = levelFast

var (
	encOnce  sync.Once
	encoders [3]*zstd.Encoder
	decoder  *zstd.Decoder
)

func initCodecs() {
	encOnce.Do(func() {
		var err error
		encoders[levelFast], err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false))
		if err != nil {
			panic("BUG: zstd encoder: " + err.Error())
		}
		encoders[levelBetter], err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false))
		if err != nil {
			panic("BUG: zstd encoder: " + err.Error())
		}
		encoders[levelDefault], err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false))
		if err != nil {
			panic("BUG: zstd encoder: " + err.Error())
		}
		// Every zstd frame the store reads (column chunks, part indexes)
		// sits under a CRC-32C that is checked before it is decoded, so
		// frames are written without zstd's own content checksum and the
		// checksums of older frames are not verified again (an xxhash of
		// every decompressed byte, ~3% of an aggregation's CPU).
		decoder, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxChunkBytes), zstd.IgnoreChecksum(true))
		if err != nil {
			panic("BUG: zstd decoder: " + err.Error())
		}
	})
}

// bytesToString returns a string sharing b's memory. b must never be
// modified afterwards; it is only used on freshly decoded buffers.
func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b)) // #nosec G103 -- zero-copy view of an immutable decoded buffer
}

// isCanonicalInt reports whether s is a decimal int64 that formats back to
// exactly s (no '+', no leading zeros, no "-0").
func isCanonicalInt(s string) (int64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	neg := s[0] == '-'
	d := s
	if neg {
		d = s[1:]
		if d == "" || d == "0" {
			return 0, false
		}
	}
	if len(d) > 19 || len(d) > 1 && d[0] == '0' {
		return 0, false
	}
	var v int64
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if i == 18 && v > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, false // 19 digits beyond int64 (and -2^63, never needed)
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// encodeColumn appends the chunk for vals (absent may be nil) to dst.
func encodeColumn(dst []byte, vals []string, absent []bool, lv level) []byte {
	return encodeColumnDict(dst, vals, absent, lv, nil)
}

// colDict is a dictionary column's values as the block writer sees them:
// the distinct present values in order of first appearance, and each
// row's code (0 absent, else index+1). The writer adds the bloom keys and
// coverage bytes of each distinct value once, instead of comparing each
// row's string with the previous row's (session 12).
type colDict struct {
	ok    bool // the column was written as a dictionary (vals, codes valid)
	vals  []string
	codes []uint32
	// hashes caches exactHash of vals[k] under the column's name (0: not
	// yet computed; a hash of 0 is computed again, harmlessly).
	hashes []uint64
}

// encodeColumnDict is encodeColumn that also fills d (when not nil) with
// the column's dictionary when it is written as one (d.ok).
func encodeColumnDict(dst []byte, vals []string, absent []bool, lv level, d *colDict) []byte {
	kind, body := chooseEncodingDict(vals, absent, d)
	if kind == kindDict {
		if out, ok := packedDictChunk(dst, body, len(vals)); ok {
			return out
		}
	}
	return encodeChunk(dst, kind, body, lv)
}

// storeShare: a body that zstd shrinks by less than 1/storeShare is
// stored uncompressed (codec 0), so reads skip a decode that saves
// little: mostly ipv4 planes of scattered addresses (on the bench data
// +0.07 bytes a record, and 20 MB of 1.7 GB of bodies no load decodes).
const storeShare = 8

// encodeChunk appends a chunk of the given kind and body to dst.
func encodeChunk(dst []byte, kind byte, body []byte, lv level) []byte {
	initCodecs()
	if kind != kindConst && len(body) >= 64 {
		if out, ok := framedChunk(dst, kind, body, lv); ok {
			return out
		}
	}
	dst = append(dst, kind)
	if kind == kindConst || len(body) < 64 {
		dst = append(dst, codecNone)
		dst = binary.AppendUvarint(dst, uint64(len(body)))
		return append(dst, body...)
	}
	start := len(dst)
	dst = append(dst, codecZstd)
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	hdr := len(dst)
	dst = encoders[lv].EncodeAll(body, dst)
	if len(dst)-hdr > len(body)-len(body)/storeShare { // barely compressible: store as is
		dst = dst[:start]
		dst = append(dst, codecNone)
		dst = binary.AppendUvarint(dst, uint64(len(body)))
		dst = append(dst, body...)
	}
	return dst
}

func chooseEncoding(vals []string, absent []bool) (byte, []byte) {
	return chooseEncodingDict(vals, absent, nil)
}

// chooseEncodingDict is chooseEncoding that fills d (when not nil) with
// the dictionary of a kindDict column; d.ok is false for other kinds.
func chooseEncodingDict(vals []string, absent []bool, d *colDict) (byte, []byte) {
	if d != nil {
		d.ok = false
	}
	allPresent := true
	for _, a := range absent {
		if a {
			allPresent = false
			break
		}
	}
	if allPresent && len(vals) > 0 {
		// One pass: constant? all integers (encoded on the way)?
		same, ints := true, true
		var ib []byte
		var prev int64
		for i, v := range vals {
			if v != vals[0] {
				same = false
			}
			if ints {
				if i > 0 && v == vals[i-1] {
					ib = append(ib, 0) // the same number again (e.g. _received)
					continue
				}
				var x int64
				if x, ints = isCanonicalInt(v); ints {
					if ib == nil {
						ib = make([]byte, 0, len(vals)*3)
					}
					ib = binary.AppendVarint(ib, x-prev)
					prev = x
				}
			}
			if !same && !ints {
				break
			}
		}
		if same {
			return kindConst, appendStr(nil, vals[0])
		}
		if ints {
			return kindInt, ib
		}
	}
	var db dictBuilder
	if d != nil {
		db.wantCodes, db.rowCodes = true, d.codes[:0]
	}
	if b, ok := db.encode(vals, absent, smallDict, true); ok {
		d.set(&db)
		return kindDict, b
	}
	if b, ok := encodeIPv4(vals, absent); ok {
		return kindIPv4, b
	}
	if b, ok := db.encode(vals, absent, maxDict, false); ok {
		d.set(&db)
		return kindDict, b
	}
	return kindPlain, encodePlain(vals, absent)
}

// set records db's dictionary and row codes in d (a nil d: nothing).
func (d *colDict) set(db *dictBuilder) {
	if d == nil {
		return
	}
	d.ok, d.vals, d.codes = true, db.dict, db.rowCodes
	d.hashes = append(d.hashes[:0], make([]uint64, len(db.dict))...)
}

// exact returns exactHash(name, d.vals[code-1]), computed once per value.
func (d *colDict) exact(name string, code uint32) uint64 {
	h := &d.hashes[code-1]
	if *h == 0 {
		*h = exactHash(name, d.vals[code-1])
	}
	return *h
}

func encodePlain(vals []string, absent []bool) []byte {
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	b := make([]byte, 0, n+2*len(vals))
	for i, v := range vals {
		if absent != nil && absent[i] {
			b = append(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(v))+1)
	}
	for i, v := range vals {
		if absent == nil || !absent[i] {
			b = append(b, v...)
		}
	}
	return b
}

// chunkBody returns the decompressed body and kind of a chunk. The body
// never aliases chunk.
func chunkBody(chunk []byte) (byte, string, error) {
	return chunkBodyTo(chunk, nil)
}

// presizeLimit is the most a zstd body of compressed bytes is presized to
// before decoding: 64 times its size plus 64 KiB, which covers the ratios
// of stored columns (a body that expands more grows while it decodes).
func presizeLimit(compressed int) uint64 { return 64*uint64(compressed) + 64<<10 }

// chunkBodyTo is chunkBody with a scratch buffer: when sc is not nil the
// body is decompressed into sc.body, or aliases chunk when stored
// uncompressed, so it is valid only while both sc and chunk are.
func chunkBodyTo(chunk []byte, sc *colScratch) (byte, string, error) {
	initCodecs()
	if len(chunk) < 2 {
		return 0, "", errShort
	}
	kind, codec := chunk[0], chunk[1]
	n, k := binary.Uvarint(chunk[2:])
	if k <= 0 || n > maxChunkBytes {
		return 0, "", errors.New("bad body length")
	}
	data := chunk[2+k:]
	switch codec {
	case codecNone:
		if uint64(len(data)) != n {
			return 0, "", fmt.Errorf("body length %d, want %d", len(data), n)
		}
		if sc != nil {
			return kind, bytesToString(data), nil
		}
		return kind, string(data), nil
	case codecZstd:
		// The header's length is trusted for the buffer only as far as the
		// compressed bytes can plausibly expand: a corrupt header must not
		// make a 1 GiB allocation up front (DecodeAll grows the buffer when
		// a valid body really is that compressible).
		// frameSlack more lets the decoder use its faster copies.
		want := min(n, presizeLimit(len(data))) + frameSlack
		var dst []byte
		if sc != nil {
			dst = sc.body[:0]
			if uint64(cap(dst)) < want {
				dst = make([]byte, 0, want)
			}
		} else {
			dst = make([]byte, 0, want)
		}
		out, err := decoder.DecodeAll(data, dst)
		if err != nil {
			return 0, "", fmt.Errorf("zstd: %w", err)
		}
		if sc != nil {
			sc.body = out
		}
		if uint64(len(out)) != n {
			return 0, "", fmt.Errorf("decompressed length %d, want %d", len(out), n)
		}
		return kind, bytesToString(out), nil
	case codecPacked:
		return unpackDictBody(kind, data, n, sc)
	case codecFramed:
		return unframeBody(kind, data, n, sc)
	case codecGrouped:
		if kind != kindSkeleton {
			return 0, "", fmt.Errorf("codec %d of a kind %d chunk", codec, kind)
		}
		return ungroupHead(kind, data, n, sc)
	}
	return 0, "", fmt.Errorf("unknown codec %d", codec)
}

// colScratch holds the buffers of a column decoded only for the duration
// of one load (a column a _raw template refers to but the caller did not
// ask for, or the template text itself). Get one with getScratch and give
// it back with putScratch once nothing points into it.
type colScratch struct {
	body []byte   // the decompressed chunk body
	ints []byte   // formatted integers of a kindInt column
	vals []string // the values, when owned by the scratch
	lens []uint64
}

var scratchPool = sync.Pool{New: func() any { return new(colScratch) }}

func getScratch() *colScratch { return scratchPool.Get().(*colScratch) }

// putScratch gives sc back to the pool. Its values are not cleared: they
// only point into sc's own buffers or the part's mapping, and every use
// overwrites all of them.
func putScratch(sc *colScratch) {
	sc.body, sc.ints, sc.vals, sc.lens = sc.body[:0], sc.ints[:0], sc.vals[:0], sc.lens[:0]
	scratchPool.Put(sc)
}

// decodeColumn decodes a chunk of rows values. absent is nil when every row
// is present. The strings do not alias chunk.
func decodeColumn(chunk []byte, rows int) (vals []string, absent []bool, err error) {
	return decodeColumnTo(chunk, rows, nil, false)
}

// decodeColumnTo is decodeColumn with a scratch: when sc is not nil the
// strings may point into sc and chunk, and when scratchVals is set the
// values array itself belongs to sc.
func decodeColumnTo(chunk []byte, rows int, sc *colScratch, scratchVals bool) (vals []string, absent []bool, err error) {
	kind, body, err := chunkBodyTo(chunk, sc)
	if err != nil {
		return nil, nil, fmt.Errorf("decode column: %w", err)
	}
	return decodeBody(kind, body, rows, sc, scratchVals)
}

// decodeBody is decodeColumnTo after decompression: body is the chunk's
// body of the given kind (held by sc, or by the caller).
func decodeBody(kind byte, body string, rows int, sc *colScratch, scratchVals bool) (vals []string, absent []bool, err error) {
	r := &reader{s: body}
	if sc != nil && scratchVals {
		if cap(sc.vals) < rows {
			sc.vals = make([]string, rows)
		}
		sc.vals = sc.vals[:rows]
		vals = sc.vals
	} else {
		vals = make([]string, rows)
	}
	switch kind {
	case kindConst:
		v := r.str()
		for i := range vals {
			vals[i] = v
		}
	case kindInt:
		// 20 bytes hold any int64, so buf never moves and each value
		// can be a view as soon as it is formatted.
		var buf []byte
		if sc != nil {
			buf = sc.ints[:0]
		}
		buf = slices.Grow(buf, rows*20)
		var prev int64
		for i := range vals {
			prev += r.varint()
			start := len(buf)
			buf = appendInt(buf, prev)
			vals[i] = bytesToString(buf[start:])
		}
		if sc != nil {
			sc.ints = buf
		}
	case kindDict:
		n := r.count(1)
		dict := make([]string, n)
		for i := range dict {
			dict[i] = r.str()
		}
		for i := range vals {
			c := r.uvarint()
			switch {
			case r.err != nil:
			case c == 0:
				absent = setAbsent(absent, rows, i)
				vals[i] = ""
			case c > uint64(len(dict)):
				r.err = fmt.Errorf("dictionary index %d out of %d", c, len(dict))
			default:
				vals[i] = dict[c-1]
			}
		}
	case kindPlain, kindTemplate:
		var lens []uint64
		if sc != nil {
			lens = slices.Grow(sc.lens[:0], rows)[:rows]
			sc.lens = lens
		} else {
			lens = make([]uint64, rows)
		}
		for i := range lens {
			lens[i] = r.uvarint()
			if lens[i] == 0 && r.err == nil {
				absent = setAbsent(absent, rows, i)
			}
		}
		for i, l := range lens {
			if l > 0 {
				vals[i] = r.bytes(int(min(l-1, uint64(len(body)+1))))
			} else {
				vals[i] = ""
			}
		}
	case kindIPv4:
		return decodeIPv4Values(body, vals, sc)
	case kindAlias:
		return nil, nil, fmt.Errorf("decode column: %w: the alias of another column, read through its block", errAlias)
	default:
		return nil, nil, fmt.Errorf("decode column: unknown kind %d", kind)
	}
	if r.err == nil && r.off != len(body) {
		r.err = fmt.Errorf("%d trailing bytes", len(body)-r.off)
	}
	if r.err != nil {
		return nil, nil, fmt.Errorf("decode column: %w", r.err)
	}
	return vals, absent, nil
}

func setAbsent(absent []bool, rows, i int) []bool {
	if absent == nil {
		absent = make([]bool, rows)
	}
	absent[i] = true
	return absent
}

func appendInt(b []byte, v int64) []byte {
	var tmp [20]byte
	i := len(tmp)
	u := uint64(v)
	if v < 0 {
		u = uint64(-v)
	}
	for u >= 10 {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
	}
	i--
	tmp[i] = byte('0' + u)
	if v < 0 {
		i--
		tmp[i] = '-'
	}
	return append(b, tmp[i:]...)
}

// encodeTimes encodes ascending times as a kindInt-like delta chunk.
func encodeTimes(dst []byte, ts []int64) []byte {
	body := make([]byte, 0, len(ts)*5)
	var prev int64
	for _, t := range ts {
		body = binary.AppendVarint(body, t-prev)
		prev = t
	}
	dst = append(dst, kindInt, codecNone)
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	return append(dst, body...)
}

// decodeTimes decodes a chunk written by encodeTimes (or any kindInt chunk).
func decodeTimes(chunk []byte, rows int) ([]int64, error) {
	sc := getScratch()
	defer putScratch(sc)
	body, err := timesBody(chunk, sc)
	if err != nil {
		return nil, err
	}
	ts := make([]int64, rows)
	n, err := decodeDeltas(body, ts)
	if err == nil && n != len(body) {
		err = fmt.Errorf("%d trailing bytes", len(body)-n)
	}
	if err != nil {
		return nil, fmt.Errorf("decode times: %w", err)
	}
	return ts, nil
}

// timesBody returns the body of a kindInt chunk (a block's times),
// decompressed into sc.
func timesBody(chunk []byte, sc *colScratch) (string, error) {
	kind, body, err := chunkBodyTo(chunk, sc)
	if err != nil {
		return "", fmt.Errorf("decode times: %w", err)
	}
	if kind != kindInt {
		return "", fmt.Errorf("decode times: kind %d is not int", kind)
	}
	return body, nil
}
