package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/mamori/mamori/internal/event"
)

// Cheap parts (docs/format/store.md, "Cheap parts"): unless
// Options.FullFlush is set, a flush writes each partition-day's rows as
// they sit in the WAL records (the batch encoding of batch.go), sorted by
// stream and time, one zstd frame (fastest level) per block, with no
// templates, skeletons, column encodings or bloom filters. A flush then
// costs about one copy and one fast compression of each row instead of a
// full block encoding, and the row's first merge (which reads cheap blocks
// by decoding the batch, not the columns) writes its only full encoding.
//
// A cheap part is an ordinary part file (same header, index and footer,
// so the manifest, checksums, retention, snapshots and verify handle it)
// whose footer and index carry rowsPartVersion. Each block has one chunk,
// in the time column's slot, named rowsColumn:
//
//	byte rowsCodecZstd | zstd frame of: uvarint count, count × event
//
// (an event as in a WAL record: time, received, raw, source, host,
// category, partition, fields), no other columns and an empty bloom
// filter. Queries see its blocks as cheapRefs, which prune on metadata
// only and decode every row when loaded, like the in-memory blocks.
// Merges turn cheap parts into full ones: while rows arrive by the
// usual tier rules, and once the store is idle or a partition-day quiet,
// every cheap part left (cheapTier), so a settled store holds none.
const (
	rowsPartVersion = 0x100
	rowsColumn      = "_rows"
	rowsCodecZstd   = 1 // a zstd frame
	rowsCodecS2     = 2 // an S2 block (github.com/klauspost/compress/s2)
	// cheapBlockBytes bounds the batch encoding of one cheap block.
	cheapBlockBytes = 4 << 20
)

// cheapCodec is the codec cheap blocks are written with: S2 costs ~1/4
// of zstd's fastest level a row for about twice the bytes (cheap parts
// are short-lived). A variable for measurements.
var cheapCodec = rowsCodecS2

// cheap reports whether p is a cheap part.
func (p *part) cheap() bool { return p.version == rowsPartVersion }

// checkCheapBlock checks a cheap block's layout (parseIndex).
func checkCheapBlock(p *part, bm *blockMeta) error {
	if len(bm.cols) != 0 || p.names[bm.timeCol.name] != rowsColumn || bm.bloomLen != 0 {
		return errors.New("cheap block is not one rows chunk")
	}
	return nil
}

