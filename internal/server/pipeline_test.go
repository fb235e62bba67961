package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// nopEngine accepts every append; the pipeline test needs no storage.
type nopEngine struct{}

func (nopEngine) Append(context.Context, []event.Event) error { return nil }
func (nopEngine) Snapshot() store.Snapshot                    { return nil }
func (nopEngine) Close() error                                { return nil }

// stuckSub blocks in offer until released, as live detection does while
// it waits for room in a full queue.
type stuckSub struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stuckSub) offer([]event.Event) {
	s.once.Do(func() { close(s.entered) })
	<-s.release
}

// A consumer waiting in offer must not hold up subscribing, unsubscribing
// (a tail client coming or going) or other appends.
func TestPipelinePublishDoesNotBlockSubscribers(t *testing.T) {
	p := NewPipeline(nopEngine{}, nil)
	stuck := &stuckSub{entered: make(chan struct{}), release: make(chan struct{})}
	p.subscribe(stuck)
	done := make(chan struct{})
	go func() {
		_ = p.Append(context.Background(), []event.Event{{Raw: "a"}}) // nopEngine: no error
		close(done)
	}()
	<-stuck.entered

	quick := make(chan struct{})
	go func() {
		defer close(quick)
		s := p.Subscribe(4)
		p.Unsubscribe(s)
		s2 := p.Subscribe(4)
		defer p.Unsubscribe(s2)
		// Another append reaches the new subscriber once the stuck one lets
		// it pass: only its own publish waits, not the lock.
		if got := len(*p.subs.Load()); got != 2 {
			t.Errorf("%d subscribers, want 2", got)
		}
	}()
	select {
	case <-quick:
	case <-time.After(5 * time.Second):
		t.Fatal("Subscribe/Unsubscribe waited for a consumer stuck in offer")
	}
	close(stuck.release)
	<-done

	s := p.Subscribe(1)
	p.unsubscribe(stuck)
	if err := p.Append(context.Background(), []event.Event{{Raw: "b"}}); err != nil {
		t.Fatal(err)
	}
	if evs := <-s.C; len(evs) != 1 || evs[0].Raw != "b" {
		t.Fatalf("subscriber got %+v", evs)
	}
	p.Unsubscribe(s)
	if _, ok := <-s.C; ok {
		t.Fatal("channel open after Unsubscribe")
	}
	if err := p.Append(context.Background(), []event.Event{{Raw: "c"}}); err != nil {
		t.Fatal(err)
	}
}
