package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// Row-wise loads of a kindSkeleton chunk whose head is grouped
// (codecGrouped, rowload_head.go): only the frames of the listed rows'
// id groups, the counts frame and the frames of their skeletons are
// decoded.

// groupedHeadOf splits kindSkeleton chunk ch into its head and vars
// sub-chunks; ok when the head is grouped (codecGrouped or codecPooled:
// the same table).
func groupedHeadOf(ch []byte) (head, vars []byte, ok bool) {
	head, vars, ok = splitSkeletonChunk(ch)
	if !ok || head[0] != kindSkeleton || head[1] != codecGrouped && head[1] != codecPooled {
		return nil, nil, false // decodeHead reports it
	}
	return head, vars, true
}

// decodeGroupedRows sets sb up for the listed rows (ascending, inside
// rows) of a block whose skeleton head is the grouped sub-chunk head and
// whose variables are vars: the listed rows' ids and first variables
// (vstart[r] and vstart[r+1]), the total of variables (vstart[rows]),
// the placeholder counts and the skeletons of the groups those rows use
// (the others ""). Other entries of ids and vstart are not set.
func (sb *skelBlock) decodeGroupedRows(head, vars []byte, rows int, listed []int, pool *partPool) error {
	n, k := binary.Uvarint(head[2:])
	if k <= 0 || n > maxChunkBytes {
		return fmt.Errorf("%w: body length", errHead)
	}
	ht := &sb.ht
	if err := ht.parse(head[2+k:], n); err != nil {
		return err
	}
	if got := ht.rowEnds[len(ht.rowEnds)-1]; got != rows {
		return fmt.Errorf("%w: %d rows of ids for %d", errHead, got, rows)
	}
	if total := ht.varStart[len(ht.rowEnds)]; total > math.MaxInt32 {
		return fmt.Errorf("%w: %d variables", errHead, total)
	}
	if len(vars) == 0 || vars[0] != kindSkeleton {
		return fmt.Errorf("%w: sub-chunk kinds", errSkeleton)
	}
	sb.vars = vars
	sc := sb.scratch()
	buf, err := ht.decode(len(ht.ends)-1, sc.body[:0])
	if err != nil {
		return err
	}
	sc.body = buf
	nskel := ht.skelEnds[len(ht.skelEnds)-1]
	if err := sb.counts(bytesToString(buf), nskel); err != nil {
		return err
	}
	sb.skels = growTo(sb.skels, nskel)
	clear(sb.skels)
	sb.ids = growTo(sb.ids, rows)
	sb.vstart = growTo(sb.vstart, rows+1)
	sb.vstart[rows] = int32(ht.varStart[len(ht.rowEnds)])
	if err := sb.groupedIDs(listed); err != nil {
		return err
	}
	if head[1] == codecPooled {
		if err := sb.pooledRows(head, listed, pool); err != nil {
			return err
		}
		sb.counted, sb.loaded = true, false
		return nil
	}
	done := make([]bool, len(ht.skelEnds)) // skeleton groups decoded
	for _, r := range listed {
		id := int(sb.ids[r])
		if id == 0 {
			continue
		}
		g := sort.SearchInts(ht.skelEnds, id)
		if done[g] {
			continue
		}
		if err := sb.skelGroup(g); err != nil {
			return err
		}
		done[g] = true
	}
	sb.counted, sb.loaded = true, false
	return nil
}

// counts reads the placeholder counts of the nskel skeletons into
// sb.nvar (nvar[0] = 0, for absent rows).
func (sb *skelBlock) counts(b string, nskel int) error {
	sb.nvar = growTo(sb.nvar, nskel+1)
	sb.nvar[0] = 0
	r := reader{s: b}
	for i := 1; i <= nskel; i++ {
		c := r.uvarint()
		if r.err != nil || c > maxChunkBytes {
			return fmt.Errorf("%w: placeholder count of skeleton %d", errHead, i-1)
		}
		sb.nvar[i] = int32(c)
	}
	if r.off != len(b) {
		return fmt.Errorf("%w: %d bytes after the placeholder counts", errHead, len(b)-r.off)
	}
	return nil
}

