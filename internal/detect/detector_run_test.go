package detect

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// TestRunEmitsEverythingBeforeReturning: signals are stored on a goroutine
// of their own, yet every one is emitted before Run returns, and a slow
// store does not lose any. Run with -race.
func TestRunEmitsEverythingBeforeReturning(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.yml"), []byte("mamori: v1\nid: m\ntype: match\nfilter: event.action=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(Options{RuleDirs: []string{dir}, SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	var emitted atomic.Int64
	var mu sync.Mutex
	calls := 0
	emit := func(ctx context.Context, sigs []Signal) error {
		if ctx.Err() != nil {
			t.Error("emit called with a cancelled context")
		}
		time.Sleep(time.Millisecond) // a slow fsync
		mu.Lock()
		calls++
		mu.Unlock()
		emitted.Add(int64(len(sigs)))
		return nil
	}
	in := make(chan []event.Event, 100)
	const batches, per = 12, 3 * detectChunk / 2
	for b := 0; b < batches; b++ {
		evs := make([]event.Event, per)
		for i := range evs {
			evs[i] = ev(time.Duration(b*per+i)*time.Millisecond, "event.action=x")
		}
		in <- evs
	}
	close(in)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := d.Run(ctx, in, emit); err != nil {
		t.Fatal(err)
	}
	if got := emitted.Load(); got != batches*per {
		t.Errorf("emitted %d signals, want %d", got, batches*per)
	}
	t.Logf("%d signals in %d store calls", emitted.Load(), calls)
}

func TestSignalQueueFlush(t *testing.T) {
	d, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var done atomic.Bool
	q := d.startEmitter(context.Background(), func(context.Context, []Signal) error {
		<-release
		done.Store(true)
		return nil
	})
	q.send([]Signal{{ID: "a"}})
	flushed := make(chan struct{})
	go func() {
		q.flush()
		close(flushed)
	}()
	select {
	case <-flushed:
		t.Fatal("flush returned before the queued signals were emitted")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-flushed
	if !done.Load() {
		t.Error("flush returned, emit not done")
	}
	q.close()
}

// TestRunLag: while Run detects events that arrived an hour ago, Lag says
// so; once it has caught up, Lag is 0.
func TestRunLag(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.yml"), []byte(thresholdRule), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(Options{RuleDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Lag() != 0 {
		t.Fatalf("idle detector: lag %v", d.Lag())
	}
	arrived := time.Now().Add(-time.Hour).UnixNano()
	in := make(chan []event.Event, 100)
	for b := 0; b < 20; b++ {
		evs := make([]event.Event, 2*detectChunk)
		for i := range evs {
			evs[i] = ev(time.Duration(b*len(evs)+i)*time.Millisecond, "event.outcome=failure", "user.name=u")
			evs[i].Received = arrived
		}
		in <- evs
	}
	close(in)
	done := make(chan struct{})
	var seen time.Duration
	go func() {
		defer close(done)
		if err := d.Run(context.Background(), in, func(context.Context, []Signal) error { return nil }); err != nil {
			t.Error(err)
		}
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			seen = max(seen, d.Lag())
			time.Sleep(100 * time.Microsecond)
		}
	}
	if seen != 0 && seen < 59*time.Minute {
		t.Errorf("lag while detecting events that arrived 1h ago: %v", seen)
	}
	if seen == 0 {
		t.Log("Run finished before a lag was observed (a very fast machine)")
	}
	if got := d.Lag(); got != 0 {
		t.Errorf("lag after catching up: %v, want 0", got)
	}
	// An event without a receive time counts from when Run took it.
	e := event.Event{}
	if now := time.Now(); arrival(&e, now) != now.UnixNano() {
		t.Error("arrival of an event without a receive time is not now")
	}
}

// TestDetectRecordsWallTimeForFlush: Detect reads the wall clock once per
// batch (not per event), and Flush still resolves an absence rule from it
// when no later event comes.
func TestDetectRecordsWallTimeForFlush(t *testing.T) {
	dir := t.TempDir()
	rule := "mamori: v1\nid: abs\ntype: absence\ntrigger: event.action=sign\nexpect: event.action=approve\njoin: [id]\nwindow: 1m\n"
	if err := os.WriteFile(filepath.Join(dir, "a.yml"), []byte(rule), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(Options{RuleDirs: []string{dir}, SuppressFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	if sigs := d.Detect([]event.Event{ev(0, "event.action=other"), ev(time.Second, "event.action=sign", "id=1")}); len(sigs) != 0 {
		t.Fatalf("signals before the deadline: %v", sigs)
	}
	if sigs := d.Stateful().Flush(time.Now()); len(sigs) != 0 {
		t.Fatalf("flushed before the deadline: %v", sigs)
	}
	// The deadline is the trigger's time plus the lateness (10m): 11 min
	// of wall time later, with no event since, it has passed.
	sigs := d.Stateful().Flush(time.Now().Add(11 * time.Minute))
	if len(sigs) != 1 || sigs[0].RuleID != "abs" {
		t.Errorf("flush after the deadline: %v, want the absence signal", sigs)
	}
}
