package detect

import (
	"sync"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// liveQueueBatches bounds the batches queued, whatever their size.
const liveQueueBatches = 8192

// LiveQueue is a LiveFeed for a server's live detection: a queue bounded
// by bytes and, when the queue is full, a gap that records the events it
// could not hold (and those of every later batch, until detection takes
// the gap), for the detector to read back from the store (RunFeed,
// CatchUp). Offer waits for detection only with SetMaxWait.
type LiveQueue struct {
	c        chan LiveBatch
	wake     chan struct{}
	maxBytes int64
	maxGap   int
	maxWait  time.Duration

	mu      sync.Mutex    // guards everything below
	queued  int64         // bytes of the batches queued or being detected
	room    chan struct{} // closed (and replaced) when a batch is done
	waited  time.Duration // the offers' waits for room, in total
	gap     *Gap
	gaps    int64 // gaps opened
	dropped int64 // events lost: the gap was full
	closed  bool
}

// LiveBatch is a batch of durable events as a LiveFeed delivers it, with
// the bytes it counts for in the queue's bound.
type LiveBatch struct {
	events []event.Event
	size   int64
}

// Events returns the batch's events. They are shared with other
// consumers: never modify them.
func (b LiveBatch) Events() []event.Event { return b.events }

// NewLiveQueue returns a queue bounded by maxBytes (approximate memory of
// the events queued; default 64 MiB) whose gaps record at most maxGap
// events each (default 16M, 8 bytes an event). Offer does not wait for
// room (see SetMaxWait).
func NewLiveQueue(maxBytes int64, maxGap int) *LiveQueue {
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	if maxGap <= 0 {
		maxGap = 16 << 20
	}
	return &LiveQueue{c: make(chan LiveBatch, liveQueueBatches), wake: make(chan struct{}, 1), maxBytes: maxBytes, maxGap: maxGap,
		room: make(chan struct{})}
}

// SetMaxWait lets Offer wait for room in a full queue before it opens a
// gap, as long as detection frees room at least every d (and 8 d at most
// in all): a burst that detection cannot follow then slows ingest down
// instead of sending events through a catch-up, which reads them back
// from the store (about twice the CPU of a live event). Call it before the
// first Offer.
func (f *LiveQueue) SetMaxWait(d time.Duration) { f.maxWait = max(d, 0) }

// batchBytes estimates the memory a batch holds: its raw text and a fixed
// cost per event and per field (parsed values mostly share the raw
// text's memory), so the estimate costs one step per event.
func batchBytes(events []event.Event) int64 {
	n := int64(0)
	for i := range events {
		n += int64(160 + len(events[i].Raw) + 48*len(events[i].Fields))
	}
	return n
}

// Offer queues a batch of durable events, or records it in the gap.
// Batches are shared with other consumers: never modified. It does not
// block unless SetMaxWait was called: an offer to a full queue then first
// waits for room while detection makes progress.
func (f *LiveQueue) Offer(events []event.Event) {
	b := LiveBatch{events: events, size: batchBytes(events)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gap == nil && f.maxWait > 0 && f.queued > 0 && f.queued+b.size > f.maxBytes && detected(events) {
		f.waitRoom(b.size)
	}
	if f.closed {
		return
	}
	if f.gap == nil {
		// An empty queue takes any batch: a batch larger than the whole
		// bound is not worth a read back from the store.
		if f.queued == 0 || f.queued+b.size <= f.maxBytes {
			select {
			case f.c <- b:
				f.queued += b.size
				return
			default:
			}
		}
		f.gap = NewGap()
		f.gaps++
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
	if f.gap.Len()+len(events) > f.maxGap {
		f.dropped += int64(len(events))
		return
	}
	f.gap.Add(events)
}

// waitRoom waits, with f.mu held on entry and on return, until a batch
// of size fits, the queue closes or a gap opens, as long as detection
// makes progress: it gives up once no batch was done for maxWait, or
// after maxWaitTotal times maxWait in all.
func (f *LiveQueue) waitRoom(size int64) {
	start := time.Now()
	stall := time.NewTimer(f.maxWait)
	defer stall.Stop()
	for f.queued > 0 && f.queued+size > f.maxBytes && f.gap == nil && !f.closed && time.Since(start) < maxWaitTotal*f.maxWait {
		room := f.room
		f.mu.Unlock()
		select {
		case <-room:
			stall.Reset(f.maxWait)
			f.mu.Lock()
		case <-stall.C:
			f.mu.Lock()
			f.waited += time.Since(start)
			return
		}
	}
	f.waited += time.Since(start)
}

// maxWaitTotal bounds an offer's wait for room, in times maxWait.
const maxWaitTotal = 8

// detected reports whether detection examines any of the events (a batch
// of signals, which live detection itself stores, never waits for room).
func detected(events []event.Event) bool {
	for i := range events {
		if !skipDetection(&events[i]) {
			return true
		}
	}
	return false
}

// Batches implements LiveFeed.
func (f *LiveQueue) Batches() <-chan LiveBatch { return f.c }

// Done implements LiveFeed.
func (f *LiveQueue) Done(b LiveBatch) {
	f.mu.Lock()
	f.queued -= b.size
	f.wakeWaiters()
	f.mu.Unlock()
}

// wakeWaiters wakes the offers waiting for room (f.mu held).
func (f *LiveQueue) wakeWaiters() {
	close(f.room)
	f.room = make(chan struct{})
}

// Wake implements LiveFeed.
func (f *LiveQueue) Wake() <-chan struct{} { return f.wake }

// TakeGap implements LiveFeed.
func (f *LiveQueue) TakeGap() *Gap {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gap == nil || f.queued > 0 || len(f.c) > 0 {
		return nil
	}
	g := f.gap
	f.gap = nil
	return g
}

// GapSince implements LiveFeed.
func (f *LiveQueue) GapSince() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gap.Since()
}

// LiveQueueStats describe a LiveQueue.
type LiveQueueStats struct {
	// QueuedBytes and Batches are what waits for detection.
	QueuedBytes int64
	Batches     int
	// GapEvents are recorded in the open gap; GapSince is the receive
	// time of its oldest (Unix ns; 0 without a gap).
	GapEvents int
	GapSince  int64
	// Gaps counts the gaps opened; Dropped the events lost because a gap
	// was full.
	Gaps, Dropped int64
	// Waited is how long offers waited for room in total (SetMaxWait).
	Waited time.Duration
}

// Stats returns the queue's state and counters.
func (f *LiveQueue) Stats() LiveQueueStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return LiveQueueStats{QueuedBytes: f.queued, Batches: len(f.c), GapEvents: f.gap.Len(), GapSince: f.gap.Since(), Gaps: f.gaps, Dropped: f.dropped, Waited: f.waited}
}

// Close ends the queue: Batches is closed and later offers are ignored.
func (f *LiveQueue) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.c)
		f.wakeWaiters()
	}
}
