package store

// Grouped skeleton heads (codecGrouped, part version 5 addition, session
// 7): the head sub-chunk of a kindSkeleton chunk (enc_skel.go) cut into
// groups of skeletons and groups of row ids, each group its own zstd
// frame, plus a frame of each skeleton's placeholder count. A row-wise
// load of one row then decodes its id group's frame (to find the row's
// skeleton and, with the counts, its first variable), the counts frame
// and its skeleton's frame, instead of the whole head, and it no longer
// counts the placeholders of every skeleton and row (skelBlock.count).
//
// After the chunk's kind (8), codec (4) and uvarint body length:
//
//	uvarint S                    skeleton groups (>= 1)
//	S × uvarint items            skeletons per group (>= 1; they sum to n)
//	uvarint R                    id groups (>= 1)
//	R × uvarint rows             rows per group (>= 1; they sum to the block's rows)
//	R × uvarint vars             variables of each group's rows (placeholders of their skeletons)
//	(S+R+1) × uvarint rawLen     uncompressed bytes of each frame (>= 1): the S skeleton
//	                             frames, the R id frames, the counts frame
//	(S+R+1) × uvarint zLen       compressed bytes of each frame (>= 1)
//	frames                       each a complete zstd frame, in table order
//
// The skeleton and id frames decode, in order, to the head body byte for
// byte (uvarint n | n × str skeleton | rows × uvarint id: the first
// skeleton frame starts with n), so whole reads are unchanged; the
// rawLens of those S+R frames sum to the body length. The counts frame
// holds n × uvarint: the placeholders of each skeleton. Limits as for
// framed chunks (presizeLimit, maxFrameBytes).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
)

const (
	// headGroupMin: smaller heads stay one frame (codecZstd).
	headGroupMin = 8 << 10
	// headIDBytes is the uncompressed size a writer aims at per id group.
	headIDBytes = 4 << 10
)

// headSkelBytes is the uncompressed size a writer aims at per skeleton
// group (a variable for tests). Skeletons compress far better together
// (they share most of their text: groups of 64 KiB cost 0.21 bytes a
// record on the 10M bench store, one group nothing), so a block's
// skeletons are one group unless they pass 1 MiB; ids in groups of 4
// KiB cost 0.01 bytes a record.
var headSkelBytes = 1 << 20

// errHead reports a bad grouped head.
var errHead = errors.New("bad grouped skeleton head")

// headWriter holds a head writer's buffers (pooled).
type headWriter struct {
	skelItems, idRows, idVars []int
	cuts                      []int // frame ends in head (skeleton and id frames)
	counts                    []byte
	nvar                      []int32
	z                         []byte
	zlens                     []int
}

var headWriters = sync.Pool{New: func() any { return new(headWriter) }}

// groupedHead appends the codecGrouped chunk of skeleton head body head
// to dst, or reports false (dst unchanged) when head is small, does not
// parse, or the groups compress it no better than it is.
func groupedHead(dst, head []byte, lv level) ([]byte, bool) {
	if len(head) < headGroupMin {
		return dst, false
	}
	initCodecs()
	hw := headWriters.Get().(*headWriter)
	defer headWriters.Put(hw)
	if !hw.group(head) {
		return dst, false
	}
	raws := hw.frameRaws(head, hw.counts)
	if !hw.compress(raws, lv) {
		return dst, false
	}
	if len(hw.z)+8*len(raws) >= len(head) || uint64(len(head)) > presizeLimit(len(hw.z)) {
		return dst, false
	}
	return hw.appendChunk(dst, codecGrouped, len(head), raws), true
}

// frameRaws returns the frames of a grouped head: head cut at hw.cuts,
// then counts.
func (hw *headWriter) frameRaws(head, counts []byte) [][]byte {
	raws := make([][]byte, 0, len(hw.cuts)+1)
	start := 0
	for _, end := range hw.cuts {
		raws = append(raws, head[start:end])
		start = end
	}
	return append(raws, counts)
}