// groupedIDs reads the listed rows' ids and first variables from their
// id groups' frames.
func (sb *skelBlock) groupedIDs(listed []int) error {
	ht := &sb.ht
	nvar := sb.nvar
	nskel := uint64(len(nvar) - 1)
	total := int64(sb.vstart[len(sb.vstart)-1])
	g, row, v := -1, 0, int64(0)
	var s string // the id group's frame
	off := 0
	for _, want := range listed {
		if ig := sort.SearchInts(ht.rowEnds, want+1); ig != g {
			if ig >= len(ht.rowEnds) {
				return fmt.Errorf("%w: row %d past the ids", errHead, want)
			}
			sc := sb.scratch()
			b, err := ht.decode(ht.nskel()+ig, sc.body[:0])
			if err != nil {
				return err
			}
			sc.body = b
			g, s, off = ig, bytesToString(b), 0
			row, v = 0, int64(ht.varStart[ig])
			if ig > 0 {
				row = ht.rowEnds[ig-1]
			}
		}
		for ; row <= want; row++ {
			id, next, ok := shortUvarint(s, off) // ids of one or two bytes inline
			if !ok {
				r := reader{s: s, off: off}
				id, next = r.uvarint(), r.off
				if r.err != nil {
					id = nskel + 1
				}
			}
			if id > nskel {
				return fmt.Errorf("%w: id of row %d (group %d)", errHead, row, g)
			}
			off = next
			if row == want {
				sb.ids[row] = uint32(id)
				sb.vstart[row] = int32(v)
				sb.vstart[row+1] = int32(v + int64(nvar[id]))
			}
			v += int64(nvar[id])
			if v > total {
				return fmt.Errorf("%w: variables of row %d past the table's %d", errHead, row, total)
			}
		}
	}
	return nil
}

// skelGroup decodes skeleton group g into sb.skels.
func (sb *skelBlock) skelGroup(g int) error {
	ht := &sb.ht
	sc := sb.scratch()
	b, err := ht.decode(g, sc.body[:0])
	if err != nil {
		return err
	}
	sc.body = b
	r := reader{s: bytesToString(b)}
	first := 0
	if g == 0 {
		if n := r.uvarint(); r.err != nil || n != uint64(len(sb.skels)) {
			return fmt.Errorf("%w: %d skeletons, the table says %d", errHead, n, len(sb.skels))
		}
	} else {
		first = ht.skelEnds[g-1]
	}
	for i := first; i < ht.skelEnds[g]; i++ {
		sb.skels[i] = r.str()
		if r.err != nil {
			return fmt.Errorf("%w: skeleton %d: %w", errHead, i, r.err)
		}
	}
	if r.off != len(b) {
		return fmt.Errorf("%w: skeleton group %d: %d bytes after its skeletons", errHead, g, len(b)-r.off)
	}
	return nil
}

// pooledRows sets the skeletons of the listed rows (ids read) of a
// pooled head from the part's pool: only the pool frames of those.
func (sb *skelBlock) pooledRows(head []byte, listed []int, pool *partPool) error {
	sc := sb.scratch()
	last := 0 // the largest id of the listed rows
	for _, r := range listed {
		last = max(last, int(sb.ids[r]))
	}
	var err error
	if sb.pidx, sc.body, err = pooledIndexesTo(&sb.ht, sb.pidx, sc.body, last); err != nil {
		return err
	}
	var one [1]string
	for _, r := range listed {
		id := int(sb.ids[r])
		if id == 0 || sb.skels[id-1] != "" {
			continue
		}
		if err := pool.resolve(sb.pidx[id-1:id], one[:]); err != nil {
			return err
		}
		sb.skels[id-1] = one[0]
	}
	sb.pool = pool
	return nil
}

// pooledIndexesTo is pooledIndexes reading the entry list only up to
// skeleton n (ids 1 to n; the row-wise load's rows use no other): dst
// gets n entries, and the list past them is left unread (unchecked, as
// the bytes of a body past the listed rows' are).
func pooledIndexesTo(ht *headTable, dst []uint32, buf []byte, n int) ([]uint32, []byte, error) {
	dst, b, _, err := pooledEntries(ht, dst, buf, n)
	return dst, b, err
}
