package store

// Skeleton pools (part version 6, session 9): the distinct skeleton texts
// of a part's kindSkeleton chunks, stored once per part in small zstd
// frames after the blocks, so that a block's head names pool entries
// (codecPooled heads, skel_pool_head.go) instead of holding the texts:
// the blocks of a part repeat the same skeletons, and a search decodes
// each pool frame once per part (cached, see poolCacheBudget) instead of
// every block's skeleton texts.
//
// A pool frame holds items × (uvarint len | bytes), entries in order of
// first appearance in the part. The pool is the last section before the
// part index (parts of version >= 6 other than cheap parts):
//
//	frames | table | u32 table length | u32 CRC-32C of the table | "MAMPOOL1"
//	table: uvarint F (0: no pool) |
//	       F × (uvarint off | uvarint zLen | uvarint rawLen | uvarint items | u32 CRC-32C of the zLen bytes)
//
// so a reader finds it from the footer's index offset. Entry i of the
// pool is item i - (items of the frames before) of the first frame whose
// items, with those before, pass i.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"sync/atomic"
)

const (
	// skelPoolVersion is the first part version that may hold a pool.
	skelPoolVersion = 6
	// poolMaxBytes caps the skeleton text of one part's pool; heads of
	// skeletons past it keep their texts (codecGrouped).
	poolMaxBytes = 16 << 20
	// poolMaxEntries bounds the entries a table may declare (a reader
	// never allocates for more).
	poolMaxEntries = poolMaxBytes / 2
)

// poolFrameBytes is the uncompressed size a writer aims at per pool frame
// (a variable for tests and measurements). On the 10M bench store
// (TestPoolFrameSizes, level better) frames of 16 KiB cost 0.64 bytes a
// record, 32 KiB 0.51, 64 KiB 0.44, 128 KiB 0.39, for 18, 40, 44 and 85
// µs of CPU to decode one (once per part and process while the cache
// budget holds).
var poolFrameBytes = 64 << 10

// poolsOff makes writers keep the skeleton texts in the heads (tests of
// heads without a pool).
var poolsOff bool

// poolCacheBudget is the most decoded pool text (bytes, with the strings'
// headers) the process keeps cached over all open parts; past it frames
// are decoded for each use.
var poolCacheBudget int64 = 48 << 20

var (
	poolCacheUsed atomic.Int64
	poolSeq       atomic.Uint64 // partPool.id
	errPool       = errors.New("bad skeleton pool")
)

// poolFrame is one frame's entry in the pool table.
type poolFrame struct {
	off       uint64
	zlen, raw uint32
	crc       uint32
}

// partPool is the skeleton pool of an open part.
type partPool struct {
	id     uint64 // unique in the process (SkeletonKey)
	data   []byte // the part's data
	frames []poolFrame
	ends   []int // ends[f]: the entries of frames 0..f
	// first[b]: the frame holding entry b<<poolBucketShift (frameOf
	// steps on from it instead of searching ends).
	first  []int32
	slots  []atomic.Pointer[[]string]
	cached atomic.Int64 // bytes of poolCacheUsed this pool holds
}

// entries returns the number of entries.
func (sp *partPool) entries() int {
	if sp == nil || len(sp.ends) == 0 {
		return 0
	}
	return sp.ends[len(sp.ends)-1]
}

// poolMagic ends a pool section.
const (
	poolMagic   = "MAMPOOL1"
	poolTrailer = 8 + len(poolMagic)
)

// readPool reads the pool section that ends at end (the index offset) of
// part data; nil when the part has no pool.
func readPool(data []byte, end uint64) (*partPool, error) {
	if end < uint64(len(partMagic)+poolTrailer) || end > uint64(len(data)) {
		return nil, fmt.Errorf("%w: no room for its trailer before offset %d", errPool, end)
	}
	tr := data[end-uint64(poolTrailer) : end]
	if string(tr[8:]) != poolMagic {
		return nil, fmt.Errorf("%w: no trailer before offset %d", errPool, end)
	}
	tl := uint64(binary.LittleEndian.Uint32(tr))
	tend := end - uint64(poolTrailer)
	if tl == 0 || tl > tend-uint64(len(partMagic)) {
		return nil, fmt.Errorf("%w: table of %d bytes before offset %d", errPool, tl, tend)
	}
	table := data[tend-tl : tend]
	if crc32.Checksum(table, castagnoli) != binary.LittleEndian.Uint32(tr[4:]) {
		return nil, fmt.Errorf("%w: table at offset %d: checksum mismatch", errPool, tend-tl)
	}
	r := reader{s: bytesToString(table)}
	sp, err := parsePoolTable(&r, data, tend-tl)
	if err != nil {
		return nil, err
	}
	if r.off != len(table) {
		return nil, fmt.Errorf("%w: %d bytes after the table", errPool, len(table)-r.off)
	}
	return sp, nil
}

