package store

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// highBits has the high bit of each byte of a word.
const highBits = 0x8080808080808080

// Row-wise loads and expansion of _raw stored as skeletons (kindSkeleton,
// enc_skel.go). A needle's LoadRows wants one or two rows of a block: it
// decodes the head (the skeletons and each row's id), reads the
// variables' lengths and bytes only up to the last listed row's (the
// vars body is decompressed no further), and builds the listed rows'
// raw texts straight from skeleton, variables and referenced values (no
// template text in between: raw_skel.go).

// skeletons reads the listed rows of kindSkeleton chunk ch and expands
// their raw texts, decoding the columns they refer to for the same rows.
func (l *rowLoader) skeletons(ch []byte) (Column, error) {
	if head, vars, ok := groupedHeadOf(ch); ok {
		// A grouped head: only the listed rows' frames.
		sb := skelPool.Get().(*skelBlock)
		defer sb.release()
		sb.ht.src = l.frameSource()
		err := sb.decodeGroupedRows(head, vars, int(l.bm.rows), l.rows, l.p.pool)
		sb.ht.src = frameSource{}
		if err != nil {
			return Column{}, fmt.Errorf("decode column: skeleton head: %w", err)
		}
		return l.skeletonsOf(sb)
	}
	sb, err := decodeSkeletonHead(ch, int(l.bm.rows), l.p.pool)
	if err != nil {
		return Column{}, err
	}
	defer sb.release()
	return l.skeletonsOf(sb)
}

// skeletonsOf is skeletons on a decoded head: the variables are read
// from sb when decoded already (RawTemplates.RowVars and the like), else
// streamed only up to the last listed row's.
func (l *rowLoader) skeletonsOf(sb *skelBlock) (Column, error) {
	rows := int(l.bm.rows)
	if len(sb.ids) != rows {
		return Column{}, fmt.Errorf("%w: %d rows of skeletons for %d", errSkeleton, len(sb.ids), rows)
	}
	if err := sb.count(); err != nil {
		return Column{}, err
	}
	sc := l.scratch()
	col := l.listedColumn(sc)
	if len(l.rows) == 0 {
		return col, nil
	}
	if sb.loaded {
		return l.skelTexts(sb, sc, col, sb.vb, func(_, r int) ([]int32, error) {
			return sb.voff[sb.vstart[r] : sb.vstart[r+1]+1], nil
		})
	}
	bs, err := newBodyStream(sb.vars, l.scratch())
	if err != nil {
		return Column{}, fmt.Errorf("skeleton variables: %w", err)
	}
	defer bs.close()
	if bs.framed() {
		bs.src = l.frameSource()
		return l.framedSkelTexts(sb, sc, col, bs)
	}
	sp := newSkelSpans(len(l.rows))
	var body string
	err = bs.parse(func(b string) error {
		body = b
		return sp.locate(b, bs.size, sb.vstart, l.rows)
	})
	if err != nil {
		return Column{}, fmt.Errorf("%w: variables: %w", errSkeleton, err)
	}
	var offs []int32
	return l.skelTexts(sb, sc, col, body, func(j, r int) ([]int32, error) {
		if offs, err = sp.offsets(offs[:0], body, j, int(sb.vstart[r+1]-sb.vstart[r])); err != nil {
			return nil, fmt.Errorf("%w: variables of row %d: %w", errSkeleton, r, err)
		}
		return offs, nil
	})
}

// framedSkelTexts is skeletonsOf on framed variables: each row's
// variables are read from their group's two frames alone.
func (l *rowLoader) framedSkelTexts(sb *skelBlock, sc *rowScratch, col Column, bs *bodyStream) (Column, error) {
	var offs []int32
	return l.skelTexts(sb, sc, col, bs.view(), func(_, r int) ([]int32, error) {
		offs = append(offs[:0], 0)
		n := int(sb.vstart[r+1] - sb.vstart[r])
		if n == 0 {
			return offs, nil
		}
		pos, at, err := bs.item(int(sb.vstart[r]), false)
		if err != nil {
			return nil, fmt.Errorf("%w: variables of row %d: %w", errSkeleton, r, err)
		}
		offs[0] = int32(at)
		for range n {
			v, err := bs.length(&pos)
			if err == nil && (v == 0 || v > uint64(bs.size-at)) {
				err = fmt.Errorf("variable length %d", v)
			}
			if err != nil {
				return nil, fmt.Errorf("%w: variables of row %d: %w", errSkeleton, r, err)
			}
			at += int(v)
			offs = append(offs, int32(at))
		}
		if _, err := bs.span(int(offs[0]), at); err != nil {
			return nil, fmt.Errorf("%w: variables of row %d: %w", errSkeleton, r, err)
		}
		return offs, nil
	})
}

// skelTexts writes the listed rows' raw texts into col (in sc.text),
// the j-th listed row r (present) from its variables vb[offs[i]:
// offs[i+1]], offs being rowVars(j, r).
func (l *rowLoader) skelTexts(sb *skelBlock, sc *rowScratch, col Column, vb string, rowVars func(j, r int) ([]int32, error)) (Column, error) {
	sk := l.p.streams[l.bm.stream]
	text := sc.text[:0]
	ends := make([]int, len(l.rows))
	for j, r := range l.rows {
		if sb.ids[r] == 0 {
			col.Absent[r] = true
		} else {
			offs, err := rowVars(j, r)
			if err != nil {
				return Column{}, err
			}
			if text, err = sb.appendRaw(text, r, vb, offs, sk.host, sk.source, l.cols, l.col); err != nil {
				return Column{}, err
			}
		}
		ends[j] = len(text)
	}
	sc.text = text
	l.cutTexts(col.Values, text, ends)
	return col, nil
}

