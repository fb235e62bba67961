package detect

import (
	"context"
	"fmt"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// Crash recovery of stateful detection (#6).
//
// The stateful snapshot records the newest receive time (_received) of the
// events it covers: its mark. After a crash, the events the store accepted
// after the mark are missing from the windows, baselines and first-seen
// sets. Replay reads them back from the store and runs detection over them
// before live events, so a window that spans a restart still fires.
// Signals that were already stored before the crash (their ids are stable:
// rule, event time and raw message) are not raised again.
//
// Limits: a batch whose store append was still in flight when a later
// batch was applied and snapshotted (a window of one group commit) is
// neither replayed nor seen live; events received after the mark whose
// event time is older than the snapshot's watermark minus Lookback are not
// read.

// ReplayOptions configures Replay. Zero values mean defaults.
type ReplayOptions struct {
	// Lookback bounds the event times read: blocks whose newest event is
	// older than the snapshot's watermark minus Lookback are skipped
	// (default 24h; never less than the stateful lateness).
	Lookback time.Duration
	// Stored, when set, receives the signals stored after the mark: they
	// were raised before the restart, and a consumer whose own state is
	// saved less often (incidents) can take them again.
	Stored func(Signal)
	// BatchSize is the number of events per Detect call (default 1024).
	BatchSize int
}

// ReplayStats describes one replay.
type ReplayStats struct {
	// Mark is the receive time (Unix ns) the snapshot covered; 0 when
	// there was nothing to replay from (a fresh node, no snapshot dir).
	Mark int64
	// Blocks and Events count what was read and re-evaluated.
	Blocks, Events int
	// Signals were raised by the replay and emitted; Duplicates were
	// raised again but already stored, so not emitted.
	Signals, Duplicates int
	// Stored counts the signals found stored after the mark.
	Stored int
	Took   time.Duration
}

// Replay re-runs detection over the stored events received after the
// stateful snapshot's mark, emitting the signals not stored yet. Call it
// once, after Open and before Run, with a snapshot of the store taken after
// the live subscription started: live events the replay already covered
// are then skipped by Run. Events are evaluated block by block (one stream
// at a time, in order of time), so memory stays at one block.
func (d *Detector) Replay(ctx context.Context, snap store.Snapshot, emit func(context.Context, []Signal) error, opts ReplayOptions) (ReplayStats, error) {
	start := time.Now()
	mark, watermark, ok := d.st.replayMark()
	if !ok {
		return ReplayStats{}, nil
	}
	rs := ReplayStats{Mark: mark}
	var err error
	defer func() {
		if err != nil {
			// Blocks are read in event-time order, not in receive order: a
			// partial replay must not move the mark past events it did not
			// read (the next start replays from the same mark again).
			d.st.resetReceived(mark)
			if ctx.Err() != nil {
				d.keepSnapshot.Store(true) // shutdown: keep the snapshot the replay started from
			}
		}
	}()
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1024
	}
	lookback := max(opts.Lookback, d.st.opts.Lateness)
	if opts.Lookback <= 0 {
		lookback = max(24*time.Hour, d.st.opts.Lateness)
	}
	var minTime int64
	if watermark > int64(lookback) {
		minTime = watermark - int64(lookback)
	}
	stored, err := d.storedSince(ctx, snap, mark, minTime, opts.Stored)
	if err != nil {
		return rs, err
	}
	rs.Stored = len(stored)
	refs, _, err := snap.Blocks(ctx, store.Query{MinTime: minTime})
	if err != nil {
		err = fmt.Errorf("replay: %w", err)
		return rs, err
	}
	high := mark
	for _, ref := range refs {
		if ref.Partition() == SignalsPartition {
			continue
		}
		var evs []event.Event
		evs, err = eventsSince(ref, mark)
		if err != nil {
			err = fmt.Errorf("replay: %w", err)
			return rs, err
		}
		if len(evs) == 0 {
			continue
		}
		rs.Blocks++
		for len(evs) > 0 {
			if err = ctx.Err(); err != nil {
				err = fmt.Errorf("replay: %w", err)
				return rs, err
			}
			n := min(len(evs), opts.BatchSize)
			batch := evs[:n]
			evs = evs[n:]
			rs.Events += len(batch)
			for i := range batch {
				high = max(high, batch[i].Received)
			}
			var fresh []Signal
			for _, s := range d.Detect(batch) {
				if stored[s.ID] {
					rs.Duplicates++
					continue
				}
				stored[s.ID] = true
				fresh = append(fresh, s)
			}
			if len(fresh) > 0 {
				rs.Signals += len(fresh)
				if err = emit(ctx, fresh); err != nil {
					err = fmt.Errorf("replay: store signals: %w", err)
					return rs, err
				}
			}
		}
	}
	d.replayedTo.Store(high)
	rs.Took = time.Since(start)
	return rs, nil
}

