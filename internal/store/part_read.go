package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/mamori/mamori/internal/event"
)

// part is an open, immutable part file. Its data is memory-mapped: reads
// go through the OS page cache, not a Go-heap cache.
type part struct {
	info    partInfo
	version uint32
	path    string
	data    []byte // the mmap of the whole file
	names   []string
	streams []streamKey
	blocks  []blockMeta
	// streamTokens holds the token hashes of each stream's source and host,
	// for FilterToken on any column and on _source/_host.
	streamTokens []map[uint64]bool
	// consts caches the decoded constant columns (part_dict.go), keyed by
	// constKey; a part is immutable, so entries never go stale.
	consts sync.Map
	// pool is the part's skeleton pool (nil: none; skel_pool.go).
	pool *partPool
	// checked has bit seq set once chunk seq's checksum held: a part's
	// file never changes, so each chunk is checked once per process (the
	// first read), not on every search; Verify opens parts afresh.
	checked []atomic.Uint64
	nchunks uint32
	// born is when this process committed the part (Unix ns; 0 for parts
	// found at Open): cheap parts merge by age too (cheapTier).
	born int64

	refs    atomic.Int64 // 1 while live in the store, +1 per snapshot
	mu      sync.Mutex   // guards removed and closed
	removed bool         // deleted from the manifest: remove the file when refs hit 0
	closed  bool
}

// openPart maps the file and decodes its index. info comes from the
// manifest (its size is checked).
func openPart(path string, info partInfo) (*part, error) {
	f, err := os.Open(path) // #nosec G304 -- part paths come from the store's own manifest
	if err != nil {
		return nil, fmt.Errorf("open part: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open part: %w", err)
	}
	if info.Size != 0 && st.Size() != info.Size {
		return nil, fmt.Errorf("open part %s: size %d, manifest says %d", path, st.Size(), info.Size)
	}
	if st.Size() < int64(len(partMagic)+footerSize) {
		return nil, fmt.Errorf("open part %s: file of %d bytes is too short", path, st.Size())
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("open part %s: mmap: %w", path, err)
	}
	p := &part{info: info, path: path, data: data}
	if err := p.decodeIndex(); err != nil {
		syscall.Munmap(data)
		return nil, fmt.Errorf("open part %s: %w", path, err)
	}
	// The index is decoded into the heap; the pages its read faulted in
	// (whole large folios of the page cache: 1-2 MiB a part) would
	// otherwise count in the process's resident memory for as long as
	// the part is open, tens of MiB over a burst's many small parts. The
	// mapping is shared and read-only: the pages stay in the page cache.
	_ = syscall.Madvise(data, syscall.MADV_DONTNEED) // advice only: on failure the pages just stay
	p.refs.Store(1)
	return p, nil
}

