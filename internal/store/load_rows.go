package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"

	"github.com/mamori/mamori/internal/event"
)

// RowLoader is implemented by the BlockRefs of parts (type-assert a
// BlockRef for it): a load of a few rows of a block that decodes only what
// those rows need, for searches that find a few matching rows (needles)
// and must then return them with every column. Safe for concurrent use,
// like the BlockRef.
type RowLoader interface {
	// LoadRows decodes the named columns (as Load) for the listed rows
	// only: rows ascending, distinct and inside the block. The Block has
	// len(rows) rows, its row j being block row rows[j], with Times set.
	// Its values are copies (they do not alias the store's memory).
	LoadRows(cols []string, rows []int) (*Block, error)
}

// TimesRowLoader is implemented by the BlockRefs of parts and by
// RawTemplates: RowLoader.LoadRows for a caller that holds the block's
// times already (a search that loaded them), which are then not decoded
// again.
type TimesRowLoader interface {
	// LoadRowsTimes is LoadRows given times, the block's times (one per
	// block row, as the Times of a load of the whole block). Other
	// times (nil, another length) are ignored: the load decodes its own.
	LoadRowsTimes(cols []string, rows []int, times []int64) (*Block, error)
}

// LoadRows implements RowLoader.
func (r *partRef) LoadRows(cols []string, rows []int) (*Block, error) {
	return r.p.loadRowsAt(r.i, cols, rows, nil, nil, -1, nil, r.bb)
}

// LoadRowsTimes implements TimesRowLoader.
func (r *partRef) LoadRowsTimes(cols []string, rows []int, times []int64) (*Block, error) {
	return r.p.loadRowsAt(r.i, cols, rows, nil, nil, -1, times, r.bb)
}

// loadValues is LoadRows of field columns cols (not _time) without the
// rows' times (Times nil): the time chunk is neither checked nor decoded.
func (r *partRef) loadValues(cols []string, rows []int) (*Block, error) {
	if slices.Contains(cols, event.FieldTime) {
		return r.LoadRows(cols, rows)
	}
	return r.p.loadRowsSkip(r.i, cols, rows, nil, nil, -1, nil, r.bb, true)
}

// rowLoader decodes columns of one block for a few rows: each column's
// body is decompressed only up to the last listed row's bytes (the kinds
// keep per-row lengths or codes before the values), and values are
// written only for the listed rows.
type rowLoader struct {
	p     *part
	bm    *blockMeta
	i     int
	rows  []int
	times []int64 // of the listed rows
	// cols holds, by block column index, the columns decoded so far in
	// block-row coordinates: full-length Values (scratch memory), of
	// which only the listed rows are set. Values nil: not decoded.
	cols []Column
	busy []bool
	sc   []*rowScratch
	// bl, when not nil, is a load of the same block whose decoded
	// columns and pruned bodies are reused.
	bl *blockLoader
	// sb, when not nil, is the decoded head (and maybe the variables) of
	// block column sbCol, a kindSkeleton _raw, owned by a RawTemplates:
	// reused, never released here (load_skel.go).
	sb    *skelBlock
	sbCol int
	// bb, when not nil, holds the chunks checked and the bodies
	// decompressed by earlier loads of the block (BlockBodies).
	bb *BlockBodies
}

// rowScratch holds the per-column buffers of a rowLoader.
type rowScratch struct {
	body   []byte
	vals   []string
	absent []bool
	text   []byte // values built here (integers, addresses, raw texts)
	times  []int64
	keep   []bool // the listed rows, for selectIPv4 (all false between uses)
	addrs  []uint32
	whole  colScratch // a small body decoded at once
	ft     frameTable // of a framed body being read
	done   []bool     // its frames decoded so far
	dict   []string   // the values of a dictionary
}

var rowScratchPool = sync.Pool{New: func() any { return new(rowScratch) }}

// LoadRows is RowLoader.LoadRows for the block of the templates: it
// reuses what the load that made them decoded (the columns, and the
// bodies of the columns it pruned).
func (t *RawTemplates) LoadRows(cols []string, rows []int) (*Block, error) {
	return t.l.p.loadRowsAt(t.l.i, cols, rows, t.l, t.sb, t.col, nil, t.l.bb)
}