// compress compresses raws (the frames of a grouped head) into hw.z and
// hw.zlens; false when a frame is too large or compresses beyond what
// readers accept.
func (hw *headWriter) compress(raws [][]byte, lv level) bool {
	hw.z, hw.zlens = hw.z[:0], hw.zlens[:0]
	for _, raw := range raws {
		at := len(hw.z)
		hw.z = encoders[lv].EncodeAll(raw, hw.z)
		n := len(hw.z) - at
		if uint64(len(raw)) > presizeLimit(n) || len(raw) > maxFrameBytes {
			return false
		}
		hw.zlens = append(hw.zlens, n)
	}
	return true
}

// appendChunk appends the grouped head chunk (codec codecGrouped or
// codecPooled) of a body of size bytes whose frames are raws, compressed
// in hw.z, to dst.
func (hw *headWriter) appendChunk(dst []byte, codec byte, size int, raws [][]byte) []byte {
	dst = append(dst, kindSkeleton, codec)
	dst = binary.AppendUvarint(dst, uint64(size))
	dst = appendUvarints(binary.AppendUvarint(dst, uint64(len(hw.skelItems))), hw.skelItems)
	dst = appendUvarints(binary.AppendUvarint(dst, uint64(len(hw.idRows))), hw.idRows)
	dst = appendUvarints(dst, hw.idVars)
	for _, raw := range raws {
		dst = binary.AppendUvarint(dst, uint64(len(raw)))
	}
	dst = appendUvarints(dst, hw.zlens)
	return append(dst, hw.z...)
}

func appendUvarints(dst []byte, vs []int) []byte {
	for _, v := range vs {
		dst = binary.AppendUvarint(dst, uint64(v))
	}
	return dst
}

// group parses head (uvarint n | n × str | rows × uvarint id) and cuts it
// into skeleton groups and id groups; false when it does not parse or
// has no skeleton or no row.
func (hw *headWriter) group(head []byte) bool {
	r := reader{s: bytesToString(head)}
	n := r.count(1)
	if r.err != nil || n == 0 {
		return false
	}
	hw.skelItems, hw.idRows, hw.idVars, hw.cuts = hw.skelItems[:0], hw.idRows[:0], hw.idVars[:0], hw.cuts[:0]
	hw.nvar = growTo(hw.nvar, n+1)
	hw.nvar[0] = 0
	hw.counts = hw.counts[:0]
	items, start := 0, 0
	for i := range n {
		sk := r.str()
		if r.err != nil {
			return false
		}
		c := countVars(sk)
		hw.nvar[i+1] = int32(c)
		hw.counts = binary.AppendUvarint(hw.counts, uint64(c))
		items++
		if r.off-start >= headSkelBytes || i == n-1 {
			hw.skelItems = append(hw.skelItems, items)
			hw.cuts = append(hw.cuts, r.off)
			items, start = 0, r.off
		}
	}
	return hw.cutIDs(head, r.off, start)
}

// cutIDs cuts the ids of head (from off, after the skeletons that hw.nvar
// counts; the previous cut at start) into id groups; false when an id
// does not parse or is out of range, or there is no row.
func (hw *headWriter) cutIDs(head []byte, off, start int) bool {
	r := reader{s: bytesToString(head), off: off}
	n := uint64(len(hw.nvar) - 1)
	rows, vars := 0, 0
	for r.off < len(head) {
		id := r.uvarint()
		if r.err != nil || id > n {
			return false
		}
		rows++
		vars += int(hw.nvar[id])
		if r.off-start >= headIDBytes || r.off == len(head) {
			hw.idRows, hw.idVars = append(hw.idRows, rows), append(hw.idVars, vars)
			hw.cuts = append(hw.cuts, r.off)
			rows, vars, start = 0, 0, r.off
		}
	}
	return len(hw.idRows) > 0
}

