package store

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/mamori/mamori/internal/event"
)

// Part file layout (see docs/format/store.md):
//
//	"MAMPART1" | column chunks and bloom filters | index (zstd) | footer
//
// footer (32 bytes): u64 index offset | u64 index length | u32 CRC-32C of
// the index bytes | u32 format version | "MAMPEND1".
const (
	partMagic    = "MAMPART1"
	partEndMagic = "MAMPEND1"
	footerSize   = 32
	// partVersion 2: blooms also hold exact field=value hashes of dict and
	// const columns; 3: alias columns (kindAlias), dictionaries of up to
	// maxDict values; 4: _raw as skeletons (kindSkeleton); 5: chunks may
	// use codecPacked and codecFramed; 6: a skeleton pool (skel_pool.go)
	// and pooled skeleton heads (codecPooled).
	partVersion = 6
	partExt     = ".part"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// colMeta locates one column chunk of a block.
type colMeta struct {
	name uint32 // index into the part's names
	// seq numbers the chunks of a part read from its index (from 1; 0:
	// none), for the part's record of chunks whose checksum held.
	seq  uint32
	off  uint64
	size uint32
	crc  uint32
}

// blockMeta is one block's entry in the part index.
type blockMeta struct {
	stream   uint32
	minTime  int64
	maxTime  int64
	rows     uint32
	minutes  []MinuteCount
	bloomOff uint64
	bloomLen uint32
	timeCol  colMeta
	cols     []colMeta
}

type streamKey struct{ source, host string }

// partWriter writes one part file: blocks, then the index and footer.
type partWriter struct {
	tmp, final string
	relName    string // the manifest name
	f          *os.File
	w          *bufio.Writer
	crc        hash.Hash32 // over every byte written
	off        uint64
	lv         level
	// fullRows, when > 0, is the block size at which a block counts as
	// full: full blocks are always compressed at levelBetter, so merges
	// may copy them verbatim (see copyBlock).
	fullRows int
	// version is the part version written (0: partVersion; cheap parts
	// write rowsPartVersion).
	version uint32
	// encoded counts the rows writeBlock encoded (not copied, not cheap).
	encoded int64

	partition string
	day       int64
	names     []string
	nameIdx   map[string]uint32
	streams   []streamKey
	streamIdx map[streamKey]uint32
	blocks    []blockMeta
	rows      int64
	minTime   int64
	maxTime   int64

	bloom bloomBuilder
	tmpl  templater
	kinds []byte
	alias []int // by column: the earlier column it is an alias of, or -1
	buf   []byte
	cols  colBuilder
	// dicts are the dictionaries of the block's columns (colDict).
	dicts []colDict
	// raw and cheapOut are the batch and chunk buffers of cheap blocks.
	raw, cheapOut []byte
	// pool collects the part's skeleton pool (part version 6); finish
	// writes it before the index.
	pool poolBuilder
}

// createPart starts writing the part at path (written under a temporary
// name and renamed by finish).
func createPart(path, partition string, day int64, lv level) (*partWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create part: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600) // #nosec G304 -- a part path the store names itself
	if err != nil {
		return nil, fmt.Errorf("create part: %w", err)
	}
	pw := &partWriter{tmp: tmp, final: path, f: f, w: bufio.NewWriterSize(f, 1<<20), crc: crc32.New(castagnoli), lv: lv,
		partition: partition, day: day, nameIdx: map[string]uint32{}, streamIdx: map[streamKey]uint32{},
		cols: colBuilder{reuse: true}}
	pw.tmpl.sk.pool = &pw.pool
	if err := pw.write([]byte(partMagic)); err != nil {
		pw.abort()
		return nil, err
	}
	return pw, nil
}

func (pw *partWriter) write(b []byte) error {
	if _, err := pw.w.Write(b); err != nil {
		return fmt.Errorf("write part: %w", err)
	}
	pw.crc.Write(b)
	pw.off += uint64(len(b))
	return nil
}

func (pw *partWriter) name(n string) uint32 {
	i, ok := pw.nameIdx[n]
	if !ok {
		i = uint32(len(pw.names))
		pw.names = append(pw.names, n)
		pw.nameIdx[n] = i
	}
	return i
}

func (pw *partWriter) writeChunk(name uint32, chunk []byte) (colMeta, error) {
	cm := colMeta{name: name, off: pw.off, size: uint32(len(chunk)), crc: crc32.Checksum(chunk, castagnoli)}
	return cm, pw.write(chunk)
}