// LoadRowsTimes is TimesRowLoader.LoadRowsTimes for the block of the
// templates (LoadRows, given the block's times).
func (t *RawTemplates) LoadRowsTimes(cols []string, rows []int, times []int64) (*Block, error) {
	return t.l.p.loadRowsAt(t.l.i, cols, rows, t.l, t.sb, t.col, times, t.l.bb)
}

func (p *part) loadRows(i int, cols []string, rows []int) (*Block, error) {
	return p.loadRowsWith(i, cols, rows, nil)
}

// loadRowsWith is loadRows reusing the decoded columns and pruned bodies
// of bl (nil: none).
func (p *part) loadRowsWith(i int, cols []string, rows []int, bl *blockLoader) (*Block, error) {
	return p.loadRowsAt(i, cols, rows, bl, nil, -1, nil, nil)
}

// loadRowsAt is loadRowsWith reusing also sb, the skeleton block of
// block column sbCol (nil: none), times, the block's times when the
// caller has them (nil: decoded here), and what bb holds of the block
// (nil: nothing).
func (p *part) loadRowsAt(i int, cols []string, rows []int, bl *blockLoader, sb *skelBlock, sbCol int, times []int64, bb *BlockBodies) (*Block, error) {
	return p.loadRowsSkip(i, cols, rows, bl, sb, sbCol, times, bb, false)
}

// loadRowsSkip is loadRowsAt; with skipTimes, the Block's Times are nil
// (not decoded), for loads of field columns only (loadValues).
func (p *part) loadRowsSkip(i int, cols []string, rows []int, bl *blockLoader, sb *skelBlock, sbCol int, times []int64, bb *BlockBodies, skipTimes bool) (*Block, error) {
	bm := &p.blocks[i]
	n := int(bm.rows)
	for j, r := range rows {
		if r < 0 || r >= n || (j > 0 && r <= rows[j-1]) {
			return nil, fmt.Errorf("part %s block %d: rows to load: row %d at %d out of order or outside the block of %d", p.path, i, r, j, n)
		}
	}
	sk := p.streams[bm.stream]
	b := &Block{Partition: p.info.Partition, Source: sk.source, Host: sk.host, N: len(rows)}
	var err error
	if len(times) != n && bl != nil {
		times = bl.times // the load that made bl may have decoded them
	}
	if !skipTimes {
		bb.rowsLoaded(p, i, len(rows), n) // a load of the rows to show, not a search's (loadValues)
	}
	switch {
	case skipTimes:
	case len(times) == n:
		b.Times = make([]int64, len(rows))
		for j, r := range rows {
			b.Times[j] = times[r]
		}
	default:
		if b.Times, err = p.timesAt(bm, i, rows, bb); err != nil {
			return nil, fmt.Errorf("part %s block %d: %w", p.path, i, err)
		}
	}
	if cols == nil {
		cols = p.blockColumns(bm)
	}
	l := &rowLoader{p: p, bm: bm, i: i, rows: rows, times: b.Times, cols: make([]Column, len(bm.cols)), bl: bl, sb: sb, sbCol: sbCol, bb: bb}
	defer l.release()
	b.Cols = make([]Column, 0, len(cols))
	for _, name := range cols {
		col, err := l.column(name)
		if err != nil {
			return nil, err
		}
		b.Cols = append(b.Cols, col)
	}
	return b, nil
}