// headTable is the parsed table of a grouped head.
type headTable struct {
	skelEnds []int // skelEnds[g]: the skeletons of groups 0..g
	rowEnds  []int // rowEnds[g]: the rows of id groups 0..g
	varStart []int // varStart[g]: the variables before id group g; one more: all
	ends     []int // frame ends in the body (the counts frame: its length)
	zends    []int // frame ends in frames
	frames   []byte
	size     int // the body's length
	// src, when set, caches the frames decoded (rowload_cache.go): set by
	// a selective row load around its use of the table.
	src frameSource
}

// nskel returns the skeleton groups; frame nskel()+g is id group g's,
// the last frame the counts'.
func (ht *headTable) nskel() int { return len(ht.skelEnds) }

// parse reads the table of a grouped head body of n bytes (data follows
// the chunk's body length).
func (ht *headTable) parse(data []byte, n uint64) error {
	r := reader{s: bytesToString(data)}
	ends := func(dst []int, what string) ([]int, error) {
		g := r.uvarint()
		if r.err != nil || g == 0 || g > n || g > uint64(len(data)) {
			return dst, fmt.Errorf("%w: %d %s groups", errHead, g, what)
		}
		dst = growTo(dst, int(g))
		sum := 0
		for i := range dst {
			c := r.uvarint()
			if r.err != nil || c == 0 || c > n {
				return dst, fmt.Errorf("%w: %s group %d: %d items", errHead, what, i, c)
			}
			sum += int(c)
			dst[i] = sum
		}
		return dst, nil
	}
	var err error
	if ht.skelEnds, err = ends(ht.skelEnds, "skeleton"); err != nil {
		return err
	}
	if ht.rowEnds, err = ends(ht.rowEnds, "id"); err != nil {
		return err
	}
	ht.varStart = growTo(ht.varStart, len(ht.rowEnds)+1)
	ht.varStart[0] = 0
	for g := range ht.rowEnds {
		v := r.uvarint()
		if r.err != nil || v > maxChunkBytes || ht.varStart[g]+int(v) > maxChunkBytes {
			return fmt.Errorf("%w: id group %d: %d variables", errHead, g, v)
		}
		ht.varStart[g+1] = ht.varStart[g] + int(v)
	}
	nf := len(ht.skelEnds) + len(ht.rowEnds) + 1
	ht.ends, ht.zends = growTo(ht.ends, nf), growTo(ht.zends, nf)
	var sum uint64
	for i := range ht.ends {
		l := r.uvarint()
		last := i == nf-1
		if r.err != nil || l == 0 || l > maxFrameBytes || !last && l > n-sum {
			return fmt.Errorf("%w: frame %d: length %d", errHead, i, l)
		}
		if last {
			ht.ends[i] = int(l)
			continue
		}
		sum += l
		ht.ends[i] = int(sum)
	}
	if sum != n {
		return fmt.Errorf("%w: frames hold %d bytes, body %d", errHead, sum, n)
	}
	var zsum uint64
	for i := range ht.zends {
		l := r.uvarint()
		if r.err != nil || l == 0 || l > uint64(len(data)) {
			return fmt.Errorf("%w: frame %d: compressed length %d", errHead, i, l)
		}
		if raw := ht.rawLen(i); uint64(raw) > presizeLimit(int(l)) {
			return fmt.Errorf("%w: frame %d: %d bytes from %d compressed", errHead, i, raw, l)
		}
		zsum += l
		ht.zends[i] = int(zsum)
	}
	if zsum != uint64(len(data)-r.off) {
		return fmt.Errorf("%w: frames of %d compressed bytes, %d left", errHead, zsum, len(data)-r.off)
	}
	if n > presizeLimit(int(zsum)) {
		return fmt.Errorf("%w: %d bytes from %d compressed", errHead, n, zsum)
	}
	ht.frames, ht.size = data[r.off:], int(n)
	return nil
}

// start returns the body offset of frame i (not the counts frame).
func (ht *headTable) start(i int) int {
	if i == 0 {
		return 0
	}
	return ht.ends[i-1]
}

// rawLen returns the uncompressed length of frame i.
func (ht *headTable) rawLen(i int) int {
	if i == len(ht.ends)-1 {
		return ht.ends[i]
	}
	return ht.ends[i] - ht.start(i)
}