// writeBlock writes rows (sorted by time, all of stream source/host) as
// one block.
func (pw *partWriter) writeBlock(source, host string, rows []*event.Event) error {
	if len(rows) == 0 {
		return nil
	}
	lv := pw.lv
	if pw.fullRows > 0 && len(rows) >= pw.fullRows {
		lv = levelBetter
	}
	rawLv := lv
	if lv == levelBetter {
		rawLv = levelRawBetter
	}
	pw.encoded += int64(len(rows))
	pw.pool.off = poolsOff || !pw.hasPool() // parts of older versions (tests) keep the texts
	bm := blockMeta{stream: pw.stream(streamKey{source, host}), minTime: rows[0].Time, maxTime: rows[len(rows)-1].Time, rows: uint32(len(rows))}
	bm.minutes = minuteCounts(rows)
	cb := &pw.cols
	cb.build(rows)

	ts := make([]int64, len(rows))
	for i, e := range rows {
		ts[i] = e.Time
	}
	var err error
	pw.buf = encodeTimes(pw.buf[:0], ts)
	if bm.timeCol, err = pw.writeChunk(pw.name(event.FieldTime), pw.buf); err != nil {
		return err
	}
	kinds := pw.kinds[:0]
	pw.alias = findAliases(pw.alias, cb.cols)
	pw.resetDicts(len(cb.cols))
	for i := range cb.cols {
		c := &cb.cols[i]
		switch {
		case i == 0: // _raw, as templates or skeletons
			pw.buf = pw.tmpl.chunk(pw.buf[:0], rows, cb, rawLv)
		case pw.alias[i] >= 0:
			pw.buf = appendAliasChunk(pw.buf[:0], pw.alias[i])
		default:
			pw.buf = encodeColumnDict(pw.buf[:0], c.vals, c.absent, lv, &pw.dicts[i])
		}
		kinds = append(kinds, pw.buf[0])
		cm, err := pw.writeChunk(pw.name(c.name), pw.buf)
		if err != nil {
			return err
		}
		bm.cols = append(bm.cols, cm)
	}
	pw.kinds = kinds
	pw.bloom.reset()
	for i := range cb.cols {
		c := &cb.cols[i]
		if c.name == event.FieldReceived {
			continue
		}
		kind := kinds[i]
		if kind == kindAlias {
			// Its tokens are the target's; its exact keys have its name.
			kind = kinds[pw.alias[i]]
		}
		exact := kind == kindDict || kind == kindConst
		if kinds[i] == kindAlias && !exact {
			continue
		}
		vals := c.vals
		if kinds[i] == kindConst {
			vals = vals[:1] // every row holds row 0's value
		}
		if d := &pw.dicts[i]; kinds[i] == kindDict && d.ok {
			pw.addDictKeys(c, d)
			continue
		}
		var last string
		for j, v := range vals {
			if (c.absent != nil && c.absent[j]) || (j > 0 && v == last) {
				continue
			}
			last = v
			// Fast path: a value found in the raw text at word
			// boundaries adds no token the raw text did not add.
			if kinds[i] != kindAlias && (i == 0 || c.covered == nil || !c.covered[j]) {
				pw.bloom.addText(v)
			}
			if exact {
				pw.bloom.addHash(exactHash(c.name, v))
			}
		}
	}
	addCoverageKeys(&pw.bloom, cb, kinds, pw.dicts)
	pw.buf = pw.bloom.finish(pw.buf[:0])
	bm.bloomOff, bm.bloomLen = pw.off, uint32(len(pw.buf))
	if err := pw.write(pw.buf); err != nil {
		return err
	}
	pw.addBlock(bm)
	return nil
}

// resetDicts readies pw.dicts for a block of n columns: one colDict a
// column (reused from block to block), none valid yet.
func (pw *partWriter) resetDicts(n int) {
	for len(pw.dicts) < n {
		pw.dicts = append(pw.dicts, colDict{})
	}
	for i := range pw.dicts {
		pw.dicts[i].ok = false
	}
}

// addDictKeys adds the bloom keys of dictionary column c (not an alias)
// as the row loop of writeBlock does, from its row codes: the same
// hashes in the same order (a row whose value equals the last added
// row's adds nothing; the first comparison is with "", as there), without
// comparing strings, and each value's exact key hashed once.
func (pw *partWriter) addDictKeys(c *builtCol, d *colDict) {
	var last uint32 // the code of the last added value; "" before any
	for k, v := range d.vals {
		if v == "" {
			last = uint32(k + 1)
			break
		}
	}
	for j, code := range d.codes {
		if code == 0 || (j > 0 && code == last) {
			continue
		}
		last = code
		// Fast path: a value found in the raw text at word boundaries
		// adds no token the raw text did not add.
		if c.covered == nil || !c.covered[j] {
			pw.bloom.addText(c.vals[j])
		}
		pw.bloom.addHash(d.exact(c.name, code))
	}
}