// timesAt decodes the times of the block's rows up to the last of rows
// and returns those of rows.
//
// Through bb (which may be nil), a selective load keeps the body with the
// block's others (BlockBodies, the body cache) and reads the rows from
// the body's delta marks once it has them (rowload_cache.go).
func (p *part) timesAt(bm *blockMeta, i int, rows []int, bb *BlockBodies) ([]int64, error) {
	out := make([]int64, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	kind, body, ok := bb.body(p, i, bm.timeCol.off)
	if !ok {
		tc, err := bb.chunk(p, i, bm.timeCol)
		if err != nil {
			return nil, err
		}
		if bb.keeps(tc) {
			if kind, body, err = bb.decodeBody(p, i, bm.timeCol, tc, nil); err != nil {
				return nil, fmt.Errorf("decode times: %w", err)
			}
		} else {
			sc := getScratch()
			defer putScratch(sc)
			if body, err = timesBody(tc, sc); err != nil {
				return nil, err
			}
			kind = kindInt
		}
	}
	if kind != kindInt {
		return nil, fmt.Errorf("decode times: kind %d is not int", kind)
	}
	if bb != nil && bb.fill {
		fs := frameSource{p: p, bb: bb}
		if marks, ok := fs.deltaMarks(bm.timeCol.off, body, int(bm.rows)); ok {
			if err := deltasAt(body, marks, rows, out); err != nil {
				return nil, fmt.Errorf("decode times: %w", err)
			}
			return out, nil
		}
	}
	rs := getRowScratch()
	defer putRowScratch(rs)
	rs.times = slices.Grow(rs.times[:0], rows[len(rows)-1]+1)[:rows[len(rows)-1]+1]
	if _, err := decodeDeltas(body, rs.times); err != nil {
		return nil, fmt.Errorf("decode times: %w", err)
	}
	for j, r := range rows {
		out[j] = rs.times[r]
	}
	return out, nil
}

func getRowScratch() *rowScratch { return rowScratchPool.Get().(*rowScratch) }

func putRowScratch(sc *rowScratch) {
	if cap(sc.body) >= bigBodyMin {
		b := sc.body[:0]
		bigBodies.Put(&b)
		sc.body = nil
	}
	clear(sc.dict) // views of bodies given back
	sc.body, sc.text, sc.dict = sc.body[:0], sc.text[:0], sc.dict[:0]
	rowScratchPool.Put(sc)
}

func (l *rowLoader) release() {
	for _, sc := range l.sc {
		putRowScratch(sc)
	}
	l.sc = nil
}

func (l *rowLoader) scratch() *rowScratch {
	sc := getRowScratch()
	l.sc = append(l.sc, sc)
	return sc
}

// column returns the named column for the listed rows, as copies.
func (l *rowLoader) column(name string) (Column, error) {
	n := len(l.rows)
	switch name {
	case event.FieldTime:
		return timeColumn(l.times), nil
	case event.FieldSource, event.FieldHost, event.FieldPartition:
		return metaColumn(name, l.p.info.Partition, l.p.streams[l.bm.stream], n), nil
	}
	k := slices.IndexFunc(l.bm.cols, func(c colMeta) bool { return l.p.names[c.name] == name })
	if n == 0 {
		return Column{Name: name, Values: []string{}}, nil
	}
	if k < 0 {
		return absentColumn(name, n), nil
	}
	full, err := l.col(k)
	if errors.Is(err, errRowsKind) {
		return l.fallback(name)
	}
	if err != nil {
		return Column{}, err
	}
	// Copy the listed rows out of scratch memory, into one buffer.
	size := 0
	for _, r := range l.rows {
		size += len(full.Values[r])
	}
	buf := make([]byte, 0, size)
	ends := make([]int, n)
	col := Column{Name: name, Values: make([]string, n)}
	for j, r := range l.rows {
		if !full.Has(r) {
			if col.Absent == nil {
				col.Absent = make([]bool, n)
			}
			col.Absent[j] = true
		}
		buf = append(buf, full.Values[r]...)
		ends[j] = len(buf)
	}
	all, start := string(buf), 0
	for j, e := range ends {
		col.Values[j] = all[start:e]
		start = e
	}
	return col, nil
}

// errRowsKind: the column's kind has no row-wise decoder here.
var errRowsKind = errors.New("kind not decoded by rows")

// fallback loads a column of a kind the rowLoader does not know through
// the ordinary load (LoadOptions.Rows) and keeps the listed rows.
func (l *rowLoader) fallback(name string) (Column, error) {
	b, err := l.p.loadBlockWith(l.i, []string{name}, LoadOptions{Rows: l.rows, NoTimes: true})
	if err != nil {
		return Column{}, err
	}
	if b.Raw != nil {
		b.Raw.Release()
	}
	c := b.Cols[0]
	out := Column{Name: name, Values: make([]string, len(l.rows))}
	for j, r := range l.rows {
		out.Values[j] = c.Values[r]
		if !c.Has(r) {
			if out.Absent == nil {
				out.Absent = make([]bool, len(l.rows))
			}
			out.Absent[j] = true
		}
	}
	return out, nil
}

// col decodes block column k for the listed rows (block-row coordinates,
// scratch memory).
func (l *rowLoader) col(k int) (Column, error) {
	if l.cols[k].Values != nil {
		return l.cols[k], nil
	}
	if l.busy == nil {
		l.busy = make([]bool, len(l.cols))
	}
	c := l.bm.cols[k]
	name := l.p.names[c.name]
	if l.busy[k] {
		return Column{}, fmt.Errorf("part %s block %d: %w: column %d refers to itself", l.p.path, l.i, errTemplate, k)
	}
	l.busy[k] = true
	defer func() { l.busy[k] = false }()
	if bl := l.bl; bl != nil && len(bl.cols) == len(l.cols) {
		if c := bl.cols[k]; c.Values != nil && bl.rows == nil {
			l.cols[k] = Column{Name: name, Values: c.Values, Absent: c.Absent}
			return l.cols[k], nil
		}
		if bl.pre != nil && bl.pre[k].sc != nil {
			col, err := l.decodeBody(bl.pre[k].kind, wholeStream(bl.pre[k].body))
			if err != nil && !errors.Is(err, errRowsKind) {
				return Column{}, fmt.Errorf("part %s block %d column %s: %w", l.p.path, l.i, name, err)
			}
			if err == nil {
				col.Name = name
				l.cols[k] = col
				return col, nil
			}
		}
	}
	if kind, body, ok := l.bb.body(l.p, l.i, c.off); ok {
		// Decompressed by an earlier load of the block.
		col, err := l.wholeBody(kind, body, c.off)
		if err != nil {
			return Column{}, fmt.Errorf("part %s block %d column %s: %w", l.p.path, l.i, name, err)
		}
		col.Name = name
		l.cols[k] = col
		return col, nil
	}
	ch, err := l.bb.chunk(l.p, l.i, c)
	if err != nil {
		return Column{}, err
	}
	if len(ch) > 0 && ch[0] == kindAlias {
		col, err := aliasColumn(l.p, l.bm, l.i, ch, k, name, l.col)
		if err != nil {
			return Column{}, err
		}
		l.cols[k] = col
		return col, nil
	}
	var col Column
	switch {
	case l.sb != nil && k == l.sbCol && ch[0] == kindSkeleton:
		col, err = l.skeletonsOf(l.sb)
	case l.bb.keeps(ch) && ch[1] != codecFramed && rowsKind(ch[0]):
		// (A framed body is read by the frames of the listed rows.)
		// Decompressed whole for the later loads of the block too.
		var kind byte
		var body string
		if kind, body, err = l.bb.decodeBody(l.p, l.i, c, ch, nil); err == nil {
			col, err = l.wholeBody(kind, body, c.off)
		}
	default:
		col, err = l.decode(ch)
	}
	if err != nil {
		if errors.Is(err, errRowsKind) {
			return Column{}, err
		}
		return Column{}, fmt.Errorf("part %s block %d column %s: %w", l.p.path, l.i, name, err)
	}
	col.Name = name
	l.cols[k] = col
	return col, nil
}

// wholeBody is decodeBody on the whole body of the chunk at off: an int
// body's listed rows are read from its delta marks when a selective load
// has them (rowload_cache.go).
func (l *rowLoader) wholeBody(kind byte, body string, off uint64) (Column, error) {
	if kind == kindInt && len(l.rows) > 0 {
		if marks, ok := l.frameSource().deltaMarks(off, body, int(l.bm.rows)); ok {
			sc := l.scratch()
			col := l.listedColumn(sc)
			sc.times = slices.Grow(sc.times[:0], len(l.rows))[:len(l.rows)]
			if err := deltasAt(body, marks, l.rows, sc.times); err != nil {
				return Column{}, err
			}
			text := slices.Grow(sc.text[:0], 20*len(l.rows))
			for j, i := range l.rows {
				start := len(text)
				text = appendInt(text, sc.times[j])
				col.Values[i] = bytesToString(text[start:])
			}
			sc.text = text
			return col, nil
		}
	}
	if kind == kindDict && len(l.rows) > 0 {
		if marks, ok := l.frameSource().dictMarks(off, body, int(l.bm.rows)); ok {
			col := l.listedColumn(l.scratch())
			if err := dictAt(body, marks, l.rows, col); err != nil {
				return Column{}, err
			}
			return col, nil
		}
	}
	return l.decodeBody(kind, wholeStream(body))
}

// decode decodes a chunk for the listed rows.
func (l *rowLoader) decode(ch []byte) (Column, error) {
	kind := ch[0]
	if kind == kindSkeleton {
		return l.skeletons(ch) // _raw as skeletons (load_skel.go)
	}
	if !rowsKind(kind) {
		return Column{}, errRowsKind
	}
	if kind == kindDict && isPacked(ch) {
		sc := l.scratch()
		col := l.listedColumn(sc)
		return col, l.packedValues(ch, col, sc)
	}
	bs, err := newBodyStream(ch, l.scratch())
	if err != nil {
		return Column{}, err
	}
	defer bs.close()
	if bs.framed() {
		bs.src = l.frameSource()
	}
	return l.decodeBody(kind, bs)
}

// wholeStream is a bodyStream of a body decompressed already.
func wholeStream(body string) *bodyStream {
	return &bodyStream{size: len(body), whole: body, hasWhole: true}
}

func rowsKind(kind byte) bool {
	switch kind {
	case kindConst, kindInt, kindDict, kindPlain, kindTemplate, kindIPv4:
		return true
	}
	return false
}

// listedColumn returns a column of the block's rows in sc's buffers,
// the listed rows cleared (only they are read and written).
func (l *rowLoader) listedColumn(sc *rowScratch) Column {
	rows := int(l.bm.rows)
	sc.vals = slices.Grow(sc.vals[:0], rows)[:rows]
	sc.absent = slices.Grow(sc.absent[:0], rows)[:rows]
	for _, r := range l.rows {
		sc.vals[r], sc.absent[r] = "", false
	}
	return Column{Values: sc.vals, Absent: sc.absent}
}

// decodeBody decodes a body of kind for the listed rows.
func (l *rowLoader) decodeBody(kind byte, bs *bodyStream) (Column, error) {
	if !rowsKind(kind) {
		return Column{}, errRowsKind
	}
	sc := l.scratch()
	col := l.listedColumn(sc)
	var err error
	switch kind {
	case kindIPv4:
		err = l.ipv4(bs, col, sc)
	case kindTemplate:
		err = l.templates(bs, col, sc)
	case kindPlain:
		if bs.framed() {
			return col, l.framedValues(bs, col)
		}
		err = bs.parse(func(body string) error { return l.values(kind, body, col, sc) })
	default:
		err = bs.parse(func(body string) error { return l.values(kind, body, col, sc) })
	}
	return col, err
}

// values reads the listed rows' values of a const, int, dict or plain
// body prefix into col (views into body and sc.text); errShort when the
// prefix ends too early.
func (l *rowLoader) values(kind byte, body string, col Column, sc *rowScratch) error {
	r := &reader{s: body}
	last := l.rows[len(l.rows)-1]
	switch kind {
	case kindConst:
		v := r.str()
		for _, i := range l.rows {
			col.Values[i] = v
		}
	case kindInt:
		// The values up to the last listed row, eight bytes a step
		// (decodeDeltas); a prefix too short gives errShort.
		sc.times = slices.Grow(sc.times[:0], last+1)[:last+1]
		if _, err := decodeDeltas(body, sc.times); err != nil {
			return err
		}
		// 20 bytes hold any int64: text never moves while it fits.
		text := slices.Grow(sc.text[:0], 20*len(l.rows))
		for _, i := range l.rows {
			start := len(text)
			text = appendInt(text, sc.times[i])
			col.Values[i] = bytesToString(text[start:])
		}
		sc.text = text
	case kindDict:
		// Not r.count: the prefix may end before the dictionary does.
		n := r.uvarint()
		if r.err == nil && n > uint64(len(body)-r.off) {
			r.err = errShort
			n = 0
		}
		dict := slices.Grow(sc.dict[:0], int(n))[:n]
		sc.dict = dict
		for i := range dict {
			dict[i] = r.str()
		}
		at := 0 // the row of the code at r.off
		for _, i := range l.rows {
			if r.err != nil {
				break
			}
			// Skip the codes of the rows between, eight bytes a step.
			var ok bool
			if r.off, ok = skipVarints(body, r.off, i-at); !ok {
				r.err = errShort
				break
			}
			at = i + 1
			c := r.uvarint()
			if r.err != nil {
				break
			}
			switch {
			case c == 0:
				col.Absent[i] = true
			case c > uint64(len(dict)):
				r.err = fmt.Errorf("dictionary index %d out of %d", c, len(dict))
			default:
				col.Values[i] = dict[c-1]
			}
		}
	case kindPlain, kindTemplate:
		return l.plainValues(body, col)
	}
	return r.err
}

// plainValues reads the listed rows' values of a plain or template body
// prefix into col (views into body): the lengths up to the last listed
// row are summed eight a step (sumLengths), the others skipped
// (skipVarints). errShort, or a *shortError saying how many bytes are
// needed, when the prefix ends too early.
func (l *rowLoader) plainValues(body string, col Column) error {
	rows := len(col.Values)
	var (
		pos, off, at int // the offset of row at's length, of its bytes after the lengths
		lens         = make([]uint64, len(l.rows))
		starts       = make([]int, len(l.rows))
	)
	for j, i := range l.rows {
		var sum int
		var ok bool
		if pos, sum, ok = sumLengths(body, pos, i-at); !ok {
			return errShort
		}
		off += sum
		r := reader{s: body, off: pos}
		n := r.uvarint()
		if r.err != nil {
			return r.err
		}
		if n > uint64(len(body)) {
			return errShort // past any prefix: the whole body reports it
		}
		pos, lens[j], starts[j] = r.off, n, off
		if n > 0 {
			off += int(n - 1)
		}
		at = i + 1
	}
	base, ok := skipVarints(body, pos, rows-at)
	if !ok {
		return errShort
	}
	if j := len(lens) - 1; j >= 0 {
		// Ask for exactly the bytes up to the last listed row.
		if end := base + starts[j] + max(int(lens[j])-1, 0); end > len(body) {
			return &shortError{need: end}
		}
	}
	for j, i := range l.rows {
		if lens[j] == 0 {
			col.Absent[i] = true
			continue
		}
		from := base + starts[j]
		col.Values[i] = body[from : from+int(lens[j])-1]
	}
	return nil
}

// sumLengths returns the offset in body after the n uvarints that start
// at pos, which are lengths+1 (0: absent), and the sum of their lengths;
// eight one-byte lengths a step. False when body ends first. A length
// past any body counts as maxChunkBytes+1 (the caller's bounds catch it).
func sumLengths(body string, pos, n int) (int, int, bool) {
	sum := 0
	for n > 0 {
		if n >= 8 && pos+8 <= len(body) {
			w := binary.LittleEndian.Uint64(stringBytes(body[pos:]))
			if w&highBits == 0 {
				sum += lengths8(w, true)
				n -= 8
				pos += 8
				continue
			}
		}
		r := reader{s: body, off: pos}
		v := r.uvarint()
		if r.err != nil {
			return r.off, sum, false
		}
		if v > maxChunkBytes {
			v = maxChunkBytes + 1 // past any body: a bound fails later
		}
		if v > 0 {
			sum += int(v - 1)
		}
		pos = r.off
		n--
	}
	return pos, sum, true
}

// lengths8 returns the sum of the eight one-byte lengths of w (each
// byte < 0x80); when plus, they are lengths+1 with 0 for absent: the
// sum of the non-zero ones less one each.
func lengths8(w uint64, plus bool) int {
	// The bytes summed in 16-bit lanes, then the lanes.
	t := w&0x00ff00ff00ff00ff + w>>8&0x00ff00ff00ff00ff
	sum := int((t * 0x0001000100010001) >> 48)
	if plus {
		// A byte + 0x7f has its high bit set exactly when it is not 0.
		sum -= bits.OnesCount64((w + 0x7f7f7f7f7f7f7f7f) & highBits)
	}
	return sum
}

// skipVarints returns the offset in body after the n uvarints that
// start at pos, counting their last bytes (high bit clear) eight at a
// time; false when body ends first.
func skipVarints(body string, pos, n int) (int, bool) {
	for n >= 8 && pos+8 <= len(body) {
		c := bits.OnesCount64(^binary.LittleEndian.Uint64(stringBytes(body[pos:])) & highBits)
		if c > n {
			break
		}
		n -= c
		pos += 8
	}
	for ; n > 0 && pos < len(body); pos++ {
		if body[pos] < 0x80 {
			n--
		}
	}
	return pos, n == 0
}

// framedValues sets the listed rows' values of a framed plain or
// template body: each row's length and bytes from its group's frames
// alone (chunk_frames.go).
func (l *rowLoader) framedValues(bs *bodyStream, col Column) error {
	for _, i := range l.rows {
		pos, at, err := bs.item(i, true)
		if err != nil {
			return err
		}
		n, err := bs.length(&pos)
		if err != nil {
			return err
		}
		if n == 0 {
			col.Absent[i] = true
			continue
		}
		to := at + int(n) - 1
		if int(n)-1 > bs.size-at {
			return fmt.Errorf("value of row %d past the body of %d bytes", i, bs.size)
		}
		body, err := bs.span(at, to)
		if err != nil {
			return err
		}
		col.Values[i] = body[at:to]
	}
	return nil
}

// ipv4 reads a kindIPv4 body (its planes span the whole body): only the
// listed rows' addresses are decoded.
func (l *rowLoader) ipv4(bs *bodyStream, col Column, sc *rowScratch) error {
	body, err := bs.prefix(bs.size)
	if err != nil {
		return err
	}
	rows := len(col.Values)
	if len(l.rows) <= fewIPv4Rows {
		return l.fewIPv4(body, col, sc)
	}
	keep := slices.Grow(sc.keep[:0], rows)[:rows]
	for _, i := range l.rows {
		keep[i] = true
	}
	addrs, _, err := selectIPv4(body, rows, keep, sc.addrs)
	for _, i := range l.rows {
		keep[i] = false
	}
	sc.keep, sc.addrs = keep, addrs
	if err != nil {
		return err
	}
	// selectIPv4 checked the flags and the bitmap's length.
	var bitmap string
	if body[0]&ipv4HasAbsent != 0 {
		bitmap = body[1:]
	}
	text := slices.Grow(sc.text[:0], 15*len(l.rows))
	j := 0
	for _, i := range l.rows {
		if bitmap != "" && bitmap[i>>3]>>(i&7)&1 != 0 {
			col.Absent[i] = true
			continue
		}
		if j >= len(addrs) {
			return fmt.Errorf("%w: %d addresses for the listed rows", errIPv4, len(addrs))
		}
		start := len(text)
		text = AppendIPv4(text, addrs[j])
		col.Values[i] = bytesToString(text[start:])
		j++
	}
	sc.text = text
	return nil
}

// templates reads the listed rows' templates and expands them, decoding
// the columns they refer to for the same rows.
func (l *rowLoader) templates(bs *bodyStream, col Column, sc *rowScratch) error {
	tsc := l.scratch()
	tsc.vals = slices.Grow(tsc.vals[:0], len(col.Values))[:len(col.Values)]
	for _, r := range l.rows {
		tsc.vals[r] = ""
	}
	tpl := Column{Values: tsc.vals, Absent: col.Absent}
	var err error
	if bs.framed() {
		err = l.framedValues(bs, tpl)
	} else {
		err = bs.parse(func(body string) error { return l.values(kindTemplate, body, tpl, tsc) })
	}
	if err != nil {
		return err
	}
	sk := l.p.streams[l.bm.stream]
	text := sc.text[:0]
	ends := make([]int, len(l.rows))
	for j, i := range l.rows {
		if !col.Absent[i] {
			var err error
			if text, err = expandLazy(text, tpl.Values[i], sk.host, sk.source, l.cols, i, l.col); err != nil {
				return err
			}
		}
		ends[j] = len(text)
	}
	sc.text = text
	l.cutTexts(col.Values, text, ends)
	return nil
}

// cutTexts sets the listed rows' values to their pieces of text, which
// holds them one after another, the j-th listed row's ending at ends[j]
// (the text stays owned by the loader's scratch).
func (l *rowLoader) cutTexts(values []string, text []byte, ends []int) {
	all, start := bytesToString(text), 0
	for j, i := range l.rows {
		values[i] = all[start:ends[j]]
		start = ends[j]
	}
}