// storedSince returns the ids of the signals stored after mark, and hands
// each to fn when set.
func (d *Detector) storedSince(ctx context.Context, snap store.Snapshot, mark, minTime int64, fn func(Signal)) (map[string]bool, error) {
	refs, _, err := snap.Blocks(ctx, store.Query{MinTime: minTime, Partitions: []string{SignalsPartition}})
	if err != nil {
		return nil, fmt.Errorf("replay: read signals: %w", err)
	}
	ids := map[string]bool{}
	for _, ref := range refs {
		evs, err := eventsSince(ref, mark)
		if err != nil {
			return nil, fmt.Errorf("replay: read signals: %w", err)
		}
		for i := range evs {
			s, ok := SignalFromEvent(&evs[i])
			if !ok || ids[s.ID] {
				continue
			}
			ids[s.ID] = true
			if fn != nil {
				fn(s)
			}
		}
	}
	return ids, nil
}

// eventsSince decodes the rows of a block received after mark. Only the
// _received column is decoded for a block that has none.
func eventsSince(ref store.BlockRef, mark int64) ([]event.Event, error) {
	b, recv, err := loadReceived(ref, func(r int64) bool { return r > mark })
	if b == nil || err != nil {
		return nil, err
	}
	after := make([]bool, len(recv))
	for i, r := range recv {
		after[i] = r != 0
	}
	return b.Events(after), nil
}

// rowLoads lets loadReceived load only the rows that passed (a switch
// for the catch-up cost diagnostic, TestDiagCatchUpCost).
var rowLoads = true

// loadReceived decodes the _received column of a block and, when some
// row's receive time passes want, the whole block: it returns the block
// and per row the receive time that passed (0 for the others); a nil
// block when no row passed. Only the rows that passed are sure to hold
// their values.
//
// A block of a full part (a store.ColumnLoader) decodes _received alone
// first, then, for a few passing rows (a catch-up's gap, the tail of a
// replay), only those rows' values. Other blocks (cheap parts, memory)
// decode every row whatever the columns asked: they are loaded once.
func loadReceived(ref store.BlockRef, want func(received int64) bool) (*store.Block, []int64, error) {
	cl, columnar := ref.(store.ColumnLoader)
	var b *store.Block
	var err error
	if columnar {
		b, err = ref.Load([]string{event.FieldReceived})
	} else {
		b, err = ref.Load(nil)
	}
	if err != nil {
		return nil, nil, err
	}
	c := b.Column(event.FieldReceived)
	if c == nil {
		return nil, nil, nil
	}
	recv := make([]int64, b.Rows())
	var rows []int
	for i := range recv {
		if !c.Has(i) {
			continue
		}
		if r := store.ParseReceived(c.Values[i]); r != 0 && want(r) {
			recv[i] = r
			rows = append(rows, i)
		}
	}
	switch {
	case len(rows) == 0:
		return nil, nil, nil
	case !columnar:
		return b, recv, nil
	case rowLoads && len(rows) < len(recv)/2:
		b, err = cl.LoadWith(nil, store.LoadOptions{Rows: rows})
	default:
		b, err = ref.Load(nil)
	}
	if err != nil {
		return nil, nil, err
	}
	if b.Rows() != len(recv) {
		return nil, nil, fmt.Errorf("block of %s/%s changed between loads (%d rows, then %d)", ref.Source(), ref.Host(), len(recv), b.Rows())
	}
	return b, recv, nil
}

// skipReplayed drops the live events a replay already evaluated (received
// at or before its newest event). It returns batch itself when nothing is
// dropped: batches are shared with other subscribers and never modified.
func (d *Detector) skipReplayed(batch []event.Event) []event.Event {
	high := d.replayedTo.Load()
	if high == 0 {
		return batch
	}
	drop := 0
	for i := range batch {
		if batch[i].Received != 0 && batch[i].Received <= high {
			drop++
		}
	}
	if drop == 0 {
		return batch
	}
	out := make([]event.Event, 0, len(batch)-drop)
	for i := range batch {
		if batch[i].Received == 0 || batch[i].Received > high {
			out = append(out, batch[i])
		}
	}
	return out
}
