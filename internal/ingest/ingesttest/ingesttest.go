package ingesttest

import (
	"context"
	"fmt"
	"sync"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
)

// Sink keeps every appended event in memory. Fail, when set, is called
// before each append; a non-nil result is returned instead of storing
// (wrap ingest.ErrOverloaded to test push-back). It is safe for concurrent use.
type Sink struct {
	Fail func(events []event.Event) error

	mu      sync.Mutex // guards events, batches and cond
	events  []event.Event
	batches int
	cond    *sync.Cond
}

// Append implements ingest.Sink.
func (s *Sink) Append(ctx context.Context, events []event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.Fail != nil {
		if err := s.Fail(events); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, events...)
	s.batches++
	if s.cond != nil {
		s.cond.Broadcast()
	}
	return nil
}

// Events returns a copy of the events appended so far.
func (s *Sink) Events() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.events...)
}

// Batches returns the number of successful Append calls.
func (s *Sink) Batches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.batches
}

// WaitN waits until at least n events were appended or ctx ends, and
// returns the events.
func (s *Sink) WaitN(ctx context.Context, n int) ([]event.Event, error) {
	s.mu.Lock()
	if s.cond == nil {
		s.cond = sync.NewCond(&s.mu)
	}
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	for len(s.events) < n && ctx.Err() == nil {
		s.cond.Wait()
	}
	out := append([]event.Event(nil), s.events...)
	s.mu.Unlock()
	if len(out) < n {
		return out, fmt.Errorf("wait for %d events: got %d: %w", n, len(out), ctx.Err())
	}
	return out, nil
}

// Auth accepts the secrets in its map. It is safe for concurrent use once
// built.
type Auth map[string]ingest.Principal

// AuthenticateIngest implements ingest.Authenticator.
func (a Auth) AuthenticateIngest(_ context.Context, secret string) (ingest.Principal, error) {
	p, ok := a[secret]
	if !ok {
		return ingest.Principal{}, ingest.ErrUnauthorized
	}
	return p, nil
}
