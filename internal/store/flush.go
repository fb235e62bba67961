package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"

	"github.com/mamori/mamori/internal/event"
)

type partDay struct {
	partition string
	day       int64
}

// writeMemtable writes mt as parts, one per partition and day, each
// holding every stream's events of that day sorted by time.
func (s *Store) writeMemtable(ctx context.Context, mt *memtable) ([]partInfo, error) {
	keys := make([]memKey, 0, len(mt.streams))
	for k := range mt.streams {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.partition != b.partition {
			return a.partition < b.partition
		}
		if a.source != b.source {
			return a.source < b.source
		}
		return a.host < b.host
	})
	writers := map[partDay]*partWriter{}
	abort := func() {
		for _, w := range writers {
			w.abort()
		}
	}
	var (
		mrows  []memRow
		evs    []event.Event
		fields []event.Field
		rows   []*event.Event
	)
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			abort()
			return nil, err
		}
		mrows = mrows[:0]
		for _, c := range mt.streams[k].chunks {
			mrows = append(mrows, c.rows...)
		}
		slices.SortStableFunc(mrows, cmpMemRow)
		writer := func(day int64) (*partWriter, error) {
			pd := partDay{k.partition, day}
			if w := writers[pd]; w != nil {
				return w, nil
			}
			name := partName(k.partition, day, s.man.nextID())
			w, err := createPart(filepath.Join(s.dir, partsDir, filepath.FromSlash(name)), k.partition, day, levelFast)
			if err != nil {
				return nil, err
			}
			w.relName = name
			w.fullRows = s.opts.BlockRows
			if !s.opts.FullFlush {
				w.version = rowsPartVersion
			}
			writers[pd] = w
			return w, nil
		}
		if !s.opts.FullFlush {
			// Cheap parts: the rows' WAL encodings, no decoding.
			for len(mrows) > 0 {
				day := dayOf(mrows[0].time)
				n := sort.Search(len(mrows), func(i int) bool { return dayOf(mrows[i].time) > day })
				w, err := writer(day)
				if err == nil {
					err = writeCheapStream(w, k.source, k.host, mt.recs, mrows[:n], s.opts.BlockRows)
				}
				if err != nil {
					abort()
					return nil, err
				}
				mrows = mrows[n:]
			}
			continue
		}
		rows = decodeRows(mt.recs, mrows, &evs, &fields, rows)
		for len(rows) > 0 {
			day := dayOf(rows[0].Time)
			n := sort.Search(len(rows), func(i int) bool { return dayOf(rows[i].Time) > day })
			w, err := writer(day)
			if err == nil {
				err = writeStream(w, k.source, k.host, rows[:n], s.opts.BlockRows)
			}
			if err != nil {
				abort()
				return nil, err
			}
			rows = rows[n:]
		}
	}
	infos := make([]partInfo, 0, len(writers))
	for pd, w := range writers {
		name := w.relName
		if w.version == rowsPartVersion {
			s.m.rowsCheap.Add(uint64(w.rows))
		}
		s.m.rowsEncoded.Add(uint64(w.encoded))
		info, err := w.finish()
		if err != nil {
			delete(writers, pd)
			abort()
			return nil, err
		}
		delete(writers, pd)
		info.Name = name
		infos = append(infos, info)
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	return infos, nil
}

func cmpTime(a, b *event.Event) int {
	switch {
	case a.Time < b.Time:
		return -1
	case a.Time > b.Time:
		return 1
	}
	return 0
}

// writeStream writes sorted rows of one stream as blocks of at most
// blockRows rows (and about 4 MiB of raw text).
func writeStream(w *partWriter, source, host string, rows []*event.Event, blockRows int) error {
	const maxRawBytes = 4 << 20
	for len(rows) > 0 {
		n, size := 0, 0
		for n < len(rows) && n < blockRows && (n == 0 || size < maxRawBytes) {
			size += len(rows[n].Raw)
			n++
		}
		if err := w.writeBlock(source, host, rows[:n]); err != nil {
			return fmt.Errorf("write block: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}
