package store

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"unsafe"
)

// Frames in the body cache. A selective row load (a needle's: few rows
// of a block, BlockBodies.rowsLoaded) decodes, besides the block's small
// bodies, single zstd frames of framed chunks: the skeleton head's
// counts, id and skeleton groups (headTable.decode) and the variables'
// lengths and bytes frames of the listed rows (bodyStream.frames). Those
// go to the process's body cache too, keyed by the part and the offset
// of the frame's compressed bytes in it (a frame's bytes start past its
// chunk's head, so no chunk's key is a frame's), and admitted like
// bodies on their second use.

// frameCacheMin: frames decoding to fewer bytes are not cached (the
// lookup and the entry would cost about what the decode does).
const frameCacheMin = 256

// frameSource is where a load's frames may be looked up and kept: the
// part they are in and the load's BlockBodies. The zero value caches
// nothing.
type frameSource struct {
	p  *part
	bb *BlockBodies
}

// frameSource returns l's: caching only when its load is a selective
// one (the block's bodies go to the cache too).
func (l *rowLoader) frameSource() frameSource {
	if l.bb == nil || !l.bb.fill || l.bb.p != l.p || l.bb.i != l.i {
		return frameSource{}
	}
	return frameSource{p: l.p, bb: l.bb}
}

// on reports whether fs caches.
func (fs frameSource) on() bool { return fs.p != nil && sharedBodies.max.Load() > 0 }

// lookup returns the cache offset of frame (compressed bytes inside
// fs.p's data) decoding to want bytes, whether it is one to cache (fs
// caches, the frame is large enough and inside the part), and its cached
// bytes ("" when not cached).
func (fs frameSource) lookup(frame []byte, want int) (off uint64, cache bool, hit string) {
	if !fs.on() || want < frameCacheMin || len(frame) == 0 {
		return 0, false, ""
	}
	if off, cache = offsetIn(fs.p.data, frame); cache {
		hit, _ = fs.get(off, want)
	}
	return off, cache, hit
}

// offsetIn returns the offset of b's bytes in data when b lies inside it.
func offsetIn(data, b []byte) (uint64, bool) {
	if len(b) == 0 || len(data) == 0 {
		return 0, false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(data))) // #nosec G103 -- addresses compared only, never dereferenced
	at := uintptr(unsafe.Pointer(unsafe.SliceData(b)))      // #nosec G103 -- addresses compared only, never dereferenced
	if at < base || at-base > uintptr(len(data)-len(b)) || len(b) > len(data) {
		return 0, false
	}
	return uint64(at - base), true
}

// frameKind marks cached frames (their entries' kind; bodies have a
// column kind).
const frameKind = 0xff

// get returns the cached bytes of the frame at off, want of them.
func (fs frameSource) get(off uint64, want int) (string, bool) {
	kind, body, ok := sharedBodies.get(fs.p, off)
	if !ok || kind != frameKind || len(body) != want {
		return "", false
	}
	return body, true
}

// put offers the decoded bytes b of the frame at off to the cache
// (copied).
func (fs frameSource) put(off uint64, b []byte) {
	one := [1]cachedBody{{off: off, kind: frameKind, body: bytesToString(b)}}
	sharedBodies.putAll(fs.p, one[:])
}

// Marks of int bodies in the body cache. A row load of a kindInt body
// (the times, an int column) needs the running sum of the deltas up to
// each listed row: decodeDeltas reads every varint before the last one.
// A selective load of a block seen before reads instead from a mark:
// every deltaStep-th row's offset in the body and the sum before it,
// kept in the body cache beside the body (tagDeltaMarks), so that a row
// costs at most deltaStep varints. The marks are built (one pass over
// the body) on the body's second selective load, when the doorkeeper
// has seen it once (bodyCache.wants), like the bodies they go with.

const (
	deltaStep     = 128
	deltaMarkSize = 12 // uint32 offset, int64 sum, little-endian
	tagDeltaMarks = 1
)

// deltaMarks returns the marks of int body of rows rows, the body of
// the chunk at off of fs.p; false when fs does not cache, or the marks
// are neither cached nor wanted yet.
func (fs frameSource) deltaMarks(off uint64, body string, rows int) (string, bool) {
	if !fs.on() || rows < 2*deltaStep {
		return "", false
	}
	return fs.marks(off, tagDeltaMarks, kindInt,
		func(m string) bool { return len(m) == deltaMarksLen(rows) },
		func() (string, error) { return buildDeltaMarks(body, rows) })
}

