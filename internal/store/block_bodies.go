package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
)

// BlockBodies keeps what the loads of one block decoded and checked, so
// that later loads of the same block do neither again. A needle's search
// checks a block's _raw chunk (RawTermsChecker), decompresses the bodies
// of the columns it decides on their values (TermDictLoader, IPv4 planes),
// and then loads the rows it keeps row-wise (RowLoader), which read the
// same chunks: through a BlockBodies, each chunk's CRC is checked once and
// each small body decompressed once per block.
//
// A BlockBodies holds one block at a time: a load of another block
// forgets the last one, and Release forgets it when the caller is done
// (the buffers go back to their pool). The zero value is ready to
// use; it is not safe for concurrent use (one per worker, like a DictBuf).
type BlockBodies struct {
	p       *part
	i       int
	checked []uint64   // offsets of the chunks whose CRC held
	bodies  []keptBody // bodies[:n] are the block's
	n       int
	// fill: a row load read few of the block's rows (rowsLoaded), so
	// Release adds the bodies decoded here to the process's body cache.
	fill bool
}

// keptBody is one decompressed body of the block.
type keptBody struct {
	off  uint64 // the chunk's offset in the part
	kind byte
	body string      // a view of sc.body
	sc   *colScratch // from keptScratches, while kept; nil: from the body cache
}

// BodyKeeper is implemented by the BlockRefs of parts.
type BodyKeeper interface {
	// WithBodies returns the same block's ref whose loads check each
	// chunk and decompress each small body once while bb holds the
	// block (BlockBodies). The ref must be used by bb's owner only.
	WithBodies(bb *BlockBodies) BlockRef
}

// WithBodies implements BodyKeeper.
func (r *partRef) WithBodies(bb *BlockBodies) BlockRef {
	return &partRef{p: r.p, i: r.i, bb: bb}
}

// Limits of what a BlockBodies keeps: bodies are small ones (a row-wise
// load decodes those whole), and a block has a few dozen columns.
const (
	keptBodyMax   = smallStream
	keptBodiesMax = 64
)

// at makes bb hold block i of p, forgetting another block.
func (bb *BlockBodies) at(p *part, i int) {
	if bb.p == p && bb.i == i {
		return
	}
	bb.Release()
	bb.p, bb.i = p, i
}

// Release forgets the block bb holds and gives its buffers back: a
// caller done with a block's loads calls it so that the buffers serve
// other blocks' loads (they come from keptScratches).
//
// When a row load read few of the block's rows (a selective read, like a
// needle's), the bodies decoded here go to the process's body cache
// first (sharedBodies), for the next loads of the block.
func (bb *BlockBodies) Release() {
	if bb.fill && bb.p != nil {
		bb.share()
	}
	bb.p, bb.i, bb.fill = nil, 0, false
	bb.checked = bb.checked[:0]
	for k := range bb.bodies[:bb.n] {
		e := &bb.bodies[k]
		if e.sc != nil {
			putKeptScratch(e.sc)
		}
		e.sc, e.body = nil, ""
	}
	bb.n = 0
}

// share adds the bodies bb decoded (not those it found in the cache) to
// the body cache.
func (bb *BlockBodies) share() {
	var buf [keptBodiesMax]cachedBody
	add := buf[:0]
	for k := range bb.bodies[:bb.n] {
		if e := &bb.bodies[k]; e.sc != nil {
			add = append(add, cachedBody{off: e.off, kind: e.kind, body: e.body})
		}
	}
	sharedBodies.putAll(bb.p, add)
}

// rowsLoaded tells bb that a row load of block i of p reads rows of its
// n rows: a selective one (few rows) makes Release share the block's
// bodies (the body cache).
func (bb *BlockBodies) rowsLoaded(p *part, i int, rows, n int) {
	if bb == nil || rows*bodyCacheRowsDiv > n {
		return
	}
	bb.at(p, i)
	bb.fill = true
}

// bodyCacheRowsDiv: a row load is selective when it reads at most one
// row in bodyCacheRowsDiv of the block.
const bodyCacheRowsDiv = 8