// parsePoolTable reads the pool table at r of a part whose frames end at
// dataEnd; nil when the part has no pool.
func parsePoolTable(r *reader, data []byte, dataEnd uint64) (*partPool, error) {
	nf := r.count(8)
	if r.err != nil {
		return nil, fmt.Errorf("%w: frames: %w", errPool, r.err)
	}
	if nf == 0 {
		return nil, nil
	}
	sp := &partPool{data: data, frames: make([]poolFrame, nf), ends: make([]int, nf)}
	total := 0
	for f := range sp.frames {
		off, zl, raw, items := r.uvarint(), r.uvarint(), r.uvarint(), r.uvarint()
		crc := r.u32()
		if r.err != nil {
			return nil, fmt.Errorf("%w: frame %d: %w", errPool, f, r.err)
		}
		if off < uint64(len(partMagic)) || off > dataEnd || zl == 0 || zl > dataEnd-off {
			return nil, fmt.Errorf("%w: frame %d at %d+%d outside the data", errPool, f, off, zl)
		}
		if raw == 0 || raw > maxFrameBytes || raw > presizeLimit(int(zl)) {
			return nil, fmt.Errorf("%w: frame %d: %d bytes from %d compressed", errPool, f, raw, zl)
		}
		if items == 0 || items > raw || total+int(items) > poolMaxEntries {
			return nil, fmt.Errorf("%w: frame %d: %d entries", errPool, f, items)
		}
		total += int(items)
		sp.frames[f] = poolFrame{off: off, zlen: uint32(zl), raw: uint32(raw), crc: crc}
		sp.ends[f] = total
	}
	sp.slots = make([]atomic.Pointer[[]string], nf)
	sp.first = poolBuckets(sp.ends)
	sp.id = poolSeq.Add(1)
	return sp, nil
}

// poolBucketShift sets the entries per bucket of partPool.first (64: a
// table of 1/16 of the entries' text pointers at most).
const poolBucketShift = 6

// poolBuckets returns the frame of the first entry of each bucket of
// entries, for frames whose entries end at ends (ascending, the last the
// number of entries).
func poolBuckets(ends []int) []int32 {
	if len(ends) == 0 {
		return nil
	}
	n := ends[len(ends)-1]
	first := make([]int32, (n+1<<poolBucketShift-1)>>poolBucketShift)
	f := 0
	for b := range first {
		for ends[f] <= b<<poolBucketShift {
			f++
		}
		first[b] = int32(f) // #nosec G115 -- frames are counted in a uvarint bounded by the table's size
	}
	return first
}

// frameOf returns the frame holding entry i (< entries) and i's position
// in it: from its bucket's first frame, stepping past the frames that end
// at or before it.
func (sp *partPool) frameOf(i uint32) (int, int) {
	f := int(sp.first[i>>poolBucketShift])
	for sp.ends[f] <= int(i) {
		f++
	}
	if f == 0 {
		return 0, int(i)
	}
	return f, int(i) - sp.ends[f-1]
}

// frameTexts returns the entries of frame f: cached when the budget
// allows (the same strings for every caller then), else decoded for
// this use.
func (sp *partPool) frameTexts(f int) ([]string, error) {
	if t := sp.slots[f].Load(); t != nil {
		return *t, nil
	}
	texts, size, err := sp.decodeFrame(f)
	if err != nil {
		return nil, err
	}
	if poolCacheUsed.Add(size) > poolCacheBudget {
		poolCacheUsed.Add(-size)
		return texts, nil
	}
	if !sp.slots[f].CompareAndSwap(nil, &texts) {
		poolCacheUsed.Add(-size) // another worker cached it first
		return *sp.slots[f].Load(), nil
	}
	sp.cached.Add(size)
	return texts, nil
}

// decodeFrame decodes frame f: its entries and their cache cost.
func (sp *partPool) decodeFrame(f int) ([]string, int64, error) {
	pf := &sp.frames[f]
	z := sp.data[pf.off : pf.off+uint64(pf.zlen)]
	if crc32.Checksum(z, castagnoli) != pf.crc {
		return nil, 0, fmt.Errorf("%w: frame %d at offset %d: checksum mismatch", errPool, f, pf.off)
	}
	b, err := decodeFrame(z, nil, int(pf.raw))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: frame %d: %w", errPool, f, err)
	}
	if len(b) != int(pf.raw) {
		return nil, 0, fmt.Errorf("%w: frame %d: %d bytes, table says %d", errPool, f, len(b), pf.raw)
	}
	n := sp.ends[f]
	if f > 0 {
		n -= sp.ends[f-1]
	}
	texts := make([]string, n)
	r := reader{s: bytesToString(b)}
	for i := range texts {
		texts[i] = r.str()
		if r.err != nil {
			return nil, 0, fmt.Errorf("%w: frame %d: entry %d: %w", errPool, f, i, r.err)
		}
	}
	if r.off != len(b) {
		return nil, 0, fmt.Errorf("%w: frame %d: %d bytes after its %d entries", errPool, f, len(b)-r.off, n)
	}
	return texts, int64(len(b)) + 16*int64(n), nil
}