func (pw *partWriter) stream(sk streamKey) uint32 {
	si, ok := pw.streamIdx[sk]
	if !ok {
		si = uint32(len(pw.streams))
		pw.streams = append(pw.streams, sk)
		pw.streamIdx[sk] = si
	}
	return si
}

// copyBlock copies block bi of src as it is (its chunks byte for byte
// after checking their CRCs, and its bloom filter), for merges: a block's
// chunks refer to each other by position in the block, never by offset,
// so only the index entry changes, and a pooled skeleton head's pool
// entries (renumbered into this part's pool, skel_pool_head.go). src
// must have the current part version.
func (pw *partWriter) copyBlock(src *part, bi int) error {
	if src.version != partVersion {
		return fmt.Errorf("BUG: copy block of part version %d", src.version)
	}
	sbm := &src.blocks[bi]
	bm := blockMeta{stream: pw.stream(src.streams[sbm.stream]), minTime: sbm.minTime, maxTime: sbm.maxTime,
		rows: sbm.rows, minutes: sbm.minutes}
	copyChunk := func(c colMeta) (colMeta, error) {
		ch, err := src.chunkFresh(c)
		if err != nil {
			return colMeta{}, err
		}
		// A pooled head names entries of src's pool: renumbered into
		// this part's.
		out, changed, err := repool(pw.buf[:0], ch, src.pool, &pw.pool, pw.lv)
		if err != nil {
			return colMeta{}, fmt.Errorf("part %s block %d column %s: %w", src.path, bi, src.names[c.name], err)
		}
		if changed {
			pw.buf = out
			ch = out
		}
		return pw.writeChunk(pw.name(src.names[c.name]), ch)
	}
	var err error
	if bm.timeCol, err = copyChunk(sbm.timeCol); err != nil {
		return err
	}
	bm.cols = make([]colMeta, 0, len(sbm.cols))
	for _, c := range sbm.cols {
		cm, err := copyChunk(c)
		if err != nil {
			return err
		}
		bm.cols = append(bm.cols, cm)
	}
	f := src.bloom(bi)
	bm.bloomOff, bm.bloomLen = pw.off, uint32(len(f))
	if err := pw.write(f); err != nil {
		return err
	}
	pw.addBlock(bm)
	return nil
}

// addBlock records a written block in the index.
func (pw *partWriter) addBlock(bm blockMeta) {
	if len(pw.blocks) == 0 || bm.minTime < pw.minTime {
		pw.minTime = bm.minTime
	}
	if len(pw.blocks) == 0 || bm.maxTime > pw.maxTime {
		pw.maxTime = bm.maxTime
	}
	pw.rows += int64(bm.rows)
	pw.blocks = append(pw.blocks, bm)
}

// minuteCounts counts rows per minute; rows are sorted by time.
func minuteCounts(rows []*event.Event) []MinuteCount {
	var out []MinuteCount
	for _, e := range rows {
		m := minuteOf(e.Time)
		if n := len(out); n > 0 && out[n-1].Minute == m {
			out[n-1].Count++
			continue
		}
		out = append(out, MinuteCount{Minute: m, Count: 1})
	}
	return out
}

func minuteOf(t int64) int64 {
	m := t - t%60e9
	if t%60e9 < 0 {
		m -= 60e9
	}
	return m
}

// partVersion is the version pw writes.
func (pw *partWriter) partVersion() uint32 {
	if pw.version != 0 {
		return pw.version
	}
	return partVersion
}

// hasPool reports whether pw's part version has a pool table.
func (pw *partWriter) hasPool() bool {
	v := pw.partVersion()
	return v >= skelPoolVersion && v != rowsPartVersion
}