// parsePart decodes a part held in memory (for tests and fuzzing).
func parsePart(data []byte) (*part, error) {
	p := &part{data: data}
	if err := p.decodeIndex(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *part) decodeIndex() error {
	d := p.data
	if len(d) < len(partMagic)+footerSize || string(d[:len(partMagic)]) != partMagic {
		return errors.New("bad part header")
	}
	foot := d[len(d)-footerSize:]
	if string(foot[24:]) != partEndMagic {
		return errors.New("bad part footer")
	}
	off, n := binary.LittleEndian.Uint64(foot[0:]), binary.LittleEndian.Uint64(foot[8:])
	end := uint64(len(d) - footerSize)
	if off < uint64(len(partMagic)) || off > end || n != end-off {
		return fmt.Errorf("index at %d+%d outside the file", off, n)
	}
	z := d[off:end]
	if crc32.Checksum(z, castagnoli) != binary.LittleEndian.Uint32(foot[16:]) {
		return fmt.Errorf("index checksum mismatch at offset %d", off)
	}
	p.version = binary.LittleEndian.Uint32(foot[20:])
	if (p.version < 1 || p.version > partVersion) && p.version != rowsPartVersion { // 1 and 2 have no aliases and smaller dictionaries
		return fmt.Errorf("unknown part version %d", p.version)
	}
	initCodecs()
	idx, err := decoder.DecodeAll(z, nil)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return p.parseIndex(bytesToString(idx), off)
}

func (p *part) parseIndex(s string, dataEnd uint64) error {
	r := &reader{s: s}
	if v := r.uvarint(); r.err == nil && ((v < 1 || v > partVersion) && v != rowsPartVersion ||
		p.version != 0 && (v == rowsPartVersion) != (p.version == rowsPartVersion)) {
		return fmt.Errorf("index version %d", v)
	}
	p.info.Partition = r.str()
	p.info.Day = r.varint()
	p.names = make([]string, r.count(1))
	for i := range p.names {
		p.names[i] = r.str()
	}
	p.streams = make([]streamKey, r.count(2))
	p.streamTokens = make([]map[uint64]bool, len(p.streams))
	for i := range p.streams {
		p.streams[i] = streamKey{r.str(), r.str()}
		p.streamTokens[i] = streamTokenSet(p.streams[i])
	}
	p.blocks = make([]blockMeta, r.count(8))
	var rows int64
	for i := range p.blocks {
		bm := &p.blocks[i]
		bm.stream = uint32(r.uvarint())
		bm.minTime = r.varint()
		bm.maxTime = bm.minTime + int64(r.uvarint())
		bm.rows = uint32(r.uvarint())
		bm.minutes = make([]MinuteCount, r.count(2))
		prev := minuteOf(bm.minTime)
		for j := range bm.minutes {
			prev += int64(r.uvarint()) * 60e9
			bm.minutes[j] = MinuteCount{Minute: prev, Count: int(r.uvarint())}
		}
		bm.bloomOff = r.uvarint()
		bm.bloomLen = uint32(r.uvarint())
		bm.timeCol = p.readColMeta(r)
		bm.cols = make([]colMeta, r.count(7))
		for j := range bm.cols {
			bm.cols[j] = p.readColMeta(r)
		}
		if r.err != nil {
			return fmt.Errorf("index: block %d: %w", i, r.err)
		}
		if err := p.checkBlock(bm, dataEnd); err != nil {
			return fmt.Errorf("index: block %d: %w", i, err)
		}
		rows += int64(bm.rows)
		if i == 0 || bm.minTime < p.info.MinTime {
			p.info.MinTime = bm.minTime
		}
		if i == 0 || bm.maxTime > p.info.MaxTime {
			p.info.MaxTime = bm.maxTime
		}
	}
	if r.err != nil {
		return fmt.Errorf("index: %w", r.err)
	}
	if p.version >= skelPoolVersion && p.version != rowsPartVersion {
		var err error
		if p.pool, err = readPool(p.data, dataEnd); err != nil {
			return err
		}
	}
	if r.off != len(s) {
		return fmt.Errorf("index: %d trailing bytes", len(s)-r.off)
	}
	p.info.Rows, p.info.Blocks = rows, len(p.blocks)
	p.checked = make([]atomic.Uint64, p.nchunks/64+1)
	return nil
}

func (p *part) readColMeta(r *reader) colMeta {
	p.nchunks++
	return colMeta{name: uint32(r.uvarint()), seq: p.nchunks, off: r.uvarint(), size: uint32(r.uvarint()), crc: r.u32()}
}

// checkBlock validates references from a block's metadata so that later
// reads cannot go out of bounds.
func (p *part) checkBlock(bm *blockMeta, end uint64) error {
	if int(bm.stream) >= len(p.streams) {
		return fmt.Errorf("stream %d out of range", bm.stream)
	}
	if bm.rows == 0 || bm.maxTime < bm.minTime {
		return errors.New("empty block or bad time range")
	}
	if bm.bloomOff > end || uint64(bm.bloomLen) > end-bm.bloomOff {
		return errors.New("bloom filter outside the data")
	}
	total := 0
	for _, m := range bm.minutes {
		total += m.Count
	}
	if total != int(bm.rows) {
		return fmt.Errorf("minute counts sum to %d, want %d rows", total, bm.rows)
	}
	for _, c := range append([]colMeta{bm.timeCol}, bm.cols...) {
		if int(c.name) >= len(p.names) {
			return fmt.Errorf("column name %d out of range", c.name)
		}
		if c.off > end || uint64(c.size) > end-c.off {
			return fmt.Errorf("column %s outside the data", p.names[c.name])
		}
	}
	if p.version == rowsPartVersion {
		return checkCheapBlock(p, bm)
	}
	return nil
}

func streamTokenSet(sk streamKey) map[uint64]bool {
	m := map[uint64]bool{}
	var buf []byte
	for _, s := range []string{sk.source, sk.host} {
		buf = tokenHashes(s, buf, func(h uint64) { m[h] = true })
	}
	return m
}

// chunk returns the bytes of column c after checking its checksum (once
// per process: later reads trust a check that held).
func (p *part) chunk(c colMeta) ([]byte, error) {
	w, bit := c.seq/64, uint64(1)<<(c.seq%64)
	if c.seq != 0 && int(w) < len(p.checked) && p.checked[w].Load()&bit != 0 {
		return p.data[c.off : c.off+uint64(c.size)], nil
	}
	return p.chunkFresh(c)
}

// checkBlockFresh checks every chunk of block i (chunkFresh).
func (p *part) checkBlockFresh(i int) error {
	bm := &p.blocks[i]
	if _, err := p.chunkFresh(bm.timeCol); err != nil {
		return err
	}
	for _, c := range bm.cols {
		if _, err := p.chunkFresh(c); err != nil {
			return err
		}
	}
	return nil
}

// chunkFresh is chunk checking the CRC even when an earlier read's check
// held, for merges: what a merge writes gets a new CRC, so the bytes it
// reads are checked then, as Verify would (the mapping may show bytes
// that changed on the disk since the first read).
func (p *part) chunkFresh(c colMeta) ([]byte, error) {
	b := p.data[c.off : c.off+uint64(c.size)]
	w, bit := c.seq/64, uint64(1)<<(c.seq%64)
	if crc32.Checksum(b, castagnoli) != c.crc {
		return nil, fmt.Errorf("part %s: column %s at offset %d: checksum mismatch", p.path, p.names[c.name], c.off)
	}
	if c.seq != 0 && int(w) < len(p.checked) {
		p.checked[w].Or(bit)
	}
	return b, nil
}

// loadBlock decodes the named columns of block i (nil means all), with at
// most one LoadOptions.
func (p *part) loadBlock(i int, cols []string, o ...LoadOptions) (*Block, error) {
	var opts LoadOptions
	if len(o) > 0 {
		opts = o[0]
	}
	return p.loadBlockWith(i, cols, opts)
}

// loadBlockWith is loadBlock with options (ColumnLoader.LoadWith).
func (p *part) loadBlockWith(i int, cols []string, o LoadOptions) (*Block, error) {
	return p.loadBlockBodies(i, cols, o, nil)
}

// loadBlockBodies is loadBlockWith through bb (nil: none), which holds
// the chunks checked and the bodies decompressed by the block's loads.
func (p *part) loadBlockBodies(i int, cols []string, o LoadOptions, bb *BlockBodies) (*Block, error) {
	bm := &p.blocks[i]
	sk := p.streams[bm.stream]
	b := &Block{Partition: p.info.Partition, Source: sk.source, Host: sk.host, N: int(bm.rows)}
	if !o.NoTimes || cols == nil || slices.Contains(cols, event.FieldTime) {
		tc, err := bb.chunk(p, i, bm.timeCol)
		if err != nil {
			return nil, err
		}
		if b.Times, err = decodeTimes(tc, int(bm.rows)); err != nil {
			return nil, fmt.Errorf("part %s block %d: %w", p.path, i, err)
		}
	}
	if cols == nil {
		cols = p.blockColumns(bm)
	}
	b.Cols = make([]Column, 0, len(cols))
	l := &blockLoader{p: p, bm: bm, i: i, times: b.Times, cols: make([]Column, len(bm.cols)), want: make([]bool, len(bm.cols)), rows: o.Rows, bb: bb}
	defer func() {
		if b.Raw == nil {
			l.release() // else the RawTemplates owns the loader
		}
	}()
	for _, name := range cols {
		for k, c := range bm.cols {
			if p.names[c.name] == name {
				l.want[k] = true
			}
		}
	}
	var pruned []string
	if len(o.PruneCols) > 0 {
		var err error
		if pruned, err = l.pruneColumns(o.PruneCols, o.PruneTexts); err != nil {
			return nil, err
		}
		pruned = l.pruneAliases(o.PruneCols, pruned)
	}
	l.wantTargets()
	for _, name := range cols {
		if slices.Contains(pruned, name) {
			continue
		}
		if o.RawTemplates && name == event.FieldRaw && b.Raw == nil {
			var err error
			if b.Raw, err = l.rawTemplates(); err != nil {
				return nil, err
			}
			if b.Raw != nil {
				continue // not expanded: Block.Raw instead of a column
			}
		}
		col, err := p.loadColumn(l, name)
		if err != nil {
			return nil, err
		}
		b.Cols = append(b.Cols, col)
	}
	return b, nil
}

// blockLoader decodes the columns of one block at most once each.
type blockLoader struct {
	p     *part
	bm    *blockMeta
	i     int
	times []int64
	cols  []Column     // by block column index; Values nil until decoded
	want  []bool       // by block column index: asked for by the caller
	busy  []bool       // column being decoded (guards against reference cycles)
	rows  []int        // LoadOptions.Rows: the rows whose _raw is expanded (nil: all)
	pre   []preBody    // by block column index: bodies decompressed by pruneColumns
	bb    *BlockBodies // nil, or what the block's loads checked and decompressed
	// scratch holds the buffers of what is decoded only for this load
	// (template texts, referenced columns not asked for); release gives
	// them back.
	scratch []*colScratch
}

// newScratch returns a scratch buffer the loader owns until release.
func (l *blockLoader) newScratch() *colScratch {
	sc := getScratch()
	l.scratch = append(l.scratch, sc)
	return sc
}

func (l *blockLoader) release() {
	for _, sc := range l.scratch {
		putScratch(sc)
	}
	l.scratch = nil
}

func (l *blockLoader) col(k int) (Column, error) {
	if l.cols[k].Values != nil {
		return l.cols[k], nil
	}
	if l.busy == nil {
		l.busy = make([]bool, len(l.cols))
	}
	if l.busy[k] {
		return Column{}, fmt.Errorf("part %s block %d: %w: column %d refers to itself", l.p.path, l.i, errTemplate, k)
	}
	l.busy[k] = true
	defer func() { l.busy[k] = false }()
	c := l.bm.cols[k]
	name := l.p.names[c.name]
	ch, err := l.bb.chunk(l.p, l.i, c)
	if err != nil {
		return Column{}, err
	}
	if len(ch) > 0 && ch[0] == kindAlias {
		return l.alias(k, ch, name)
	}
	// A column not asked for lives only during this load, and so does a
	// template's text (it is expanded into a fresh buffer).
	transient := !l.want[k]
	var vals []string
	var absent []bool
	if l.pre != nil && l.pre[k].sc != nil {
		// Decompressed by pruneColumns (so never asked for): decode it in
		// its scratch.
		pb := l.pre[k]
		vals, absent, err = decodeBody(pb.kind, pb.body, int(l.bm.rows), pb.sc, true)
	} else if ch[0] == kindSkeleton {
		vals, absent, err = l.decodeSkeletons(ch) // _raw as skeletons (enc_skel.go)
	} else {
		var sc *colScratch
		if transient || ch[0] == kindTemplate {
			sc = l.newScratch()
		}
		vals, absent, err = decodeColumnRows(ch, int(l.bm.rows), sc, transient, l.rows)
	}
	if err != nil {
		return Column{}, fmt.Errorf("part %s block %d column %s: %w", l.p.path, l.i, name, err)
	}
	col := Column{Name: name, Values: vals, Absent: absent}
	if isTemplateKind(ch[0]) {
		if col, err = l.expandRaw(col); err != nil {
			return Column{}, fmt.Errorf("part %s block %d column %s: %w", l.p.path, l.i, name, err)
		}
	}
	l.cols[k] = col
	return col, nil
}

// expandRaw turns a template column back into raw text, in place (only
// the rows of l.rows when set; the others become empty). The columns the
// templates refer to are decoded when first met.
func (l *blockLoader) expandRaw(t Column) (Column, error) {
	sk := l.p.streams[l.bm.stream]
	rows := l.rows
	if len(rows) > 0 && (rows[0] < 0 || rows[len(rows)-1] >= len(t.Values) || !slices.IsSorted(rows)) {
		return Column{}, fmt.Errorf("rows to load: %d rows out of order or outside the block of %d", len(rows), len(t.Values))
	}
	// References are mostly short values; half again the template size
	// avoids most regrowing.
	n := 0
	if rows == nil {
		for _, v := range t.Values {
			n += len(v) + 16
		}
	} else {
		for _, r := range rows {
			n += len(t.Values[r]) + 16
		}
	}
	buf := make([]byte, 0, n+n/2)
	sc := getScratch()
	defer putScratch(sc)
	count := len(t.Values)
	if rows != nil {
		count = len(rows)
	}
	ends := slices.Grow(sc.lens[:0], count)
	for j := range count {
		r := j
		if rows != nil {
			r = rows[j]
		}
		if !t.Has(r) {
			ends = append(ends, uint64(len(buf)))
			continue
		}
		var err error
		if buf, err = expandLazy(buf, t.Values[r], sk.host, sk.source, l.cols, r, l.col); err != nil {
			return Column{}, err
		}
		ends = append(ends, uint64(len(buf)))
	}
	sc.lens = ends
	if rows != nil {
		clear(t.Values) // the template texts live in scratch memory
	}
	all, start := bytesToString(buf), 0
	for j, e := range ends {
		r := j
		if rows != nil {
			r = rows[j]
		}
		t.Values[r] = all[start:e]
		start = int(e)
	}
	return t, nil
}

func (p *part) loadColumn(l *blockLoader, name string) (Column, error) {
	bm := l.bm
	rows := int(bm.rows)
	switch name {
	case event.FieldTime:
		return timeColumn(l.times), nil
	case event.FieldSource, event.FieldHost, event.FieldPartition:
		return metaColumn(name, p.info.Partition, p.streams[bm.stream], rows), nil
	}
	for k, c := range bm.cols {
		if p.names[c.name] == name {
			return l.col(k)
		}
	}
	return absentColumn(name, rows), nil
}

func (p *part) blockColumns(bm *blockMeta) []string {
	out := make([]string, 0, len(bm.cols)+1)
	out = append(out, event.FieldTime)
	for _, c := range bm.cols {
		out = append(out, p.names[c.name])
	}
	return out
}

func timeColumn(times []int64) Column {
	vals := make([]string, len(times))
	var one []byte
	if len(times) > 0 {
		one = event.AppendTime(nil, times[0])
	}
	// One backing buffer; views are taken at the end because it may grow.
	buf := make([]byte, 0, len(times)*(len(one)+4))
	ends := make([]int32, len(times))
	for i, t := range times {
		buf = event.AppendTime(buf, t)
		ends[i] = int32(len(buf))
	}
	all, start := bytesToString(buf), 0
	for i, e := range ends {
		vals[i] = all[start:e]
		start = int(e)
	}
	return Column{Name: event.FieldTime, Values: vals}
}

func metaColumn(name, partition string, sk streamKey, rows int) Column {
	v := partition
	switch name {
	case event.FieldSource:
		v = sk.source
	case event.FieldHost:
		v = sk.host
	}
	if v == "" {
		return absentColumn(name, rows)
	}
	vals := make([]string, rows)
	for i := range vals {
		vals[i] = v
	}
	return Column{Name: name, Values: vals}
}

func absentColumn(name string, rows int) Column {
	absent := make([]bool, rows)
	for i := range absent {
		absent[i] = true
	}
	return Column{Name: name, Values: make([]string, rows), Absent: absent}
}

// bloom returns block i's token filter.
func (p *part) bloom(i int) []byte {
	bm := &p.blocks[i]
	return p.data[bm.bloomOff : bm.bloomOff+uint64(bm.bloomLen)]
}

// acquire pins the part for a snapshot; it fails when the part is already
// gone.
func (p *part) acquire() bool {
	for {
		n := p.refs.Load()
		if n <= 0 {
			return false
		}
		if p.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference; the last one unmaps the file and, when the
// part was removed from the manifest, deletes it.
func (p *part) release() error {
	if p.refs.Add(-1) > 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	forgetPartBodies(p)
	var errs []error
	if p.data != nil && p.path != "" {
		p.pool.drop()
		errs = append(errs, syscall.Munmap(p.data))
	}
	p.data = nil
	if p.removed {
		if err := os.Remove(p.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("release part %s: %w", p.path, err)
	}
	return nil
}