// marks returns the marks tagged tag of the chunk (of kind kind) at off
// of fs.p: from the body cache when there and valid, else built on the
// body's second use (bodyCache.wants) and offered to the cache; false
// when neither (a body build rejects: the plain read reports it).
func (fs frameSource) marks(off uint64, tag, kind byte, valid func(string) bool, build func() (string, error)) (string, bool) {
	if _, m, ok := sharedBodies.getTag(fs.p, off, tag); ok {
		return m, valid(m)
	}
	if !sharedBodies.wants(fs.p, bodyCacheKey{fs.p, off, tag}) {
		return "", false
	}
	m, err := build()
	if err != nil {
		return "", false
	}
	one := [1]cachedBody{{off: off, tag: tag, kind: kind, body: m}}
	sharedBodies.putAll(fs.p, one[:])
	return m, true
}

func deltaMarksLen(rows int) int { return (rows + deltaStep - 1) / deltaStep * deltaMarkSize }

// buildDeltaMarks returns the marks of int body of rows rows: for rows
// 0, deltaStep, 2·deltaStep, … the offset of the row's varint and the
// sum of the deltas before it.
func buildDeltaMarks(body string, rows int) (string, error) {
	var tmp [deltaStep]int64
	m := make([]byte, 0, deltaMarksLen(rows))
	off, prev := 0, int64(0)
	for r := 0; r < rows; r += deltaStep {
		m = binary.LittleEndian.AppendUint32(m, uint32(off))
		m = binary.LittleEndian.AppendUint64(m, uint64(prev))
		if r+deltaStep >= rows {
			break // the last mark: nothing after it
		}
		n, err := decodeDeltas(body[off:], tmp[:])
		if err != nil {
			return "", err
		}
		prev += tmp[deltaStep-1]
		off += n
	}
	return bytesToString(m), nil
}

// deltasAt sets dst[j] to the running sum of int body's deltas at row
// rows[j] (the value decodeDeltas gives there), reading from marks.
func deltasAt(body, marks string, rows []int, dst []int64) error {
	var tmp [deltaStep]int64
	for j, r := range rows {
		k := r / deltaStep
		if (k+1)*deltaMarkSize > len(marks) {
			return fmt.Errorf("row %d past the marks", r)
		}
		mk := marks[k*deltaMarkSize:]
		off := int(binary.LittleEndian.Uint32(stringBytes(mk[:4])))
		prev := int64(le64(mk[4:12]))
		if off > len(body) {
			return fmt.Errorf("row %d: mark past the body", r)
		}
		n := r - k*deltaStep + 1
		if _, err := decodeDeltas(body[off:], tmp[:n]); err != nil {
			return fmt.Errorf("row %d: %w", r, err)
		}
		dst[j] = prev + tmp[n-1]
	}
	return nil
}

// Marks of dictionary bodies (kindDict: uvarint n, n values, then a
// uvarint code per row, 0 for absent), kept like delta marks
// (tagDictMarks): the number of values, where the codes start, the
// offset of every dictStep-th value and of every deltaStep-th row's
// code, 4 bytes each, little-endian. A listed row then costs at most
// deltaStep codes skipped and dictStep values walked, instead of the
// whole dictionary parsed and every code before it skipped.

const (
	dictStep     = 32
	tagDictMarks = 2
)

func dictMarksLen(n, rows int) int {
	return 4 * (2 + (n+dictStep-1)/dictStep + (rows+deltaStep-1)/deltaStep)
}

// dictMarks is deltaMarks for a dictionary body.
func (fs frameSource) dictMarks(off uint64, body string, rows int) (string, bool) {
	if !fs.on() || rows < 2*deltaStep {
		return "", false
	}
	return fs.marks(off, tagDictMarks, kindDict,
		func(m string) bool {
			return len(m) >= 8 && len(m) == dictMarksLen(int(binary.LittleEndian.Uint32(stringBytes(m))), rows)
		},
		func() (string, error) { return buildDictMarks(body, rows) })
}

