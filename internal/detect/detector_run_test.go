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
