package store

import (
	"fmt"
	"math/bits"
	"slices"
)

// IPv4Rows reads single rows of a block's ipv4 column (version 3 body:
// flags, absence bitmap, four byte planes) straight from the stored
// planes, without decoding the column: a search that needs the
// addresses of a few scattered rows (the rows a regexp window reaches)
// pays the body's decompression and a rank index of the absence bitmap
// (one word per 64 rows), not a pass over every row.
//
// An IPv4Rows is valid until the next load into its IPv4RowsBuf; one
// loaded through a BlockBodies (BodyKeeper) reads the body the
// BlockBodies keeps, and is valid only while it holds the block.
type IPv4Rows struct {
	planes string   // n first octets, n second, n third, n fourth
	n      int      // present rows
	rows   int      // rows of the block
	absent []uint64 // bit i%64 of word i/64 set: row i absent; nil when all present
	rank   []int32  // with absent: present rows before word w
}

// IPv4RowsBuf holds reusable buffers for IPv4RowLoader.LoadIPv4Rows; the
// zero value is ready to use. Not safe for concurrent use.
type IPv4RowsBuf struct {
	sc colScratch
	r  IPv4Rows
}

// IPv4RowLoader is implemented by the BlockRefs of parts (type-assert a
// BlockRef for it).
type IPv4RowLoader interface {
	// LoadIPv4Rows returns column name of the block for reading rows
	// one at a time; ok is false when the block does not store the
	// column with the ipv4 kind.
	LoadIPv4Rows(name string, buf *IPv4RowsBuf) (r *IPv4Rows, ok bool, err error)
}

// LoadIPv4Rows implements IPv4RowLoader.
func (r *partRef) LoadIPv4Rows(name string, buf *IPv4RowsBuf) (*IPv4Rows, bool, error) {
	p, i := r.p, r.i
	body, ok, err := p.ipv4Body(r.bb, i, name, &buf.sc) // the block's body once per BlockBodies
	if !ok || err != nil {
		return nil, false, err
	}
	if err := buf.r.reset(body, int(p.blocks[i].rows)); err != nil {
		return nil, false, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
	}
	return &buf.r, true, nil
}

// reset points r at an ipv4 body of rows values, checked as
// decodeIPv4To checks it.
func (r *IPv4Rows) reset(body string, rows int) error {
	r.planes, r.n, r.rows, r.absent = "", 0, 0, r.absent[:0]
	if len(body) < 1 {
		return fmt.Errorf("%w: %w", errIPv4, errShort)
	}
	if rows < 0 {
		return fmt.Errorf("%w: %d rows", errIPv4, rows)
	}
	flags, rest := body[0], body[1:]
	if flags&^ipv4HasAbsent != 0 {
		return fmt.Errorf("%w: unknown flags %#x", errIPv4, flags)
	}
	n := rows
	if flags&ipv4HasAbsent != 0 {
		m := (rows + 7) / 8
		if len(rest) < m {
			return fmt.Errorf("%w: absence bitmap of %d bytes, want %d: %w", errIPv4, len(rest), m, errShort)
		}
		words := (rows + 63) / 64
		r.absent = slices.Grow(r.absent[:0], words)[:words]
		r.rank = slices.Grow(r.rank[:0], words)[:words]
		for w := range words {
			var x uint64
			if b := rest[8*w : min(8*w+8, m)]; len(b) == 8 {
				x = uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
					uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
			} else {
				for k := 0; k < len(b); k++ { // not range: b is a string
					x |= uint64(b[k]) << (8 * k)
				}
			}
			if k := rows - 64*w; k < 64 {
				x &= 1<<k - 1 // bits past the rows do not count
			}
			r.absent[w], r.rank[w] = x, int32(64*w-(rows-n))
			n -= bits.OnesCount64(x)
		}
		rest = rest[m:]
	}
	if len(rest) != 4*n {
		return fmt.Errorf("%w: %d bytes of addresses for %d present rows of %d", errIPv4, len(rest), n, rows)
	}
	if flags&ipv4HasAbsent == 0 {
		r.absent = nil
	}
	r.planes, r.n, r.rows = rest, n, rows
	return nil
}

// Rows returns the number of rows of the block.
func (r *IPv4Rows) Rows() int { return r.rows }

// At returns the address of row i; false when the row lacks the field
// or i is not a row of the block.
func (r *IPv4Rows) At(i int) (uint32, bool) {
	if uint(i) >= uint(r.rows) {
		return 0, false
	}
	j := i
	if r.absent != nil {
		w := r.absent[i>>6]
		if w>>(i&63)&1 != 0 {
			return 0, false
		}
		j = int(r.rank[i>>6]) + i&63 - bits.OnesCount64(w&(1<<(i&63)-1))
	}
	p, n := r.planes, r.n
	return uint32(p[j])<<24 | uint32(p[n+j])<<16 | uint32(p[2*n+j])<<8 | uint32(p[3*n+j]), true
}