// resolve sets dst[j] to the text of entry idx[j]; false (with an error)
// when an index is out of range or a frame is damaged.
func (sp *partPool) resolve(idx []uint32, dst []string) error {
	if sp == nil {
		return fmt.Errorf("%w: a pooled skeleton head in a part without a pool", errPool)
	}
	n := uint32(sp.entries())
	var lo, hi uint32 // the entries of texts (a block's are mostly of one frame)
	var texts []string
	for j, i := range idx {
		if i-lo >= hi-lo { // outside [lo, hi)
			if i >= n {
				return fmt.Errorf("%w: entry %d out of %d", errPool, i, n)
			}
			f, k := sp.frameOf(i)
			var err error
			if texts, err = sp.frameTexts(f); err != nil {
				return err
			}
			lo = i - uint32(k)
			hi = lo + uint32(len(texts))
		}
		dst[j] = texts[i-lo] // #nosec G602 -- i is in [lo, hi) and hi-lo == len(texts)
	}
	return nil
}

// drop gives the pool's cached bytes back to the budget (the part is
// unmapped).
func (sp *partPool) drop() {
	if sp == nil {
		return
	}
	for f := range sp.slots {
		sp.slots[f].Store(nil)
	}
	poolCacheUsed.Add(-sp.cached.Swap(0))
}

// poolBuilder collects a part's pool while its blocks are written.
type poolBuilder struct {
	idx   map[string]uint32
	texts []string
	size  int
	off   bool // no pool (cheap parts, tests of older parts)
}

// add returns the entry of skeleton sk, added when new; false when the
// pool is full.
func (pb *poolBuilder) add(sk string) (uint32, bool) {
	if i, ok := pb.idx[sk]; ok {
		return i, true
	}
	if pb.size+len(sk) > poolMaxBytes {
		return 0, false
	}
	if pb.idx == nil {
		pb.idx = make(map[string]uint32)
	}
	s := strings.Clone(sk) // sk may be a view of a reused buffer
	i := uint32(len(pb.texts))
	pb.idx[s] = i
	pb.texts = append(pb.texts, s)
	pb.size += len(s)
	return i, true
}

// fits reports whether every one of skels is in the pool or fits in it.
func (pb *poolBuilder) fits(skels []string) bool {
	need := 0
	for _, sk := range skels {
		if _, ok := pb.idx[sk]; !ok {
			need += len(sk)
		}
	}
	return pb.size+need <= poolMaxBytes
}

// write writes the pool section with w (at offset off onwards, frames
// compressed at lv): its frames, table and trailer.
func (pb *poolBuilder) write(w func([]byte) error, off uint64, lv level) error {
	initCodecs()
	var frames []poolFrame
	var items []int
	var raw, z []byte
	flush := func(n int) error {
		z = encoders[lv].EncodeAll(raw, z[:0])
		pf := poolFrame{off: off, zlen: uint32(len(z)), raw: uint32(len(raw)), crc: crc32.Checksum(z, castagnoli)}
		if err := w(z); err != nil {
			return err
		}
		off += uint64(len(z))
		frames, items = append(frames, pf), append(items, n)
		raw = raw[:0]
		return nil
	}
	n := 0
	for _, t := range pb.texts {
		raw = binary.AppendUvarint(raw, uint64(len(t)))
		raw = append(raw, t...)
		n++
		if len(raw) >= poolFrameBytes {
			if err := flush(n); err != nil {
				return err
			}
			n = 0
		}
	}
	if n > 0 {
		if err := flush(n); err != nil {
			return err
		}
	}
	table := appendPoolTable(nil, frames, items)
	tail := binary.LittleEndian.AppendUint32(table, uint32(len(table)))
	tail = binary.LittleEndian.AppendUint32(tail, crc32.Checksum(table, castagnoli))
	return w(append(tail, poolMagic...))
}

// appendPoolTable appends a pool's table.
func appendPoolTable(b []byte, frames []poolFrame, items []int) []byte {
	b = binary.AppendUvarint(b, uint64(len(frames)))
	for f, pf := range frames {
		b = binary.AppendUvarint(b, pf.off)
		b = binary.AppendUvarint(b, uint64(pf.zlen))
		b = binary.AppendUvarint(b, uint64(pf.raw))
		b = binary.AppendUvarint(b, uint64(items[f]))
		b = binary.LittleEndian.AppendUint32(b, pf.crc)
	}
	return b
}

// check checks every frame of a pool (verify): its checksum, that it
// decodes and holds the entries its table says. It returns the first
// bad frame.
func (sp *partPool) check() (int, error) {
	for f := range sp.frames {
		if _, _, err := sp.decodeFrame(f); err != nil {
			return f, err
		}
	}
	return 0, nil
}
