package detect

import (
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// waitBatch is a batch of n detectable events received at recv.
func waitBatch(n int, recv int64) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = ev(time.Duration(i), "a=b")
		evs[i].Received = recv + int64(i)
	}
	return evs
}

// offerAsync offers a batch on a goroutine; the channel closes when Offer
// returns.
func offerAsync(q *LiveQueue, evs []event.Event) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Offer(evs)
	}()
	return done
}

// TestLiveQueueWaitsForRoom: with SetMaxWait, an offer to a full queue
// waits until detection is done with a batch, then is queued (no gap).
func TestLiveQueueWaitsForRoom(t *testing.T) {
	q := NewLiveQueue(batchBytes(waitBatch(4, 1)), 0)
	q.SetMaxWait(time.Minute)
	q.Offer(waitBatch(4, 100))
	done := offerAsync(q, waitBatch(4, 200))
	select {
	case <-done:
		t.Fatal("offer to a full queue returned before room was made")
	case <-time.After(50 * time.Millisecond):
	}
	b := <-q.Batches()
	q.Done(b)
	<-done
	s := q.Stats()
	if s.Gaps != 0 || s.Batches != 1 || s.Waited <= 0 {
		t.Errorf("stats %+v; want the second batch queued after a wait, no gap", s)
	}
	if evs := (<-q.Batches()).Events(); evs[0].Received != 200 {
		t.Errorf("queued batch received at %d, want 200", evs[0].Received)
	}
}

// TestLiveQueueWaitGivesUp: without progress for maxWait the offer opens
// a gap; a batch detection never examines (signals) never waits; Close
// ends a wait.
func TestLiveQueueWaitGivesUp(t *testing.T) {
	q := NewLiveQueue(batchBytes(waitBatch(4, 1)), 0)
	q.SetMaxWait(30 * time.Millisecond)
	q.Offer(waitBatch(4, 100))
	start := time.Now()
	q.Offer(waitBatch(4, 200)) // nobody detects: gives up
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("offer returned after %v, before the stall bound", d)
	}
	if s := q.Stats(); s.Gaps != 1 || s.GapEvents != 4 {
		t.Errorf("stats %+v; want a gap of 4 events", s)
	}

	q2 := NewLiveQueue(batchBytes(waitBatch(4, 1)), 0)
	q2.SetMaxWait(time.Minute)
	q2.Offer(waitBatch(4, 100))
	sigs := waitBatch(4, 300)
	for i := range sigs {
		sigs[i].Partition = SignalsPartition
	}
	start = time.Now()
	q2.Offer(sigs)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a batch of signals waited %v", d)
	}
	q3 := NewLiveQueue(batchBytes(waitBatch(4, 1)), 0)
	q3.SetMaxWait(time.Minute)
	q3.Offer(waitBatch(4, 100))
	done := offerAsync(q3, waitBatch(4, 400))
	time.Sleep(20 * time.Millisecond)
	q3.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the wait")
	}
}

// TestLiveQueueConcurrent: senders offer while a consumer takes batches
// (run with -race), without and with waits for room; every event is
// delivered once or recorded in a gap, and with a generous wait none
// goes to a gap.
func TestLiveQueueConcurrent(t *testing.T) {
	for _, wait := range []time.Duration{0, time.Minute} {
		q := NewLiveQueue(4*batchBytes(waitBatch(7, 1)), 0)
		q.SetMaxWait(wait)
		var got int
		done := make(chan struct{})
		go func() {
			defer close(done)
			for b := range q.Batches() {
				got += len(b.Events())
				q.Done(b)
				if g := q.TakeGap(); g != nil {
					got += g.Len()
				}
			}
		}()
		var wg sync.WaitGroup
		for s := range 4 {
			wg.Go(func() {
				for i := range 200 {
					q.Offer(waitBatch(7, int64(s*1_000_000+i*10+1)))
				}
			})
		}
		wg.Wait()
		q.Close()
		<-done
		if g := q.TakeGap(); g != nil {
			got += g.Len()
		}
		if want := 4 * 200 * 7; got != want {
			t.Errorf("wait %v: %d events delivered or in gaps, want %d", wait, got, want)
		}
		if s := q.Stats(); wait > 0 && s.Gaps != 0 {
			t.Errorf("wait %v: %d gaps, want none", wait, s.Gaps)
		}
	}
}
