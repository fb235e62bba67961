package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/store"
)

// Pipeline is the ingest.Sink every receiver writes to: it fills in
// metadata, appends durably to the store, then offers the events to live
// subscribers without ever blocking ingest on them.
type Pipeline struct {
	store store.Engine
	now   func() time.Time
	// route picks the partition of events that have none (the store's
	// routing rules), so live consumers see the stored partition.
	route func(*event.Event) string
	// enrich runs on every batch before it is stored (threat intel); set
	// once at start, read by every Append.
	enrich atomic.Pointer[func([]event.Event)]

	// subs is the list of live consumers, replaced whole (copy on write)
	// under mu: publish reads it without a lock, so a consumer that waits
	// in offer (live detection waits for room in its queue) never holds up
	// a Subscribe or Unsubscribe, nor, through them, other appends.
	mu   sync.Mutex // serializes changes of subs
	subs atomic.Pointer[[]subscriber]
}

// subscriber is a live consumer: offer hands it a batch of durable events
// (shared with the other subscribers: never modified), and must not block.
type subscriber interface {
	offer(events []event.Event)
}

// NewPipeline returns a pipeline writing to st.
func NewPipeline(st store.Engine, now func() time.Time) *Pipeline {
	if now == nil {
		now = time.Now
	}
	p := &Pipeline{store: st, now: now}
	if r, ok := st.(interface{ PartitionOf(*event.Event) string }); ok {
		p.route = r.PartitionOf
	}
	return p
}

// Append implements ingest.Sink.
func (p *Pipeline) Append(ctx context.Context, events []event.Event) error {
	if len(events) == 0 {
		return nil
	}
	now := p.now().UnixNano()
	for i := range events {
		ev := &events[i]
		if ev.Received == 0 {
			ev.Received = now
		}
		if ev.Time == 0 {
			ev.Time = ev.Received
		}
		if ev.Partition == "" && p.route != nil {
			ev.Partition = p.route(ev)
		}
	}
	if fn := p.enrich.Load(); fn != nil {
		(*fn)(events)
	}
	if err := p.store.Append(ctx, events); err != nil {
		if errors.Is(err, store.ErrOverloaded) {
			return fmt.Errorf("%w: %w", ingest.ErrOverloaded, err)
		}
		return err
	}
	p.publish(events)
	return nil
}

// Subscription receives batches of durable events. When its buffer is
// full, batches are dropped and counted in Dropped instead of slowing
// ingest. (Live detection uses a detectFeed instead, which catches up with
// what it could not queue.)
type Subscription struct {
	C       <-chan []event.Event
	c       chan []event.Event
	mu      sync.Mutex // guards dropped and closed
	dropped int64
	closed  bool
}

// Dropped returns how many events this subscriber missed.
func (s *Subscription) Dropped() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Subscribe registers a live consumer with a buffer of n batches. Call
// Unsubscribe when done.
func (p *Pipeline) Subscribe(n int) *Subscription {
	c := make(chan []event.Event, n)
	s := &Subscription{C: c, c: c}
	p.subscribe(s)
	return s
}

// Unsubscribe removes s and closes its channel.
func (p *Pipeline) Unsubscribe(s *Subscription) {
	p.unsubscribe(s)
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.c)
	}
	s.mu.Unlock()
}

// publish offers a batch to every consumer subscribed when it starts. A
// consumer unsubscribed meanwhile may still get it: offers after a
// Subscription or a detection queue is closed are ignored.
func (p *Pipeline) publish(events []event.Event) {
	subs := p.subs.Load()
	if subs == nil {
		return
	}
	for _, s := range *subs {
		s.offer(events)
	}
}

// offer queues a batch, or drops and counts it when the buffer is full.
func (s *Subscription) offer(events []event.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		select {
		case s.c <- events:
		default:
			s.dropped += int64(len(events))
		}
	}
}

// subscribe registers a live consumer.
func (p *Pipeline) subscribe(s subscriber) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var next []subscriber
	if old := p.subs.Load(); old != nil {
		next = append(next, *old...)
	}
	next = append(next, s)
	p.subs.Store(&next)
}

// unsubscribe removes a live consumer; publishes that start afterwards
// do not reach it (one under way may).
func (p *Pipeline) unsubscribe(s subscriber) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.subs.Load()
	if old == nil {
		return
	}
	next := make([]subscriber, 0, len(*old))
	for _, x := range *old {
		if x != s {
			next = append(next, x)
		}
	}
	p.subs.Store(&next)
}

// Live adapts the pipeline to api.LiveSource.
type Live struct{ P *Pipeline }

// Subscribe implements api.LiveSource.
func (l Live) Subscribe(buffer int) (<-chan []event.Event, func() int64, func()) {
	s := l.P.Subscribe(buffer)
	return s.C, s.Dropped, func() { l.P.Unsubscribe(s) }
}