// skelSpans locates the variables of listed rows in a vars body
// (nvars × uvarint length | the variables' bytes): lenAt[j] is the offset
// of the length of the first variable of the j-th listed row, at[j] the
// offset of its bytes (both from the start of the body).
type skelSpans struct {
	lenAt []int
	at    []int32
	// Where locate stopped on a short prefix: the length cursor, the
	// bytes before variable v, the next listed row, the bytes before the
	// end of the last listed row's variables (-1: not there yet).
	pos, off, v, j, end int
}

func newSkelSpans(rows int) *skelSpans {
	return &skelSpans{lenAt: make([]int, rows), at: make([]int32, rows), end: -1}
}

// locate fills sp for rows (ascending) from prefix body of a vars body of
// size bytes, vstart being each row's first variable (skelBlock.count);
// a *shortError when the prefix ends before the last row's bytes. Called
// again with a longer prefix of the same body, it goes on from where it
// stopped.
func (sp *skelSpans) locate(body string, size int, vstart []int32, rows []int) error {
	nv := int(vstart[len(vstart)-1])
	for ; sp.j < len(rows); sp.j++ {
		if err := sp.skip(body, size, int(vstart[rows[sp.j]])); err != nil {
			return sp.short(err, nv)
		}
		sp.lenAt[sp.j], sp.at[sp.j] = sp.pos, int32(sp.off)
	}
	if sp.end < 0 {
		if err := sp.skip(body, size, int(vstart[rows[len(rows)-1]+1])); err != nil {
			return sp.short(err, nv)
		}
		sp.end = sp.off
	}
	// The bytes start after the last length: skip the rest, counting the
	// varints' last bytes (bytes without the high bit), eight at a time
	// while a word holds no more of them than are left.
	for sp.pos+8 <= len(body) && nv-sp.v >= 8 {
		w := binary.LittleEndian.Uint64(stringBytes(body[sp.pos:]))
		sp.v += bits.OnesCount64(^w & highBits)
		sp.pos += 8
	}
	for sp.pos < len(body) && sp.v < nv {
		if body[sp.pos] < 0x80 {
			sp.v++
		}
		sp.pos++
	}
	if sp.v < nv {
		return &shortError{need: sp.pos + (nv - sp.v) + sp.end}
	}
	if sp.pos+sp.end > size {
		return fmt.Errorf("variables of %d bytes past the body of %d", sp.end, size-sp.pos)
	}
	if sp.pos+sp.end > len(body) {
		return &shortError{need: sp.pos + sp.end}
	}
	for j := range sp.at {
		sp.at[j] += int32(sp.pos)
	}
	return nil
}

// skip adds the lengths of the variables up to to.
func (sp *skelSpans) skip(body string, size, to int) error {
	pos, off, v := sp.pos, sp.off, sp.v
	defer func() { sp.pos, sp.off, sp.v = pos, off, v }()
	// Eight one-byte lengths (1..127) at a time: their sum in 16-bit
	// lanes.
	for to-v >= 8 && pos+8 <= len(body) {
		w := binary.LittleEndian.Uint64(stringBytes(body[pos:]))
		if w&highBits != 0 || zeroBytes(w) != 0 {
			break
		}
		p := w&0x00ff00ff00ff00ff + w>>8&0x00ff00ff00ff00ff
		off += int(p * 0x0001000100010001 >> 48)
		pos += 8
		v += 8
	}
	for ; v < to; v++ {
		if pos < len(body) && body[pos]-1 < 0x7f {
			off += int(body[pos])
			pos++
			continue
		}
		r := reader{s: body, off: pos}
		n := r.uvarint()
		if r.err != nil {
			return r.err
		}
		if n == 0 || n > uint64(size) {
			return fmt.Errorf("variable length %d", n)
		}
		off += int(n)
		pos = r.off
	}
	if off > size {
		return fmt.Errorf("variables of %d bytes past the body of %d", off, size)
	}
	return nil
}

// short turns errShort (the prefix ends inside the lengths) into a
// *shortError asking for at least one byte per length left and the bytes
// so far.
func (sp *skelSpans) short(err error, nv int) error {
	if err == errShort {
		return &shortError{need: sp.pos + (nv - sp.v) + sp.off + 1}
	}
	return err
}

// offsets appends the offsets in body of the n variables of the j-th
// listed row and of their end (n+1 offsets: variable i is
// body[offs[i]:offs[i+1]]).
func (sp *skelSpans) offsets(offs []int32, body string, j, n int) ([]int32, error) {
	r := reader{s: body, off: sp.lenAt[j]}
	at := sp.at[j]
	offs = append(offs, at)
	for range n {
		l := r.uvarint()
		if r.err != nil {
			return offs, r.err
		}
		if l == 0 || l > uint64(len(body)) || int64(at)+int64(l) > int64(len(body)) {
			return offs, fmt.Errorf("variable length %d", l)
		}
		at += int32(l)
		offs = append(offs, at)
	}
	return offs, nil
}