// encodeIndex returns the uncompressed index.
func (pw *partWriter) encodeIndex() []byte {
	b := binary.AppendUvarint(nil, uint64(pw.partVersion()))
	b = appendStr(b, pw.partition)
	b = binary.AppendVarint(b, pw.day)
	b = binary.AppendUvarint(b, uint64(len(pw.names)))
	for _, n := range pw.names {
		b = appendStr(b, n)
	}
	b = binary.AppendUvarint(b, uint64(len(pw.streams)))
	for _, s := range pw.streams {
		b = appendStr(b, s.source)
		b = appendStr(b, s.host)
	}
	b = binary.AppendUvarint(b, uint64(len(pw.blocks)))
	for i := range pw.blocks {
		bm := &pw.blocks[i]
		b = binary.AppendUvarint(b, uint64(bm.stream))
		b = binary.AppendVarint(b, bm.minTime)
		b = binary.AppendUvarint(b, uint64(bm.maxTime-bm.minTime))
		b = binary.AppendUvarint(b, uint64(bm.rows))
		b = binary.AppendUvarint(b, uint64(len(bm.minutes)))
		prev := minuteOf(bm.minTime)
		for _, m := range bm.minutes {
			b = binary.AppendUvarint(b, uint64((m.Minute-prev)/60e9))
			b = binary.AppendUvarint(b, uint64(m.Count))
			prev = m.Minute
		}
		b = binary.AppendUvarint(b, bm.bloomOff)
		b = binary.AppendUvarint(b, uint64(bm.bloomLen))
		b = appendColMeta(b, bm.timeCol)
		b = binary.AppendUvarint(b, uint64(len(bm.cols)))
		for _, c := range bm.cols {
			b = appendColMeta(b, c)
		}
	}
	return b
}

func appendColMeta(b []byte, c colMeta) []byte {
	b = binary.AppendUvarint(b, uint64(c.name))
	b = binary.AppendUvarint(b, c.off)
	b = binary.AppendUvarint(b, uint64(c.size))
	return binary.LittleEndian.AppendUint32(b, c.crc)
}

// partInfo is what the manifest records about a part.
type partInfo struct {
	Name      string `json:"name"` // path relative to the parts directory
	Partition string `json:"partition"`
	Day       int64  `json:"day"` // days since the Unix epoch
	Size      int64  `json:"size"`
	CRC       uint32 `json:"crc32c"`
	Rows      int64  `json:"rows"`
	Blocks    int    `json:"blocks"`
	MinTime   int64  `json:"min_time"`
	MaxTime   int64  `json:"max_time"`
	// Cheap marks a cheap part (rowsPartVersion, cheap_part.go).
	Cheap bool `json:"cheap,omitempty"`
}

// finish writes the index and footer, syncs, and renames the file into
// place. It does not sync the directory (the caller does, once).
func (pw *partWriter) finish() (partInfo, error) {
	if pw.hasPool() {
		if err := pw.pool.write(pw.write, pw.off, pw.lv); err != nil {
			pw.abort()
			return partInfo{}, err
		}
	}
	idx := pw.encodeIndex()
	initCodecs()
	z := encoders[levelFast].EncodeAll(idx, nil)
	idxOff := pw.off
	if err := pw.write(z); err != nil {
		pw.abort()
		return partInfo{}, err
	}
	foot := binary.LittleEndian.AppendUint64(nil, idxOff)
	foot = binary.LittleEndian.AppendUint64(foot, uint64(len(z)))
	foot = binary.LittleEndian.AppendUint32(foot, crc32.Checksum(z, castagnoli))
	foot = binary.LittleEndian.AppendUint32(foot, pw.partVersion())
	foot = append(foot, partEndMagic...)
	if err := pw.write(foot); err != nil {
		pw.abort()
		return partInfo{}, err
	}
	if err := pw.w.Flush(); err != nil {
		pw.abort()
		return partInfo{}, fmt.Errorf("write part: %w", err)
	}
	if err := pw.f.Sync(); err != nil {
		pw.abort()
		return partInfo{}, fmt.Errorf("sync part: %w", err)
	}
	if err := pw.f.Close(); err != nil {
		os.Remove(pw.tmp)
		return partInfo{}, fmt.Errorf("close part: %w", err)
	}
	if err := os.Rename(pw.tmp, pw.final); err != nil {
		os.Remove(pw.tmp)
		return partInfo{}, fmt.Errorf("rename part: %w", err)
	}
	return partInfo{Partition: pw.partition, Day: pw.day, Size: int64(pw.off), CRC: pw.crc.Sum32(), Rows: pw.rows,
		Blocks: len(pw.blocks), MinTime: pw.minTime, MaxTime: pw.maxTime, Cheap: pw.version == rowsPartVersion}, nil
}

// abort removes the unfinished file.
func (pw *partWriter) abort() {
	pw.f.Close()
	os.Remove(pw.tmp)
}

