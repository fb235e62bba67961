package store

// Reading kindSkeleton chunks (the format is described in enc_skel.go).

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"sync"
	"unsafe"
)

// skelBlock is a decoded skeleton chunk: the head at once, the
// placeholder counts and the variables on first use. Strings point into
// the scratches it holds until release.
type skelBlock struct {
	skels   []string
	nvar    []int32  // placeholders per skeleton index+1 (counted; nvar[0] = 0)
	ids     []uint32 // per row: 0 absent, else skeleton index+1
	vstart  []int32  // per row and one more: index of the row's first variable (counted)
	counted bool     // nvar and vstart are set
	vars    []byte   // the vars sub-chunk, not decoded yet
	voff    []int32  // per variable and one more: offset in vb
	vb      string
	loaded  bool
	sc      []*colScratch
	// The skeletons compiled for expansion (raw_skel.go).
	plans []skelPlan // by skeleton
	lits  []string
	holes []int32
	ht    headTable // of a grouped head read by rows (rowload_skel.go)
	// A pooled head's (skel_pool_head.go): the pool entry of each
	// skeleton, and the part's pool.
	pidx []uint32
	pool *partPool
}

var skelPool = sync.Pool{New: func() any { return new(skelBlock) }}

// decodeSkeletonHead decodes the head of kindSkeleton chunk ch (CRC
// checked) of rows rows; pool is the pool of the chunk's part (nil: none),
// which a pooled head names.
func decodeSkeletonHead(ch []byte, rows int, pool *partPool) (*skelBlock, error) {
	sb := skelPool.Get().(*skelBlock)
	if err := sb.decodeHead(ch, rows, pool); err != nil {
		sb.release()
		return nil, fmt.Errorf("decode column: %w", err)
	}
	return sb, nil
}

func (sb *skelBlock) scratch() *colScratch {
	sc := getScratch()
	sb.sc = append(sb.sc, sc)
	return sc
}

func (sb *skelBlock) decodeHead(ch []byte, rows int, pool *partPool) error {
	kind, body, err := chunkBodyTo(ch, sb.scratch())
	if err != nil {
		return err
	}
	if kind != kindSkeleton {
		return fmt.Errorf("%w: kind %d", errSkeleton, kind)
	}
	r := &reader{s: body}
	hl := r.uvarint()
	if r.err != nil || hl > uint64(len(body)-r.off) {
		return fmt.Errorf("%w: head length", errSkeleton)
	}
	headCh := stringBytes(body[r.off : r.off+int(hl)])
	sb.vars = stringBytes(body[r.off+int(hl):])
	if len(headCh) == 0 || headCh[0] != kindSkeleton || len(sb.vars) == 0 || sb.vars[0] != kindSkeleton {
		return fmt.Errorf("%w: sub-chunk kinds", errSkeleton)
	}
	sb.loaded, sb.counted = false, false
	if len(headCh) > 1 && headCh[1] == codecPooled {
		n, k := binary.Uvarint(headCh[2:])
		if k <= 0 || n > maxChunkBytes {
			return fmt.Errorf("skeleton head: %w: body length", errHead)
		}
		if err := sb.decodePooled(headCh[2+k:], n, rows, pool); err != nil {
			return fmt.Errorf("skeleton head: %w", err)
		}
		return nil
	}
	_, head, err := chunkBodyTo(headCh, sb.scratch())
	if err != nil {
		return fmt.Errorf("skeleton head: %w", err)
	}
	r = &reader{s: head}
	n := r.count(1)
	sb.skels = sb.skels[:0]
	for range n {
		sk := r.str()
		if r.err != nil {
			break
		}
		sb.skels = append(sb.skels, sk)
	}
	if r.err != nil {
		return fmt.Errorf("%w: %w", errSkeleton, r.err)
	}
	return sb.readIDs(head[r.off:], rows)
}

// count sets the placeholders per skeleton and each row's first
// variable, once.
func (sb *skelBlock) count() error {
	if sb.counted {
		return nil
	}
	// nvar[0] is for absent rows (id 0): no branch per row.
	sb.nvar = growTo(sb.nvar, len(sb.skels)+1)
	nvar := sb.nvar
	nvar[0] = 0
	for i, sk := range sb.skels {
		nvar[i+1] = int32(countVars(sk))
	}
	rows := len(sb.ids)
	sb.vstart = growTo(sb.vstart, rows+1)
	vstart := sb.vstart[:rows+1]
	vstart[0] = 0
	nv := int64(0) // no row has more than 2^31 variables: no wrap per row
	for i, id := range sb.ids {
		if int(id) >= len(nvar) {
			return fmt.Errorf("%w: skeleton %d out of %d", errSkeleton, id, len(sb.skels))
		}
		nv += int64(nvar[id])
		vstart[i+1] = int32(nv)
	}
	if nv > math.MaxInt32 {
		return fmt.Errorf("%w: too many variables", errSkeleton)
	}
	sb.counted = true
	return nil
}

