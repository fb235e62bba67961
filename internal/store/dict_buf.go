package store

import (
	"fmt"
	"unsafe"
)

// DictBuf holds reusable decoding buffers for BufLoader: a scan that keeps
// one per goroutine decodes coded and IPv4 columns without allocating
// per block. The zero value is ready to use; a DictBuf is not safe for
// concurrent use.
type DictBuf struct {
	sc     colScratch // the decompressed body
	dc     DictColumn
	dict   []string
	codes  []uint16
	ip     IPv4Column
	addrs  []uint32
	absent []bool
	// narrow: codes of one byte are left as stored, in codes8
	// (LoadDictBytes).
	narrow bool
	codes8 []byte
	packed []byte // codes8 of a codecPacked chunk
	allow  []bool // by code (ValueCounter)
	// lazy: packed codes are left packed, in pc (LoadDictCodes).
	lazy  bool
	pc    PackedCodes
	hasPC bool
}

// clear forgets the last decode.
func (b *DictBuf) clear() {
	b.dc, b.codes8, b.hasPC = DictColumn{}, nil, false
}

// PackedCodes are the bit-packed codes of a column (LoadDictCodes), read
// without expanding them first. Valid until the next use of the DictBuf
// they were loaded into.
type PackedCodes struct {
	pk  packedDict
	buf *DictBuf
}

// Len returns the number of rows.
func (pc *PackedCodes) Len() int { return pc.pk.rows }

// MarkEq sets keep[i] (set) or narrows it (!set) to whether row i's code
// is c (0: rows without the field), and reports whether any row is left.
// len(keep) must be Len().
func (pc *PackedCodes) MarkEq(keep []bool, c byte, set bool) bool {
	if len(keep) != pc.pk.rows {
		panic("BUG: PackedCodes.MarkEq: keep of another length")
	}
	return pc.pk.markEq(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(keep))), len(keep)), c, set) // #nosec G103 -- a bool is one byte, 0 or 1
}

// Bytes returns the codes one byte a row (as LoadDictBytes gives them),
// in the DictBuf's memory.
func (pc *PackedCodes) Bytes() []byte {
	pc.buf.packed = pc.pk.expand8(pc.buf.packed)
	return pc.buf.packed
}

// BufLoader is implemented by the BlockRefs of parts (type-assert a
// BlockRef for it): ColumnLoader.LoadDict and IPv4Loader.LoadIPv4 into a
// caller's buffers. A result, its slices and its strings are valid only
// until the next call with the same DictBuf (a cached constant column may
// be shared: callers must not modify a result).
type BufLoader interface {
	// LoadDictTo is ColumnLoader.LoadDict decoding into buf.
	LoadDictTo(name string, buf *DictBuf) (*DictColumn, error)
	// LoadDictBytes is LoadDictTo that leaves the codes as stored when
	// each is one byte (fewer than 128 values): it returns them, and the
	// DictColumn without Codes. Otherwise the codes are nil and the
	// DictColumn is LoadDictTo's.
	LoadDictBytes(name string, buf *DictBuf) (*DictColumn, []byte, error)
	// LoadDictCodes is LoadDictBytes that leaves bit-packed codes
	// (codecPacked) packed: it returns them as PackedCodes and nil
	// codes8. At most one of codes8 and packed is set.
	LoadDictCodes(name string, buf *DictBuf) (dc *DictColumn, codes8 []byte, packed *PackedCodes, err error)
	// LoadIPv4To is IPv4Loader.LoadIPv4 decoding into buf.
	LoadIPv4To(name string, buf *DictBuf) (*IPv4Column, error)
	// LoadIPv4Where returns, in row order, the addresses of the rows
	// marked in keep (nil: every row; else one flag per row) that have
	// the field, and the number of rows marked; ok is false when the
	// block does not store the column with the ipv4 kind. Only the
	// marked rows' addresses are decoded.
	LoadIPv4Where(name string, keep []bool, buf *DictBuf) (addrs []uint32, marked int, ok bool, err error)
}

// LoadDictTo implements BufLoader.
func (r *partRef) LoadDictTo(name string, buf *DictBuf) (*DictColumn, error) {
	if buf == nil {
		buf = new(DictBuf)
	}
	return r.p.loadDictTo(r.i, name, buf)
}

// LoadDictBytes implements BufLoader.
func (r *partRef) LoadDictBytes(name string, buf *DictBuf) (*DictColumn, []byte, error) {
	if buf == nil {
		buf = new(DictBuf)
	}
	buf.narrow, buf.codes8 = true, nil
	dc, err := r.p.loadDictTo(r.i, name, buf)
	buf.narrow = false
	if err != nil || dc == nil || dc != &buf.dc {
		return dc, nil, err // a cached constant is not buf's
	}
	return dc, buf.codes8, nil
}

// LoadDictCodes implements BufLoader.
func (r *partRef) LoadDictCodes(name string, buf *DictBuf) (*DictColumn, []byte, *PackedCodes, error) {
	if buf == nil {
		buf = new(DictBuf)
	}
	buf.lazy = true
	dc, codes8, err := r.LoadDictBytes(name, buf)
	buf.lazy = false
	if err != nil || dc == nil || dc != &buf.dc || !buf.hasPC {
		return dc, codes8, nil, err
	}
	return dc, nil, &buf.pc, nil
}

// LoadIPv4To implements BufLoader.
func (r *partRef) LoadIPv4To(name string, buf *DictBuf) (*IPv4Column, error) {
	if buf == nil {
		buf = new(DictBuf)
	}
	return r.p.loadIPv4To(r.i, name, buf)
}

// LoadIPv4Where implements BufLoader.
func (r *partRef) LoadIPv4Where(name string, keep []bool, buf *DictBuf) ([]uint32, int, bool, error) {
	if buf == nil {
		buf = new(DictBuf)
	}
	p, i := r.p, r.i
	body, ok, err := p.ipv4Body(r.bb, i, name, &buf.sc)
	if !ok || err != nil {
		return nil, 0, false, err
	}
	addrs, marked, err := selectIPv4(body, int(p.blocks[i].rows), keep, buf.addrs)
	if err != nil {
		return nil, 0, false, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
	}
	buf.addrs = addrs
	return addrs, marked, true, nil
}

// loadIPv4To is loadIPv4 decoding into buf.
func (p *part) loadIPv4To(i int, name string, buf *DictBuf) (*IPv4Column, error) {
	body, ok, err := p.ipv4Body(nil, i, name, &buf.sc)
	if !ok || err != nil {
		return nil, err
	}
	buf.ip = IPv4Column{Name: name}
	buf.ip.Addrs, buf.ip.Absent, err = decodeIPv4To(body, int(p.blocks[i].rows), buf.addrs, buf.absent)
	if err != nil {
		return nil, fmt.Errorf("part %s block %d column %s: %w", p.path, i, name, err)
	}
	buf.addrs = buf.ip.Addrs
	if buf.ip.Absent != nil {
		buf.absent = buf.ip.Absent
	}
	return &buf.ip, nil
}
