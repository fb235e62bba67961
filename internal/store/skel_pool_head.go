package store

// Pooled skeleton heads (codecPooled, part version 6): the head
// sub-chunk of a kindSkeleton chunk laid out exactly as a grouped head
// (codecGrouped, rowload_head.go) with one skeleton group whose frame
// holds, instead of the skeletons' texts,
//
//	uvarint n | n × uvarint entry
//
// the entries of the part's skeleton pool (skel_pool.go) that are the
// block's skeletons 0..n-1. The id groups and the counts frame are those
// of a grouped head, so everything that works with block-local skeleton
// indexes (ids, placeholder counts, variables, filters) is unchanged; only
// the texts come from the pool.

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
)

// codecPooled marks a pooled skeleton head (kindSkeleton head sub-chunks
// only).
const codecPooled byte = 5

// pooledHead appends the codecPooled head sub-chunk of a block whose
// distinct skeletons are skels (pool entries idx) and whose row ids
// (rows × uvarint, 0 absent, else skeleton+1) are ids; false (dst
// unchanged) when the frames do not fit readers' limits.
func pooledHead(dst []byte, skels []string, idx []uint32, ids []byte, lv level) ([]byte, bool) {
	initCodecs()
	hw := headWriters.Get().(*headWriter)
	defer headWriters.Put(hw)
	n := len(skels)
	list := binary.AppendUvarint(hw.counts[:0], uint64(n)) // hw.counts is rebuilt below
	for _, i := range idx {
		list = binary.AppendUvarint(list, uint64(i))
	}
	head := append(list, ids...)
	hw.nvar = growTo(hw.nvar, n+1)
	hw.nvar[0] = 0
	counts := head[len(head):] // after head's bytes
	for i, sk := range skels {
		c := countVars(sk)
		hw.nvar[i+1] = int32(c)
		counts = binary.AppendUvarint(counts, uint64(c))
	}
	hw.skelItems, hw.idRows, hw.idVars = append(hw.skelItems[:0], n), hw.idRows[:0], hw.idVars[:0]
	hw.cuts = append(hw.cuts[:0], len(list))
	if n == 0 || !hw.cutIDs(head, len(list), len(list)) {
		hw.counts = head[:0]
		return dst, false
	}
	raws := hw.frameRaws(head, counts)
	ok := hw.compress(raws, lv) && uint64(len(head)) <= presizeLimit(len(hw.z))
	if ok {
		dst = hw.appendChunk(dst, codecPooled, len(head), raws)
	}
	hw.counts = head[:0] // keep the buffer
	return dst, ok
}

// pooledIndexes reads the entry list (frame 0) of the pooled head whose
// table is ht into dst.
func pooledIndexes(ht *headTable, dst []uint32, buf []byte) ([]uint32, []byte, error) {
	dst, b, off, err := pooledEntries(ht, dst, buf, -1)
	if err == nil && off != len(b) {
		err = fmt.Errorf("%w: %d bytes after the pool entries", errHead, len(b)-off)
	}
	return dst, b, err
}

// pooledEntries decodes the entry list of the pooled head whose table is
// ht into buf and reads its first n entries (n < 0: all of them) into
// dst; off is the offset after the last one read in the list (b).
func pooledEntries(ht *headTable, dst []uint32, buf []byte, n int) (_ []uint32, b []byte, off int, _ error) {
	if ht.nskel() != 1 {
		return dst, buf, 0, fmt.Errorf("%w: %d skeleton groups in a pooled head", errHead, ht.nskel())
	}
	b, err := ht.decode(0, buf[:0])
	if err != nil {
		return dst, buf, 0, err
	}
	all := ht.skelEnds[0]
	r := reader{s: bytesToString(b)}
	if c := r.uvarint(); r.err != nil || c != uint64(all) {
		return dst, b, 0, fmt.Errorf("%w: %d skeletons, the table says %d", errHead, c, all)
	}
	if n < 0 {
		n = all
	} else if n > all {
		return dst, b, 0, fmt.Errorf("%w: skeleton %d of %d", errHead, n, all)
	}
	dst = growTo(dst, n)
	s, off := r.s, r.off
	for i := range dst {
		e, next, ok := shortUvarint(s, off)
		if !ok && off+2 < len(s) && s[off+2] < 0x80 { // entries of pools past 16,384
			e, next, ok = uint64(s[off]&0x7f)|uint64(s[off+1]&0x7f)<<7|uint64(s[off+2])<<14, off+3, true
		}
		if !ok {
			r.off = off
			e, next = r.uvarint(), r.off
		}
		if r.err != nil || e >= poolMaxEntries {
			return dst, b, 0, fmt.Errorf("%w: pool entry of skeleton %d", errHead, i)
		}
		dst[i], off = uint32(e), next
	}
	return dst, b, off, nil
}