// growTo returns s resized to n, reallocated (zeroed) only when too
// small: the old contents are kept.
func growTo[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// countVars returns the number of placeholders of skeleton sk. Without
// an escaped 0x01 (0x01 0x01) every 0x01 starts an escape, so the
// placeholders are the pairs 0x01 0x00, counted eight bytes at a time.
func countVars(sk string) int {
	const ones = 0x0101010101010101
	b := stringBytes(sk)
	n, i := 0, 0
	for ; i+9 <= len(b); i += 8 {
		e := zeroBytes(binary.LittleEndian.Uint64(b[i:]) ^ ones) // 0x01 bytes
		if e == 0 {
			continue
		}
		next := binary.LittleEndian.Uint64(b[i+1:])
		if e&zeroBytes(next^ones) != 0 {
			return countVarsSlow(sk) // an escaped 0x01
		}
		n += bits.OnesCount64(e & zeroBytes(next))
	}
	for ; i+1 < len(b); i++ {
		if b[i] == tmplEsc {
			switch b[i+1] {
			case tmplEsc:
				return countVarsSlow(sk)
			case tmplVar:
				n++
			}
		}
	}
	return n
}

// countVarsSlow is countVars one escape at a time.
func countVarsSlow(sk string) int {
	n := 0
	for {
		i := indexEsc(sk)
		if i < 0 || i+1 >= len(sk) {
			return n
		}
		if sk[i+1] == tmplVar {
			n++
		}
		sk = sk[i+2:]
	}
}

// appendTemplate appends the template of row (present; loadVars done).
func (sb *skelBlock) appendTemplate(dst []byte, row int) []byte {
	sk := sb.skels[sb.ids[row]-1]
	v := sb.vstart[row]
	for {
		i := indexEsc(sk)
		if i < 0 {
			return append(dst, sk...)
		}
		if i+1 < len(sk) && sk[i+1] == tmplVar {
			dst = append(dst, sk[:i]...)
			dst = append(dst, sb.vb[sb.voff[v]:sb.voff[v+1]]...)
			v++
		} else {
			dst = append(dst, sk[:min(i+2, len(sk))]...)
		}
		sk = sk[min(i+2, len(sk)):]
	}
}

// stringBytes returns the bytes of s without a copy, for reading only.
func stringBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s)) // #nosec G103 -- read-only view of a decoded body
}

func indexEsc(s string) int { return strings.IndexByte(s, tmplEsc) }

// templates decodes every row's template (only those of only, when not
// nil) into buf: the values, the absent rows (nil: none) and buf.
func (sb *skelBlock) templates(vals []string, only []int, buf []byte) ([]string, []bool, []byte, error) {
	if err := sb.loadVars(); err != nil {
		return nil, nil, buf, err
	}
	rows := len(sb.ids)
	var absent []bool
	for i, id := range sb.ids {
		if id == 0 {
			absent = setAbsent(absent, rows, i)
		}
	}
	size := 0
	each := func(f func(r int)) {
		if only == nil {
			for r := range rows {
				f(r)
			}
			return
		}
		for _, r := range only {
			if r >= 0 && r < rows {
				f(r)
			}
		}
	}
	each(func(r int) {
		if id := sb.ids[r]; id > 0 {
			size += len(sb.skels[id-1]) + int(sb.voff[sb.vstart[r+1]]-sb.voff[sb.vstart[r]])
		}
	})
	if cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	buf = buf[:0]
	clear(vals)
	each(func(r int) {
		if sb.ids[r] == 0 {
			return
		}
		a := len(buf)
		buf = sb.appendTemplate(buf, r)
		vals[r] = bytesToString(buf[a:]) // buf never moves: sized above
	})
	return vals, absent, buf, nil
}

// release gives the scratches and sb back.
func (sb *skelBlock) release() {
	for _, sc := range sb.sc {
		putScratch(sc)
	}
	clear(sb.sc)
	clear(sb.skels)
	clear(sb.lits)
	clear(sb.plans)
	sb.plans, sb.lits, sb.holes = sb.plans[:0], sb.lits[:0], sb.holes[:0]
	sb.sc, sb.skels, sb.vars, sb.vb, sb.loaded, sb.counted = sb.sc[:0], sb.skels[:0], nil, "", false, false
	sb.ht.frames, sb.pool, sb.pidx = nil, nil, sb.pidx[:0]
	skelPool.Put(sb)
}

// decodeSkeletons decodes kindSkeleton chunk ch of the loader's block into
// templates, like decodeColumnRows for kindTemplate: only the rows of
// l.rows when set (the others empty). The values live until the loader is
// released.
func (l *blockLoader) decodeSkeletons(ch []byte) ([]string, []bool, error) {
	rows := int(l.bm.rows)
	sb, err := decodeSkeletonHead(ch, rows, l.p.pool)
	if err != nil {
		return nil, nil, err
	}
	defer sb.release()
	sc := l.newScratch()
	// The values array is the column's (expandRaw works in place).
	vals, absent, buf, err := sb.templates(make([]string, rows), l.rows, sc.ints[:0])
	sc.ints = buf // kind 8 has no ints: the scratch's byte buffer holds the templates
	if err != nil {
		return nil, nil, fmt.Errorf("decode column: %w", err)
	}
	return vals, absent, nil
}
