package detect

import (
	"context"
	"log/slog"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// detectChunk is the most events Run detects before handing their signals
// on: two parallel Sigma workers' worth.
const detectChunk = 2 * parallelMatchMin

// Run consumes batches of durable events until in is closed or ctx ends,
// and hands the signals it raises to emit: RunFeed on a feed without gaps.
func (d *Detector) Run(ctx context.Context, in <-chan []event.Event, emit func(context.Context, []Signal) error) error {
	c := make(chan LiveBatch)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(c)
		for {
			select {
			case evs, ok := <-in:
				if !ok {
					return
				}
				select {
				case c <- LiveBatch{events: evs}:
				case <-done:
					return
				}
			case <-done:
				return
			}
		}
	}()
	return d.RunFeed(ctx, chanFeed(c), nil, emit)
}

// LiveFeed is the input of RunFeed: batches of durable events in the order
// they became durable, from a bounded queue, and the gaps where the queue
// overflowed (see CatchUp).
type LiveFeed interface {
	// Batches delivers the queued batches; it is closed when the feed ends.
	Batches() <-chan LiveBatch
	// Done is called once a batch from Batches has been detected (its
	// room in the queue is free again).
	Done(batch LiveBatch)
	// Wake receives when a gap opens (nil: never).
	Wake() <-chan struct{}
	// TakeGap returns the open gap and closes it (later batches are queued
	// again), once every batch queued before it was Done; nil otherwise.
	TakeGap() *Gap
	// GapSince is the receive time of the oldest event of the open gap
	// (Unix ns), or 0.
	GapSince() int64
}

// chanFeed is a LiveFeed without gaps.
type chanFeed <-chan LiveBatch

func (c chanFeed) Batches() <-chan LiveBatch { return c }
func (chanFeed) Done(LiveBatch)              {}
func (chanFeed) Wake() <-chan struct{}       { return nil }
func (chanFeed) TakeGap() *Gap               { return nil }
func (chanFeed) GapSince() int64             { return 0 }

// RunFeed consumes a live feed until its batches end or ctx ends, and
// hands the signals it raises to emit. When the feed has a gap, the
// batches queued before it are detected, then the gap's events are read
// back from a snapshot of the store (snapshot; nil loses them) and
// detected (CatchUp), then the batches queued after it. It also resolves
// stateful absence rules on a timer and snapshots stateful state every
// 30 s and when it returns (#6); a snapshot never covers the events of a
// gap not caught up yet, so a restart replays them.
//
// emit runs on a goroutine of its own, so detection goes on with the next
// batch while signals are stored (an fsync each); signals queued meanwhile
// are handed on together. A snapshot is taken only once every signal of the
// events it covers was emitted, and signals still queued when RunFeed
// stops are emitted (with ctx's values, without its cancellation) before it
// returns.
func (d *Detector) RunFeed(ctx context.Context, feed LiveFeed, snapshot func() store.Snapshot, emit func(context.Context, []Signal) error) error {
	out := d.startEmitter(context.WithoutCancel(ctx), emit)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSave := time.Now()
	// unfinished is the receive time of the oldest event of a gap taken
	// but not caught up (a catch-up cut short by shutdown), or 0.
	var unfinished int64
	save := func() {
		below := feed.GapSince()
		if unfinished != 0 && (below == 0 || unfinished < below) {
			below = unfinished
		}
		if err := d.st.saveBelow(below); err != nil {
			d.log.Error("save stateful state", "err", err)
		}
	}
	defer func() {
		out.close()
		if d.keepSnapshot.Load() {
			return
		}
		save()
	}()
	catchUp := func() {
		for g := feed.TakeGap(); g != nil; g = feed.TakeGap() {
			if snapshot == nil {
				d.missing.Add(uint64(g.Len()))
				continue
			}
			snap := snapshot()
			cs, err := d.CatchUp(ctx, snap, g, out.send)
			snap.Release()
			d.busySince.Store(0)
			if err != nil {
				if ctx.Err() != nil {
					unfinished = g.Since()
					return
				}
				d.log.Error("catch up live detection", "err", err, "events", g.Len(), "detected", cs.Events)
				continue
			}
			lvl := slog.LevelInfo
			if cs.Missing > 0 {
				lvl = slog.LevelWarn
			}
			d.log.Log(ctx, lvl, "live detection caught up with events its queue could not hold", "events", cs.Events,
				"missing", cs.Missing, "blocks", cs.Blocks, "signals", cs.Signals, "took", cs.Took)
		}
	}
	in := feed.Batches()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			var sigs []Signal
			for _, s := range d.st.Flush(d.now()) {
				if d.keep(&s) {
					sigs = append(sigs, s)
				}
			}
			out.send(sigs)
			if time.Since(lastSave) >= 30*time.Second {
				lastSave = time.Now()
				out.flush()
				save()
			}
		case <-feed.Wake():
			catchUp()
		case batch, ok := <-in:
			if !ok {
				return nil
			}
			// A large batch is detected in chunks, each chunk's signals
			// handed on at once: the first events of a batch do not wait
			// for the last ones (detection lag).
			for rest := d.skipReplayed(batch.Events()); len(rest) > 0; {
				n := min(len(rest), detectChunk)
				d.busySince.Store(arrival(&rest[0], d.now()))
				out.send(d.Detect(rest[:n]))
				rest = rest[n:]
			}
			feed.Done(batch)
			if len(in) == 0 {
				d.busySince.Store(0) // caught up
				catchUp()
			}
		}
	}
}

// signalQueue hands signals from Run to emit on a goroutine of its own.
type signalQueue struct {
	c    chan queued
	done chan struct{}
}

// queued is signals to emit, or (ack set) a barrier that is closed once
// everything queued before it was emitted.
type queued struct {
	sigs []Signal
	ack  chan struct{}
}

func (d *Detector) startEmitter(ctx context.Context, emit func(context.Context, []Signal) error) *signalQueue {
	q := &signalQueue{c: make(chan queued, 256), done: make(chan struct{})}
	go func() {
		defer close(q.done)
		for item := range q.c {
			sigs, acks := item.sigs, []chan struct{}{item.ack}
			for more := true; more; { // take what else waits: one store append
				select {
				case next, ok := <-q.c:
					sigs, acks, more = append(sigs, next.sigs...), append(acks, next.ack), ok
				default:
					more = false
				}
			}
			if len(sigs) > 0 {
				if err := emit(ctx, sigs); err != nil {
					d.log.Error("store signals", "err", err, "signals", len(sigs))
				}
			}
			for _, a := range acks {
				if a != nil {
					close(a)
				}
			}
		}
	}()
	return q
}

// send queues signals (blocking when 256 batches wait already).
func (q *signalQueue) send(sigs []Signal) {
	if len(sigs) > 0 {
		q.c <- queued{sigs: sigs}
	}
}

// flush waits until everything queued so far was emitted.
func (q *signalQueue) flush() {
	ack := make(chan struct{})
	q.c <- queued{ack: ack}
	<-ack
}

// close emits what is queued and stops the goroutine.
func (q *signalQueue) close() {
	close(q.c)
	<-q.done
}
