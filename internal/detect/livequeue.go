package detect

import (
	"sync"

	"github.com/mamori/mamori/internal/event"
)

// liveQueueBatches bounds the batches queued, whatever their size.
const liveQueueBatches = 8192

// LiveQueue is a LiveFeed for a server's live detection: a queue bounded
// by bytes and, when the queue is full, a gap that records the events it
// could not hold (and those of every later batch, until detection takes
// the gap), for the detector to read back from the store (RunFeed,
// CatchUp). Offer never waits for detection.
type LiveQueue struct {
	c        chan []event.Event
	wake     chan struct{}
	maxBytes int64
	maxGap   int

	mu      sync.Mutex // guards everything below
	queued  int64      // bytes of the batches queued or being detected
	gap     *Gap
	gaps    int64 // gaps opened
	dropped int64 // events lost: the gap was full
	closed  bool
}

// NewLiveQueue returns a queue bounded by maxBytes (approximate memory of
// the events queued; default 64 MiB) whose gaps record at most maxGap
// events each (default 16M, 8 bytes an event).
func NewLiveQueue(maxBytes int64, maxGap int) *LiveQueue {
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	if maxGap <= 0 {
		maxGap = 16 << 20
	}
	return &LiveQueue{c: make(chan []event.Event, liveQueueBatches), wake: make(chan struct{}, 1), maxBytes: maxBytes, maxGap: maxGap}
}

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

// Offer queues a batch of durable events, or records it in the gap; it
// never blocks. Batches are shared with other consumers: never modified.
func (f *LiveQueue) Offer(events []event.Event) {
	size := batchBytes(events)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if f.gap == nil {
		// An empty queue takes any batch: a batch larger than the whole
		// bound is not worth a read back from the store.
		if f.queued == 0 || f.queued+size <= f.maxBytes {
			select {
			case f.c <- events:
				f.queued += size
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

// Batches implements LiveFeed.
func (f *LiveQueue) Batches() <-chan []event.Event { return f.c }

// Done implements LiveFeed.
func (f *LiveQueue) Done(batch []event.Event) {
	size := batchBytes(batch)
	f.mu.Lock()
	f.queued -= size
	f.mu.Unlock()
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
}

// Stats returns the queue's state and counters.
func (f *LiveQueue) Stats() LiveQueueStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return LiveQueueStats{QueuedBytes: f.queued, Batches: len(f.c), GapEvents: f.gap.Len(), GapSince: f.gap.Since(), Gaps: f.gaps, Dropped: f.dropped}
}

// Close ends the queue: Batches is closed and later offers are ignored.
func (f *LiveQueue) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.c)
	}
}