// shortUvarint reads the uvarint at s[off:] when it has one or two bytes
// (skeleton ids of blocks of up to 16,383 skeletons): its value and the
// offset after it. ok is false for a longer, cut or missing one: a
// reader then reads it and reports the error.
func shortUvarint(s string, off int) (v uint64, next int, ok bool) {
	if off < len(s) && s[off] < 0x80 {
		return uint64(s[off]), off + 1, true
	}
	if off+1 < len(s) && s[off+1] < 0x80 {
		return uint64(s[off]&0x7f) | uint64(s[off+1])<<7, off + 2, true
	}
	return 0, off, false
}

// decodePooled decodes a whole codecPooled head sub-chunk (its bytes
// after the kind and codec are data, its body length n) into sb: the
// skeletons from pool, the ids of rows rows.
func (sb *skelBlock) decodePooled(data []byte, n uint64, rows int, pool *partPool) error {
	ht := &sb.ht
	if err := ht.parse(data, n); err != nil {
		return err
	}
	if got := ht.rowEnds[len(ht.rowEnds)-1]; got != rows {
		return fmt.Errorf("%w: %d rows of ids for %d", errHead, got, rows)
	}
	// The entry list and the ids are read from one buffer, kept for the
	// next block: nothing points into it afterwards.
	bp := idBufs.Get().(*[]byte)
	defer idBufs.Put(bp)
	var err error
	var list []byte
	if sb.pidx, list, err = pooledIndexes(ht, sb.pidx, *bp); err != nil {
		return err
	}
	if cap(list) > cap(*bp) {
		*bp = list // grown; else a view of *bp limited to the frame (decodeFrame)
	}
	sb.skels = growTo(sb.skels, len(sb.pidx))
	if err := pool.resolve(sb.pidx, sb.skels); err != nil {
		return err
	}
	sb.pool = pool
	// The id frames, each decoded into the room the buffer has for all of
	// them (decodeFrame would limit the capacity to each frame's and grow
	// the buffer for the next one).
	size := n - uint64(ht.ends[0]) // bounded by the table's parse
	dst := (*bp)[:0]
	if uint64(cap(dst)) < size+frameSlack {
		dst = make([]byte, 0, size+frameSlack)
	}
	for f := 1; f < len(ht.ends)-1; f++ {
		if dst, err = decodeFrameSlack(ht.frame(f), dst, ht.rawLen(f)); err != nil {
			return fmt.Errorf("%w: frame %d: %w", errHead, f, err)
		}
	}
	*bp = dst
	return sb.readIDs(bytesToString(dst), rows)
}

// idBufs holds the buffers decodePooled decodes a head's entry list and
// ids into.
var idBufs = sync.Pool{New: func() any { return new([]byte) }}