// colBuilder turns rows into columns: _raw, _category, _received, then
// fields in order of first appearance.
type colBuilder struct {
	cols []builtCol
	idx  map[string]int
	// hint[j] is the column of the last row's field j: rows of a stream
	// mostly list the same fields in the same order, so find usually
	// needs no map lookup.
	hint []int
	// reuse lets build recycle the column arrays of the previous block;
	// only for builders whose columns do not outlive the next build.
	reuse bool
}

type builtCol struct {
	name   string
	vals   []string
	absent []bool
	spare  []bool // the absent array while absent is nil, for reuse
	// covered marks rows whose value's tokens are all tokens of the row's
	// raw text (set by templater.body; nil or all false otherwise).
	covered []bool
}

func (cb *colBuilder) col(name string, rows int) *builtCol {
	i, ok := cb.idx[name]
	if !ok {
		i = len(cb.cols)
		cb.idx[name] = i
		if i < cap(cb.cols) && cb.reuse {
			// Reuse the arrays of an earlier block (capacity kept).
			cb.cols = cb.cols[:i+1]
			c := &cb.cols[i]
			c.name = name
			c.vals = grow(c.vals, rows)
			if c.absent == nil {
				c.absent = c.spare
			}
			c.absent = growTo(c.absent, rows)
		} else {
			cb.cols = append(cb.cols, builtCol{name: name, vals: make([]string, rows), absent: make([]bool, rows)})
		}
		a := cb.cols[i].absent
		for j := range a {
			a[j] = true
		}
	}
	return &cb.cols[i]
}

func grow(s []string, n int) []string {
	if cap(s) < n {
		return make([]string, n)
	}
	s = s[:n]
	clear(s)
	return s
}

func (cb *colBuilder) build(rows []*event.Event) {
	cb.cols = cb.cols[:0]
	if cb.idx == nil {
		cb.idx = map[string]int{}
	}
	clear(cb.idx)
	n := len(rows)
	cb.col(event.FieldRaw, n)
	cb.col(event.FieldCategory, n)
	raw, cat := &cb.cols[0], &cb.cols[1]
	for i, e := range rows {
		raw.vals[i], raw.absent[i] = e.Raw, false
		if e.Category != "" {
			cat.vals[i], cat.absent[i] = e.Category, false
		}
	}
	hasRecv := false
	for _, e := range rows {
		if e.Received != 0 {
			hasRecv = true
			break
		}
	}
	if hasRecv {
		c := cb.col(event.FieldReceived, n)
		var buf []byte
		var last int64
		var lastStr string
		for i, e := range rows {
			if e.Received != 0 {
				if e.Received != last || lastStr == "" {
					// Rows of one request share their receive time.
					buf = appendInt(buf[:0], e.Received)
					last, lastStr = e.Received, string(buf)
				}
				c.vals[i], c.absent[i] = lastStr, false
			}
		}
	}
	for i, e := range rows {
		for j, f := range e.Fields {
			if isReservedColumn(f.Name) {
				continue
			}
			k, ok := cb.find(j, f.Name)
			if !ok {
				cb.col(f.Name, n)
				k = len(cb.cols) - 1
				cb.setHint(j, k)
			}
			c := &cb.cols[k]
			if !c.absent[i] { // a repeated name: the first wins, like Event.Get
				continue
			}
			c.vals[i], c.absent[i] = f.Value, false
		}
	}
	for i := range cb.cols {
		c := &cb.cols[i]
		all := true
		for _, a := range c.absent {
			if a {
				all = false
				break
			}
		}
		if all {
			c.spare, c.absent = c.absent, nil
		}
	}
}

// find returns the column of the field called name at position j of a
// row's fields, trying the column of the previous row's field j first.
// A reserved name finds its metadata column, if the block has it.
func (cb *colBuilder) find(j int, name string) (int, bool) {
	if j < len(cb.hint) {
		if k := cb.hint[j]; k >= 0 && k < len(cb.cols) && cb.cols[k].name == name {
			return k, true // Fast path: the same field as the row before.
		}
	}
	k, ok := cb.idx[name]
	if ok {
		cb.setHint(j, k)
	}
	return k, ok
}

func (cb *colBuilder) setHint(j, k int) {
	for len(cb.hint) <= j {
		cb.hint = append(cb.hint, -1)
	}
	cb.hint[j] = k
}

// isReservedColumn reports field names the store keeps as metadata; an
// event field of such a name is not stored twice.
func isReservedColumn(name string) bool {
	switch name {
	case event.FieldTime, event.FieldRaw, event.FieldCategory, event.FieldReceived,
		event.FieldSource, event.FieldHost, event.FieldPartition:
		return true
	}
	return false
}