// buildDictMarks returns the marks of dictionary body of rows rows.
func buildDictMarks(body string, rows int) (string, error) {
	r := reader{s: body}
	n := r.uvarint()
	if r.err != nil || n > uint64(len(body)) {
		return "", errShort
	}
	m := make([]byte, 8, dictMarksLen(int(n), rows))
	binary.LittleEndian.PutUint32(m, uint32(n))
	for i := range int(n) {
		if i%dictStep == 0 {
			m = binary.LittleEndian.AppendUint32(m, uint32(r.off))
		}
		r.str()
	}
	if r.err != nil {
		return "", r.err
	}
	binary.LittleEndian.PutUint32(m[4:], uint32(r.off))
	// Every code is read and checked as the plain loops do (an index
	// past the dictionary, a short body, trailing bytes): paths that use
	// the marks (codeRows) then answer a damaged body as they do.
	for row := range rows {
		if row%deltaStep == 0 {
			m = binary.LittleEndian.AppendUint32(m, uint32(r.off))
		}
		if c := r.uvarint(); r.err != nil {
			return "", r.err
		} else if c > n {
			return "", fmt.Errorf("dictionary index %d out of %d", c, n)
		}
	}
	if r.off != len(body) {
		return "", fmt.Errorf("%d trailing bytes", len(body)-r.off)
	}
	return bytesToString(m), nil
}

// dictAt reads the listed rows of dictionary body into col from its
// marks (rows ascending).
func dictAt(body, marks string, rows []int, col Column) error {
	u32 := func(k int) int { return int(binary.LittleEndian.Uint32(stringBytes(marks[4*k:]))) }
	n := u32(0)
	vals := 2                               // the values' marks
	codes := vals + (n+dictStep-1)/dictStep // the codes' marks
	for _, i := range rows {
		k := i / deltaStep
		if 4*(codes+k+1) > len(marks) {
			return fmt.Errorf("row %d past the marks", i)
		}
		pos := u32(codes + k)
		if pos > len(body) {
			return fmt.Errorf("row %d: mark past the body", i)
		}
		var ok bool
		if pos, ok = skipVarints(body, pos, i-k*deltaStep); !ok {
			return errShort
		}
		r := reader{s: body, off: pos}
		c := r.uvarint()
		if r.err != nil {
			return r.err
		}
		switch {
		case c == 0:
			col.Absent[i] = true
		case c > uint64(n):
			return fmt.Errorf("dictionary index %d out of %d", c, n)
		default:
			v := int(c - 1)
			at := u32(vals + v/dictStep)
			if at > len(body) {
				return fmt.Errorf("value %d: mark past the body", v)
			}
			r := reader{s: body, off: at}
			for range v % dictStep {
				r.str()
			}
			s := r.str()
			if r.err != nil {
				return r.err
			}
			col.Values[i] = s
		}
	}
	return nil
}

// codeRows sets vals[i] = v in the rows i of dictionary body whose code
// is hit, from the body's marks (buildDictMarks): it looks for the bytes
// of hit's varint in the codes (strings.Index, far faster than reading
// every code) and keeps a find only where a code starts, which the
// walk from the nearest row mark tells. n is the dictionary's values,
// codes the offset of the first code. It reports false (nothing written)
// when the marks are not the body's; the codes are then read one by one.
func codeRows(body, marks string, n, codes, rows, hit int, v string, vals []string) bool {
	if len(marks) < 8 || len(marks) != dictMarksLen(n, rows) {
		return false
	}
	u32 := func(k int) int { return int(binary.LittleEndian.Uint32(stringBytes(marks[4*k:]))) }
	if u32(0) != n || u32(1) != codes {
		return false
	}
	rm := 2 + (n+dictStep-1)/dictStep // the first row mark
	nm := (rows + deltaStep - 1) / deltaStep
	var encBuf [binary.MaxVarintLen64]byte
	enc := bytesToString(binary.AppendUvarint(encBuf[:0], uint64(hit)))
	for p := codes; p < len(body); {
		k := strings.Index(body[p:], enc)
		if k < 0 {
			break
		}
		at := p + k
		p = at + 1
		// The last row mark at or before the find.
		m := sort.Search(nm, func(j int) bool { return u32(rm+j) > at }) - 1
		if m < 0 {
			continue
		}
		pos, row := u32(rm+m), m*deltaStep
		for pos < at && row < rows {
			for pos < len(body) && body[pos] >= 0x80 {
				pos++
			}
			pos++
			row++
		}
		if pos == at && row < rows {
			vals[row] = v
			p = at + len(enc)
		}
	}
	return true
}