// readIDs reads rows ids (uvarint each) that fill ids. Ids of one or
// two bytes (blocks of up to 16,383 skeletons) are read inline.
func (sb *skelBlock) readIDs(ids string, rows int) error {
	sb.ids = growTo(sb.ids, rows)
	out := sb.ids[:rows]
	ns := uint64(len(sb.skels))
	// With 127 skeletons or more every one-byte id is valid: eight ids
	// of one byte (a word without a high bit) are copied at once; in a
	// word with a high bit, the bytes before the first such byte are
	// (all eight are written, the rest again by the ids read after).
	words := ns >= 0x7f
	off := 0
	for i := 0; i < len(out); i++ {
		if words && i+8 <= len(out) && off+8 <= len(ids) {
			x := le64(ids[off : off+8])
			o := out[i : i+8 : i+8]
			o[0], o[1], o[2], o[3] = uint32(x&0xff), uint32(x>>8&0xff), uint32(x>>16&0xff), uint32(x>>24&0xff)
			o[4], o[5], o[6], o[7] = uint32(x>>32&0xff), uint32(x>>40&0xff), uint32(x>>48&0xff), uint32(x>>56)
			hb := x & 0x8080808080808080
			if hb == 0 {
				i += 7
				off += 8
				continue
			}
			p := bits.TrailingZeros64(hb) >> 3 // one-byte ids before it
			i += p
			off += p
		}
		id, next, ok := shortUvarint(ids, off)
		if !ok {
			r := reader{s: ids, off: off}
			id = r.uvarint()
			if r.err != nil {
				return fmt.Errorf("%w: %w", errSkeleton, r.err)
			}
			next = r.off
		}
		off = next
		if id > ns {
			return fmt.Errorf("%w: skeleton %d out of %d", errSkeleton, id, ns)
		}
		out[i] = uint32(id)
	}
	if off != len(ids) {
		return fmt.Errorf("%w: %d trailing bytes", errSkeleton, len(ids)-off)
	}
	return nil
}

// splitSkeletonChunk returns the head and vars sub-chunks of kindSkeleton
// chunk ch (codec none), or false.
func splitSkeletonChunk(ch []byte) (head, vars []byte, ok bool) {
	if len(ch) < 2 || ch[0] != kindSkeleton || ch[1] != codecNone {
		return nil, nil, false
	}
	n, k := binary.Uvarint(ch[2:])
	if k <= 0 || n != uint64(len(ch)-2-k) {
		return nil, nil, false
	}
	body := ch[2+k:]
	hl, k := binary.Uvarint(body)
	if k <= 0 || hl > uint64(len(body)-k) || hl < 2 {
		return nil, nil, false
	}
	return body[k : k+int(hl)], body[k+int(hl):], true
}

// appendSkeletonChunk appends the kindSkeleton chunk of sub-chunks head
// and vars to dst.
func appendSkeletonChunk(dst, head, vars []byte) []byte {
	var pre [binary.MaxVarintLen64]byte
	np := binary.PutUvarint(pre[:], uint64(len(head)))
	dst = append(dst, kindSkeleton, codecNone)
	dst = binary.AppendUvarint(dst, uint64(np+len(head)+len(vars)))
	dst = append(dst, pre[:np]...)
	dst = append(dst, head...)
	return append(dst, vars...)
}

// repool appends to dst the column chunk ch of a block copied from a part
// whose pool is src into a part whose pool pb builds: a pooled head's
// entries are renumbered into pb (the id groups, counts and variables
// stay byte for byte), or, when pb is full, the head gets its texts back
// (codecGrouped or one frame). Other chunks are left as they are: false
// (dst unchanged) when ch is one of them.
func repool(dst, ch []byte, src *partPool, pb *poolBuilder, lv level) ([]byte, bool, error) {
	head, vars, ok := splitSkeletonChunk(ch)
	if !ok || head[0] != kindSkeleton || head[1] != codecPooled {
		return dst, false, nil
	}
	n, k := binary.Uvarint(head[2:])
	if k <= 0 || n > maxChunkBytes {
		return dst, false, fmt.Errorf("%w: body length", errHead)
	}
	var ht headTable
	if err := ht.parse(head[2+k:], n); err != nil {
		return dst, false, err
	}
	idx, _, err := pooledIndexes(&ht, nil, nil)
	if err != nil {
		return dst, false, err
	}
	texts := make([]string, len(idx))
	if err := src.resolve(idx, texts); err != nil {
		return dst, false, err
	}
	initCodecs()
	var sub []byte
	if !pb.off && pb.fits(texts) {
		for j, t := range texts {
			idx[j], _ = pb.add(t)
		}
		list := binary.AppendUvarint(nil, uint64(len(idx)))
		for _, i := range idx {
			list = binary.AppendUvarint(list, uint64(i))
		}
		z := encoders[lv].EncodeAll(list, nil)
		sub = appendRepooled(nil, &ht, list, z)
	} else {
		ids, err := decodeFramesTo(nil, n-uint64(ht.ends[0]), len(ht.ends)-2, func(i int, dst []byte) ([]byte, error) {
			return ht.decode(i+1, dst)
		})
		if err != nil {
			return dst, false, err
		}
		body := binary.AppendUvarint(nil, uint64(len(texts)))
		for _, t := range texts {
			body = appendStr(body, t)
		}
		body = append(body, ids...)
		var s skeletoner
		sub = s.headChunk(nil, body, lv)
	}
	return appendSkeletonChunk(dst, sub, vars), true, nil
}