// keptScratches holds the buffers of kept bodies (decodeBody): each has
// room for any body kept (keptBodyMax and the decoder's slack), so that
// none grows. Taken from the loads' scratch pool, whose buffers have
// every size, one kept body in twenty or so needed a larger buffer,
// allocated anew (fresh memory, zeroed and faulted in).
var keptScratches = sync.Pool{New: func() any {
	return &colScratch{body: make([]byte, 0, keptBodyMax+frameSlack)}
}}

func getKeptScratch() *colScratch { return keptScratches.Get().(*colScratch) }

func putKeptScratch(sc *colScratch) {
	if c := cap(sc.body); c < keptBodyMax+frameSlack || c > 2*keptBodyMax {
		return // not one of these (a damaged body can make DecodeAll grow it): dropped
	}
	sc.body = sc.body[:0]
	keptScratches.Put(sc)
}

// chunk is p.chunk(c) for block i, checking the CRC once while bb holds
// the block. bb may be nil.
func (bb *BlockBodies) chunk(p *part, i int, c colMeta) ([]byte, error) {
	if bb == nil {
		return p.chunk(c)
	}
	bb.at(p, i)
	if slices.Contains(bb.checked, c.off) {
		return p.data[c.off : c.off+uint64(c.size)], nil
	}
	ch, err := p.chunk(c)
	if err != nil {
		return nil, err
	}
	bb.checked = append(bb.checked, c.off)
	return ch, nil
}

// body returns the kept body of the chunk at off of block i of p.
func (bb *BlockBodies) body(p *part, i int, off uint64) (kind byte, body string, ok bool) {
	if bb == nil {
		return 0, "", false
	}
	bb.at(p, i)
	for k := range bb.bodies[:bb.n] {
		if e := &bb.bodies[k]; e.off == off {
			return e.kind, e.body, true
		}
	}
	return 0, "", false
}

// keeps reports whether bb would keep the body of chunk ch (zstd or
// packed, decoded up to keptBodyMax bytes; framed, up to keptFramedMax)
// when decodeBody gets it.
func (bb *BlockBodies) keeps(ch []byte) bool {
	if bb == nil || len(ch) < 3 || bb.n >= keptBodiesMax {
		return false
	}
	lim := uint64(keptBodyMax)
	switch ch[1] {
	case codecZstd, codecPacked:
	case codecFramed:
		// A search that decodes a framed body whole (a pruned column's,
		// blockLoader.preBody) keeps it for the block's row load and the
		// body cache; row loads alone read such bodies by frames.
		lim = keptFramedMax
	default:
		return false
	}
	n, k := binary.Uvarint(ch[2:])
	return k > 0 && n <= lim
}

// keptFramedMax: framed bodies up to this size are kept (a framed body
// has at least frameMinBody bytes).
const keptFramedMax = 2 * keptBodyMax

// decodeBody is chunkBodyTo(ch, sc) for chunk c of block i of p (CRC
// checked), keeping the body in bb when it is one to keep (keeps). bb
// may be nil. The body is valid until the next call with sc, or while bb
// holds the block.
func (bb *BlockBodies) decodeBody(p *part, i int, c colMeta, ch []byte, sc *colScratch) (byte, string, error) {
	if kind, body, ok := bb.body(p, i, c.off); ok {
		return kind, body, nil
	}
	if !bb.keeps(ch) {
		return chunkBodyTo(ch, sc)
	}
	if bb.n == len(bb.bodies) {
		bb.bodies = append(bb.bodies, keptBody{})
	}
	e := &bb.bodies[bb.n]
	if kind, body, ok := sharedBodies.get(p, c.off); ok {
		e.sc = nil
		e.off, e.kind, e.body = c.off, kind, body
		bb.n++
		return kind, body, nil
	}
	// zstd bodies are decoded into e.sc.body.
	esc := getKeptScratch()
	kind, body, err := chunkBodyTo(ch, esc)
	if err != nil {
		putKeptScratch(esc)
		return 0, "", err
	}
	e.sc = esc
	e.off, e.kind, e.body = c.off, kind, body
	bb.n++
	return kind, body, nil
}

// String describes bb for tests and errors.
func (bb *BlockBodies) String() string {
	if bb == nil || bb.p == nil {
		return "no block"
	}
	return fmt.Sprintf("part %s block %d: %d chunks checked, %d bodies", bb.p.path, bb.i, len(bb.checked), bb.n)
}