// frame returns the compressed bytes of frame i.
func (ht *headTable) frame(i int) []byte {
	zs := 0
	if i > 0 {
		zs = ht.zends[i-1]
	}
	return ht.frames[zs:ht.zends[i]]
}

// decode appends frame i decoded to dst.
func (ht *headTable) decode(i int, dst []byte) ([]byte, error) {
	frame, want := ht.frame(i), ht.rawLen(i)
	off, cache, hit := ht.src.lookup(frame, want)
	if hit != "" {
		return append(dst, hit...), nil
	}
	n := len(dst)
	out, err := decodeFrame(frame, dst, want)
	if err != nil {
		return dst, fmt.Errorf("%w: frame %d: %w", errHead, i, err)
	}
	if cache {
		ht.src.put(off, out[n:])
	}
	return out, nil
}

// ungroupHead decodes a whole codecGrouped body of n bytes (data follows
// the chunk's length) into sc's buffer, like chunkBodyTo.
func ungroupHead(kind byte, data []byte, n uint64, sc *colScratch) (byte, string, error) {
	var ht headTable
	if err := ht.parse(data, n); err != nil {
		return 0, "", err
	}
	body, err := decodeFramesTo(sc, n, len(ht.ends)-1, ht.decode)
	if err != nil {
		return 0, "", err
	}
	return kind, body, nil
}

// checkGroupedHead checks a codecGrouped head sub-chunk whole (verify):
// its body parses as a head whose skeletons and ids agree with the
// table's groups, counts and variables.
func checkGroupedHead(ch []byte) error {
	if len(ch) < 2 || ch[1] != codecGrouped {
		return nil
	}
	n, k := binary.Uvarint(ch[2:])
	if k <= 0 || n > maxChunkBytes {
		return errors.New("bad body length")
	}
	var ht headTable
	if err := ht.parse(ch[2+k:], n); err != nil {
		return err
	}
	var hw headWriter
	_, body, err := ungroupHead(ch[0], ch[2+k:], n, nil)
	if err != nil {
		return err
	}
	if !hw.groupLike(stringBytes(body), &ht) {
		return fmt.Errorf("%w: the body does not parse as the table's groups", errHead)
	}
	counts, err := ht.decode(len(ht.ends)-1, nil)
	if err != nil {
		return err
	}
	if string(counts) != string(hw.counts) {
		return fmt.Errorf("%w: placeholder counts differ from the skeletons'", errHead)
	}
	return nil
}

// groupLike reports whether head parses into exactly the groups of ht
// (skeletons and rows per group, frame ends, variables per group),
// setting hw.counts.
func (hw *headWriter) groupLike(head []byte, ht *headTable) bool {
	r := reader{s: bytesToString(head)}
	n := r.count(1)
	if r.err != nil || n != ht.skelEnds[len(ht.skelEnds)-1] {
		return false
	}
	hw.nvar = growTo(hw.nvar, n+1)
	hw.nvar[0] = 0
	hw.counts = hw.counts[:0]
	g := 0
	for i := range n {
		sk := r.str()
		if r.err != nil {
			return false
		}
		c := countVars(sk)
		hw.nvar[i+1] = int32(c)
		hw.counts = binary.AppendUvarint(hw.counts, uint64(c))
		if i+1 == ht.skelEnds[g] {
			if r.off != ht.ends[g] {
				return false
			}
			g++
		}
	}
	vars, rows := 0, 0
	for ; r.off < len(head); rows++ {
		id := r.uvarint()
		if r.err != nil || id > uint64(n) {
			return false
		}
		vars += int(hw.nvar[id])
		ig := sort.SearchInts(ht.rowEnds, rows+1)
		if ig >= len(ht.rowEnds) {
			return false
		}
		if rows+1 == ht.rowEnds[ig] && (r.off != ht.ends[ht.nskel()+ig] || vars != ht.varStart[ig+1]) {
			return false
		}
	}
	return rows == ht.rowEnds[len(ht.rowEnds)-1]
}