// appendRepooled appends the codecPooled head of table ht with its entry
// frame replaced by list (compressed: z).
func appendRepooled(dst []byte, ht *headTable, list, z []byte) []byte {
	nf := len(ht.ends)
	dst = append(dst, kindSkeleton, codecPooled)
	dst = binary.AppendUvarint(dst, uint64(ht.size-ht.rawLen(0)+len(list)))
	dst = binary.AppendUvarint(dst, 1)
	dst = binary.AppendUvarint(dst, uint64(ht.skelEnds[0]))
	dst = binary.AppendUvarint(dst, uint64(len(ht.rowEnds)))
	prev := 0
	for _, e := range ht.rowEnds {
		dst = binary.AppendUvarint(dst, uint64(e-prev))
		prev = e
	}
	for g := range ht.rowEnds {
		dst = binary.AppendUvarint(dst, uint64(ht.varStart[g+1]-ht.varStart[g]))
	}
	dst = binary.AppendUvarint(dst, uint64(len(list)))
	for i := 1; i < nf; i++ {
		dst = binary.AppendUvarint(dst, uint64(ht.rawLen(i)))
	}
	dst = binary.AppendUvarint(dst, uint64(len(z)))
	for i := 1; i < nf; i++ {
		dst = binary.AppendUvarint(dst, uint64(len(ht.frame(i))))
	}
	dst = append(dst, z...)
	return append(dst, ht.frames[ht.zends[0]:]...)
}

// checkPooledHead checks the pooled head of kindSkeleton chunk ch
// (verify): its table, every entry in the pool, and that the counts and
// the id groups' variables agree with the skeletons the entries resolve
// to. nil for other chunks.
func checkPooledHead(ch []byte, rows int, pool *partPool) error {
	head, _, ok := splitSkeletonChunk(ch)
	if !ok || head[0] != kindSkeleton || head[1] != codecPooled {
		return nil
	}
	n, k := binary.Uvarint(head[2:])
	if k <= 0 || n > maxChunkBytes {
		return fmt.Errorf("%w: body length", errHead)
	}
	sb := skelPool.Get().(*skelBlock)
	defer sb.release()
	if err := sb.decodePooled(head[2+k:], n, rows, pool); err != nil {
		return err
	}
	ht := &sb.ht
	counts, err := ht.decode(len(ht.ends)-1, nil)
	if err != nil {
		return err
	}
	if err := sb.count(); err != nil {
		return err
	}
	var want []byte
	for _, c := range sb.nvar[1:] {
		want = binary.AppendUvarint(want, uint64(c))
	}
	if string(counts) != string(want) {
		return fmt.Errorf("%w: placeholder counts differ from the pooled skeletons'", errHead)
	}
	for g := range ht.rowEnds {
		if int(sb.vstart[ht.rowEnds[g]]) != ht.varStart[g+1] {
			return fmt.Errorf("%w: id group %d: variables differ from the table's", errHead, g)
		}
	}
	return nil
}
