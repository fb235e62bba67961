package detect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
	"github.com/mamori/mamori/internal/store"
)

// catchUpRig is a detector fed through a tiny LiveQueue from a publisher
// that "stores" every batch before offering it, as the server's pipeline
// does.
type catchUpRig struct {
	t      *testing.T
	d      *Detector
	q      *LiveQueue
	mu     sync.Mutex // guards stored and sigs
	stored []event.Event
	sigs   []Signal
	recv   int64
}

func newCatchUpRig(t *testing.T, queueBytes int64, rules map[string]string) *catchUpRig {
	t.Helper()
	dir := t.TempDir()
	for name, text := range rules {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Open(Options{RuleDirs: []string{dir}, SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	return &catchUpRig{t: t, d: d, q: NewLiveQueue(queueBytes, 0), recv: time.Now().UnixNano()}
}

func (r *catchUpRig) snapshot() store.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return query.NewMemSource(append([]event.Event(nil), r.stored...), query.MemOptions{BlockRows: 7})
}

// publish stores a batch (one receive time for all its events, as most
// receivers stamp a request) and offers it.
func (r *catchUpRig) publish(evs []event.Event) {
	r.mu.Lock()
	r.recv++
	for i := range evs {
		evs[i].Received = r.recv
	}
	r.stored = append(r.stored, evs...)
	r.mu.Unlock()
	r.q.Offer(evs)
}

// run starts RunFeed and returns a function that waits until the queue
// is empty and the signals number want (or a timeout), lets detection go
// on a little longer (a signal raised twice would show), stops it and
// returns the signals.
func (r *catchUpRig) run() func(want int) []Signal {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- r.d.RunFeed(ctx, r.q, r.snapshot, func(_ context.Context, s []Signal) error {
			time.Sleep(200 * time.Microsecond) // a store append
			r.mu.Lock()
			r.sigs = append(r.sigs, s...)
			r.mu.Unlock()
			return nil
		})
	}()
	return func(want int) []Signal {
		deadline := time.Now().Add(30 * time.Second)
		for {
			r.mu.Lock()
			n := len(r.sigs)
			r.mu.Unlock()
			if s := r.q.Stats(); n >= want && s.Batches == 0 && s.QueuedBytes == 0 && s.GapEvents == 0 {
				break
			}
			if time.Now().After(deadline) {
				r.t.Errorf("%d signals of %d after 30 s; queue %+v", n, want, r.q.Stats())
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			r.t.Fatal(err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.sigs
	}
}

// TestCatchUpExactlyOnce: with a queue that holds one batch, most batches
// go through gaps and catch-ups, yet every event is detected exactly once:
// each matching event raises its match signal once, and a threshold rule
// fires exactly total/10 times (an event seen twice or missed would change
// the count). Run with -race.
func TestCatchUpExactlyOnce(t *testing.T) {
	r := newCatchUpRig(t, 1, map[string]string{
		"m.yml": "mamori: v1\nid: m\ntype: match\nfilter: event.action=x\n",
		"t.yml": "mamori: v1\nid: t\ntype: threshold\nfilter: event.action=y\ngroup_by: [host.name]\nwindow: 1h\nthreshold: 9\n",
	})
	wait := r.run()
	const batches, per = 300, 10
	want := map[string]int{} // match signal id -> 1
	ys := 0
	for b := range batches {
		evs := make([]event.Event, per)
		for i := range evs {
			n := b*per + i
			switch n % 3 {
			case 0:
				evs[i] = ev(time.Duration(n)*time.Millisecond, "event.action=x", fmt.Sprintf("n=%d", n))
			case 1:
				evs[i] = ev(time.Duration(n)*time.Millisecond, "event.action=y", "host.name=h1", fmt.Sprintf("n=%d", n))
			default:
				evs[i] = ev(time.Duration(n)*time.Millisecond, "event.action=z", fmt.Sprintf("n=%d", n))
			}
		}
		if b%50 == 7 {
			// Our own output in a batch: never examined, never recorded.
			evs[0].Partition = SignalsPartition
		}
		for i := range evs {
			switch a, _ := evs[i].Get("event.action"); {
			case skipDetection(&evs[i]):
			case a == "x":
				want[signalID("m", evs[i].Time, evs[i].Raw)]++
			case a == "y":
				ys++
			}
		}
		r.publish(evs)
		if b%40 == 0 {
			time.Sleep(2 * time.Millisecond) // let the queue drain now and then
		}
	}
	sigs := wait(len(want) + ys/10)
	got := map[string]int{}
	thresholds := 0
	for _, s := range sigs {
		switch s.RuleID {
		case "m":
			got[s.ID]++
		case "t":
			thresholds++
		default:
			t.Errorf("unexpected signal %s", s.RuleID)
		}
	}
	for id, n := range got {
		if n != 1 || want[id] != 1 {
			t.Errorf("signal %s raised %d times (expected: %v)", id, n, want[id] == 1)
		}
	}
	for id := range want {
		if got[id] == 0 {
			t.Errorf("signal %s never raised", id)
		}
	}
	if thresholds != ys/10 {
		t.Errorf("threshold fired %d times, want %d", thresholds, ys/10)
	}
	c := r.d.Counts()
	qs := r.q.Stats()
	if c.CatchUps == 0 || c.CaughtUp == 0 || qs.Gaps == 0 {
		t.Errorf("no catch-up happened (counts %+v, queue %+v): the test did not test it", c, qs)
	}
	if c.Missing != 0 || qs.Dropped != 0 {
		t.Errorf("missing %d, dropped %d", c.Missing, qs.Dropped)
	}
	t.Logf("%d events, %d gaps, %d caught up, counts %+v", batches*per, qs.Gaps, c.CaughtUp, c)
}

// TestCatchUpTwins: events identical in time, receive time and raw text
// are interchangeable; a gap that recorded one of two twins detects one.
func TestCatchUpTwins(t *testing.T) {
	r := newCatchUpRig(t, 1, map[string]string{"m.yml": "mamori: v1\nid: m\ntype: match\nfilter: event.action=x\n"})
	twin := ev(time.Second, "event.action=x")
	twin.Received = 42
	other := ev(2*time.Second, "event.action=x")
	other.Received = 43
	r.stored = []event.Event{twin, twin, other}
	g := NewGap()
	g.Add([]event.Event{twin, other})
	var sigs []Signal
	cs, err := r.d.CatchUp(context.Background(), r.snapshot(), g, func(s []Signal) { sigs = append(sigs, s...) })
	if err != nil {
		t.Fatal(err)
	}
	if cs.Events != 2 || cs.Missing != 0 || len(sigs) != 2 {
		t.Errorf("caught up %+v, %d signals; want 2 events, 2 signals", cs, len(sigs))
	}
	// A gap whose events are gone from the store counts them missing.
	g = NewGap()
	gone := ev(3*time.Second, "event.action=x")
	gone.Received = 44
	g.Add([]event.Event{gone})
	if cs, err = r.d.CatchUp(context.Background(), r.snapshot(), g, func([]Signal) {}); err != nil || cs.Missing != 1 {
		t.Errorf("catch-up of a deleted event: %+v, %v; want 1 missing", cs, err)
	}
}

// TestLiveQueueBound: the queue takes batches up to its byte bound (any
// batch when empty), then records the rest in a gap that TakeGap hands
// out only once the queued batches are done.
func TestLiveQueueBound(t *testing.T) {
	batch := func(n int) []event.Event {
		evs := make([]event.Event, n)
		for i := range evs {
			evs[i] = ev(time.Duration(i), "a=b")
			evs[i].Received = int64(100 + i)
		}
		return evs
	}
	one := batchBytes(batch(1))
	q := NewLiveQueue(3*one, 0)
	q.Offer(batch(10)) // larger than the bound, but the queue is empty
	q.Offer(batch(1))  // no room: gap
	q.Offer(batch(1))  // the gap stays open: recorded too
	if s := q.Stats(); s.Batches != 1 || s.GapEvents != 2 || s.Gaps != 1 || s.GapSince != 100 {
		t.Fatalf("stats %+v", s)
	}
	select {
	case <-q.Wake():
	default:
		t.Error("no wake-up when the gap opened")
	}
	if q.TakeGap() != nil {
		t.Error("gap handed out before the queued batch was done")
	}
	b := <-q.Batches()
	if q.TakeGap() != nil {
		t.Error("gap handed out before the batch taken was done")
	}
	q.Done(b)
	g := q.TakeGap()
	if g.Len() != 2 {
		t.Fatalf("gap of %d events, want 2", g.Len())
	}
	q.Offer(batch(1)) // queued again once the gap is taken
	if s := q.Stats(); s.Batches != 1 || s.GapEvents != 0 {
		t.Errorf("stats after the gap %+v", s)
	}
	q.Close()
	q.Offer(batch(1)) // ignored
}

// TestSaveBelowGap: a stateful snapshot taken while a gap is open marks
// the gap's oldest receive time minus one, so a restart replays the gap.
func TestSaveBelowGap(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStateful(nil, StatefulOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e := ev(time.Second, "a=b")
	r := time.Now().Add(time.Hour).UnixNano() // newer than the fresh node's own mark
	e.Received = r
	s.Observe(&e, nil)
	for _, c := range []struct{ below, mark int64 }{{r - 50, r - 51}, {0, r}, {r + 200, r}} {
		if err := s.saveBelow(c.below); err != nil {
			t.Fatal(err)
		}
		s2, err := OpenStateful(nil, StatefulOptions{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if mark, _, ok := s2.replayMark(); !ok || mark != c.mark {
			t.Errorf("saveBelow(%d): mark %d (ok %v), want %d", c.below, mark, ok, c.mark)
		}
	}
}

// TestGapEventsRowLoads reads a gap's events back from a real store,
// where a block holds the rows of many receive windows: from cheap parts
// (loaded once) and from full parts (only the gap's rows loaded, or the
// whole block without row loads). Every event of the gap comes back whole
// (raw text and fields), none of the others.
func TestGapEventsRowLoads(t *testing.T) {
	defer func() { rowLoads = true }()
	for _, full := range []bool{false, true} {
		st, err := store.Open(store.Options{Dir: t.TempDir(), Sync: store.SyncInterval, FullFlush: full})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC).UnixNano()
		recv := time.Now().UnixNano()
		g := NewGap()
		want := map[string]bool{}
		for b := range 10 {
			recv++
			evs := make([]event.Event, 50)
			for i := range evs {
				raw := fmt.Sprintf(`{"n":%d,"user":"u%d","msg":"batch %d row %d"}`, b*50+i, i%7, b, i)
				evs[i] = event.Event{Time: base + int64(b*50+i)*int64(time.Second), Received: recv, Source: "app", Host: "h1", Raw: raw,
					Fields: []event.Field{{Name: "user", Value: fmt.Sprintf("u%d", i%7)}}}
				if b == 4 {
					want[raw] = true
				}
			}
			if err := st.Append(context.Background(), evs); err != nil {
				t.Fatal(err)
			}
			if b == 4 {
				g.Add(evs)
			}
		}
		if err := st.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, rl := range []bool{true, false} {
			rowLoads = rl
			name := fmt.Sprintf("full=%v rowLoads=%v", full, rl)
			snap := st.Snapshot()
			refs, _, err := snap.Blocks(context.Background(), store.Query{MinTime: base, MaxTime: base + int64(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			fps := slices.Clone(g.fps)
			slices.Sort(fps)
			taken := make([]bool, len(fps))
			got := map[string]bool{}
			for _, ref := range refs {
				if _, ok := ref.(store.ColumnLoader); ok != full {
					t.Fatalf("%s: block is a ColumnLoader: %v", name, ok)
				}
				evs, err := gapEvents(ref, g.minRecv, g.maxRecv, fps, taken)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range evs {
					if !want[e.Raw] || got[e.Raw] {
						t.Errorf("%s: unexpected or repeated event %q", name, e.Raw)
					}
					if u, _ := e.Get("user"); u == "" {
						t.Errorf("%s: event %q lost its user field", name, e.Raw)
					}
					got[e.Raw] = true
				}
			}
			if len(got) != len(want) {
				t.Errorf("%s: %d events read back, want %d", name, len(got), len(want))
			}
			d, err := Open(Options{SuppressFor: -1})
			if err != nil {
				t.Fatal(err)
			}
			cs, err := d.CatchUp(context.Background(), snap, g, func([]Signal) {})
			snap.Release()
			if err != nil || cs.Events != 50 || cs.Missing != 0 {
				t.Errorf("%s: CatchUp = %+v, %v; want 50 events, none missing", name, cs, err)
			}
		}
	}
}

// countingSnap counts the loads of each stream's blocks.
type countingSnap struct {
	store.Snapshot
	mu    sync.Mutex
	loads map[string]int // source/host
}

type countingRef struct {
	store.BlockRef
	s *countingSnap
}

func (r countingRef) Load(cols []string) (*store.Block, error) {
	r.s.mu.Lock()
	r.s.loads[r.Source()+"/"+r.Host()]++
	r.s.mu.Unlock()
	return r.BlockRef.Load(cols)
}

func (s *countingSnap) Blocks(ctx context.Context, q store.Query) ([]store.BlockRef, store.Stats, error) {
	refs, st, err := s.Snapshot.Blocks(ctx, q)
	for i := range refs {
		refs[i] = countingRef{refs[i], s}
	}
	return refs, st, err
}

// TestCatchUpReadsGapStreams: a catch-up reads only the blocks of the
// streams (source, host) its gap recorded, within their time spans;
// past gapStreamsMax streams it reads every stream's blocks.
func TestCatchUpReadsGapStreams(t *testing.T) {
	var stored []event.Event
	g := NewGap()
	recv := time.Now().UnixNano()
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC).UnixNano()
	for b := range 6 {
		recv++
		var evs []event.Event
		for i := range 20 {
			host := []string{"a", "b"}[i%2]
			// Host b's rows come a little earlier: without pruning by
			// stream its blocks would be read first.
			evs = append(evs, event.Event{Time: base + int64(b*20+i-2*(i%2))*int64(time.Second), Received: recv, Source: "app", Host: host,
				Raw: fmt.Sprintf("batch %d row %d host %s", b, i, host)})
		}
		stored = append(stored, evs...)
		if b == 3 { // the gap: only host a's events of batch 3
			g.Add(slices.DeleteFunc(slices.Clone(evs), func(e event.Event) bool { return e.Host != "a" }))
		}
	}
	snap := &countingSnap{Snapshot: query.NewMemSource(stored, query.MemOptions{BlockRows: 10}), loads: map[string]int{}}
	d, err := Open(Options{SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := d.CatchUp(context.Background(), snap, g, func([]Signal) {})
	if err != nil || cs.Events != 10 || cs.Missing != 0 {
		t.Fatalf("CatchUp = %+v, %v; want 10 events", cs, err)
	}
	if snap.loads["app/b"] != 0 || snap.loads["app/a"] == 0 {
		t.Fatalf("loads per stream %v: want host a's blocks only", snap.loads)
	}

	many := NewGap()
	evs := make([]event.Event, gapStreamsMax+1)
	for i := range evs {
		evs[i] = event.Event{Time: base, Received: recv, Source: "s", Host: fmt.Sprint(i), Raw: "x"}
	}
	many.Add(evs)
	if !many.many || many.streams != nil {
		t.Fatalf("a gap of %d streams keeps them (%d)", len(evs), len(many.streams))
	}
}