// writeCheapStream writes one stream's rows (sorted by time, all of one
// day) as cheap blocks of at most blockRows rows.
func writeCheapStream(pw *partWriter, source, host string, recs []string, rows []memRow, blockRows int) error {
	for len(rows) > 0 {
		pw.raw = pw.raw[:0]
		n := 0
		for n < len(rows) && n < blockRows && (n == 0 || len(pw.raw) < cheapBlockBytes) {
			r := rows[n]
			pw.raw = append(pw.raw, recs[r.rec][r.off:r.end]...)
			n++
		}
		if err := pw.writeCheapBlock(source, host, rows[:n]); err != nil {
			return fmt.Errorf("write cheap block: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

// writeCheapBlock writes pw.raw (the encodings of rows, in order) as one
// cheap block.
func (pw *partWriter) writeCheapBlock(source, host string, rows []memRow) error {
	initCodecs()
	pw.buf = binary.AppendUvarint(pw.buf[:0], uint64(len(rows)))
	pw.buf = append(pw.buf, pw.raw...)
	var out []byte
	switch cheapCodec {
	case rowsCodecZstd:
		out = encoders[levelFast].EncodeAll(pw.buf, append(pw.cheapOut[:0], rowsCodecZstd))
	default:
		n := 1 + s2.MaxEncodedLen(len(pw.buf))
		if cap(pw.cheapOut) < n {
			pw.cheapOut = make([]byte, n)
		}
		out = pw.cheapOut[:n]
		out[0] = rowsCodecS2
		out = out[:1+len(s2.Encode(out[1:], pw.buf))]
	}
	pw.cheapOut = out
	bm := blockMeta{stream: pw.stream(streamKey{source, host}), minTime: rows[0].time, maxTime: rows[len(rows)-1].time, rows: uint32(len(rows))}
	for _, r := range rows {
		m := minuteOf(r.time)
		if n := len(bm.minutes); n > 0 && bm.minutes[n-1].Minute == m {
			bm.minutes[n-1].Count++
			continue
		}
		bm.minutes = append(bm.minutes, MinuteCount{Minute: m, Count: 1})
	}
	var err error
	if bm.timeCol, err = pw.writeChunk(pw.name(rowsColumn), out); err != nil {
		return err
	}
	bm.bloomOff = pw.off
	pw.addBlock(bm)
	return nil
}

// cheapEvents decodes the rows of cheap block i, checking them against
// the block's metadata. The events share one decoded buffer.
func (p *part) cheapEvents(i int) ([]event.Event, error) {
	bm := &p.blocks[i]
	ch, err := p.chunk(bm.timeCol)
	if err != nil {
		return nil, err
	}
	var raw []byte
	switch {
	case len(ch) > 0 && ch[0] == rowsCodecS2:
		n, err := s2.DecodedLen(ch[1:])
		if err == nil && n > maxChunkBytes {
			err = fmt.Errorf("%d bytes decoded", n)
		}
		if err == nil {
			raw, err = s2.Decode(make([]byte, n), ch[1:])
		}
		if err != nil {
			return nil, fmt.Errorf("part %s: block %d: rows: %w", p.path, i, err)
		}
	case len(ch) > 0 && ch[0] == rowsCodecZstd:
		initCodecs()
		if raw, err = decoder.DecodeAll(ch[1:], nil); err != nil {
			return nil, fmt.Errorf("part %s: block %d: rows: %w", p.path, i, err)
		}
	default:
		return nil, fmt.Errorf("part %s: block %d: unknown rows codec", p.path, i)
	}
	evs, err := decodeBatch(bytesToString(raw))
	if err != nil {
		return nil, fmt.Errorf("part %s: block %d: %w", p.path, i, err)
	}
	if err := p.checkCheapRows(bm, evs); err != nil {
		return nil, fmt.Errorf("part %s: block %d: %w", p.path, i, err)
	}
	return evs, nil
}

// checkCheapRows checks decoded rows against their block's metadata:
// count, stream, partition, time order and range, minute counts.
func (p *part) checkCheapRows(bm *blockMeta, evs []event.Event) error {
	if len(evs) != int(bm.rows) {
		return fmt.Errorf("%d rows, index says %d", len(evs), bm.rows)
	}
	sk := p.streams[bm.stream]
	mi, left := 0, 0
	if len(bm.minutes) > 0 {
		left = bm.minutes[0].Count
	}
	for j := range evs {
		e := &evs[j]
		if e.Source != sk.source || e.Host != sk.host || e.Partition != p.info.Partition {
			return fmt.Errorf("row %d: stream or partition differs from the index", j)
		}
		if e.Time < bm.minTime || e.Time > bm.maxTime || j > 0 && e.Time < evs[j-1].Time {
			return fmt.Errorf("row %d: time out of order or outside the block's range", j)
		}
		for left == 0 && mi+1 < len(bm.minutes) {
			mi++
			left = bm.minutes[mi].Count
		}
		if left == 0 || minuteOf(e.Time) != bm.minutes[mi].Minute {
			return fmt.Errorf("row %d: minute counts differ from the rows", j)
		}
		left--
	}
	return nil
}

// cheapRef is a block of a cheap part, seen by queries like an in-memory
// block: pruned on metadata only, every row decoded by Load.
type cheapRef struct {
	p *part
	i int
}

func (r *cheapRef) bm() *blockMeta              { return &r.p.blocks[r.i] }
func (r *cheapRef) Partition() string           { return r.p.info.Partition }
func (r *cheapRef) Source() string              { return r.p.streams[r.bm().stream].source }
func (r *cheapRef) Host() string                { return r.p.streams[r.bm().stream].host }
func (r *cheapRef) MinTime() int64              { return r.bm().minTime }
func (r *cheapRef) MaxTime() int64              { return r.bm().maxTime }
func (r *cheapRef) Rows() int                   { return int(r.bm().rows) }
func (r *cheapRef) MinuteCounts() []MinuteCount { return r.bm().minutes }

func (r *cheapRef) rows() ([]*event.Event, error) {
	evs, err := r.p.cheapEvents(r.i)
	if err != nil {
		return nil, err
	}
	out := make([]*event.Event, len(evs))
	for i := range evs {
		out[i] = &evs[i]
	}
	return out, nil
}

// Columns lists the columns a full block of these rows would have.
func (r *cheapRef) Columns() []string {
	rows, err := r.rows()
	if err != nil {
		// A damaged block: Load reports the error.
		return []string{event.FieldTime, event.FieldRaw, event.FieldCategory}
	}
	return eventsColumns(rows)
}

func (r *cheapRef) Load(cols []string) (*Block, error) {
	rows, err := r.rows()
	if err != nil {
		return nil, err
	}
	return eventsBlock(r.Partition(), r.Source(), r.Host(), rows, cols), nil
}

// cheapAged reports whether one of g's cheap parts was committed
// CheapMaxAge ago or earlier (or found at Open): its rows have waited
// long enough unindexed, so cheapTier merges as if the store were idle.
func (s *Store) cheapAged(g []*part, now time.Time) bool {
	if s.opts.CheapMaxAge < 0 {
		return false
	}
	limit := now.UnixNano() - int64(s.opts.CheapMaxAge)
	for _, p := range g {
		if p.cheap() && p.born <= limit {
			return true
		}
	}
	return false
}

// cheapTier returns g's cheap parts to merge into a full part (the
// smallest first, as many as tierWidth allows), or nil when g has none.
// While rows arrive (busy) it waits until they are a bound: maxParts
// parts or maxRows rows, which the usual tiers (ripeTier) reach first
// when g holds only cheap flushes; the bound keeps cheap parts, which
// queries scan without pruning, from piling up beside bigger parts.
func cheapTier(g []*part, maxParts int, budget int64, busy bool, maxRows int64) []*part {
	var c []*part
	var rows int64
	for _, p := range g {
		if p.cheap() {
			c = append(c, p)
			rows += p.info.Rows
		}
	}
	if len(c) == 0 || busy && len(c) < maxParts && rows < maxRows {
		return nil
	}
	slices.SortFunc(c, func(a, b *part) int {
		return cmp.Or(cmp.Compare(a.info.Rows, b.info.Rows), cmp.Compare(a.info.Name, b.info.Name))
	})
	return c[:tierWidth(c, maxParts, budget)]
}
