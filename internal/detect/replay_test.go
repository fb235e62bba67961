package detect

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
	"github.com/mamori/mamori/internal/store"
)

// replayNode is a detector over a rule folder and a data folder, with the
// events "stored" so far (the store a restart replays from).
type replayNode struct {
	t      *testing.T
	rules  string
	state  string
	stored []event.Event
	recv   int64
}

func newReplayNode(t *testing.T, rule string) *replayNode {
	t.Helper()
	n := &replayNode{t: t, rules: t.TempDir(), state: t.TempDir(), recv: time.Now().UnixNano()}
	if err := os.WriteFile(filepath.Join(n.rules, "rule.yml"), []byte(rule), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *replayNode) open() *Detector {
	n.t.Helper()
	d, err := Open(Options{RuleDirs: []string{n.rules}, SuppressFor: -1, Stateful: StatefulOptions{Dir: filepath.Join(n.state, "stateful")}})
	if err != nil {
		n.t.Fatal(err)
	}
	return d
}

// ingest stores events (received now, in order) and runs them live
// through d; the signals raised are stored too, as the server does.
func (n *replayNode) ingest(d *Detector, evs ...event.Event) []Signal {
	n.t.Helper()
	for i := range evs {
		// Receive times as the server gives them: now, never going back.
		n.recv = max(n.recv+1, time.Now().UnixNano())
		evs[i].Received = n.recv
	}
	n.stored = append(n.stored, evs...)
	sigs := d.Detect(evs)
	n.storeSignals(sigs)
	return sigs
}

func (n *replayNode) storeSignals(sigs []Signal) {
	for i := range sigs {
		n.recv = max(n.recv+1, time.Now().UnixNano())
		e := sigs[i].Event()
		e.Received = n.recv
		n.stored = append(n.stored, e)
	}
}

func (n *replayNode) snapshot() store.Snapshot {
	return query.NewMemSource(n.stored, query.MemOptions{BlockRows: 2})
}

// restart opens a new detector on the same folders (the old one is gone,
// as after kill -9) and replays the stored events.
func (n *replayNode) restart() (*Detector, ReplayStats, []Signal) {
	n.t.Helper()
	d := n.open()
	var emitted []Signal
	rs, err := d.Replay(context.Background(), n.snapshot(), func(_ context.Context, s []Signal) error {
		emitted = append(emitted, s...)
		return nil
	}, ReplayOptions{})
	if err != nil {
		n.t.Fatalf("Replay: %v", err)
	}
	n.storeSignals(emitted)
	return d, rs, emitted
}

func TestReplayAfterCrash(t *testing.T) {
	fail := func(at time.Duration) event.Event { return ev(at, "event.outcome=failure", "user.name=a") }
	t.Run("window spans the crash", func(t *testing.T) {
		n := newReplayNode(t, thresholdRule)
		d := n.open()
		n.ingest(d, fail(0))
		if err := d.Stateful().Save(); err != nil {
			t.Fatal(err)
		}
		n.ingest(d, fail(time.Minute)) // after the snapshot: lost without a replay
		d, rs, sigs := n.restart()
		if rs.Events != 1 || len(sigs) != 0 {
			t.Errorf("replay = %+v, %d signals; want 1 event and no signal", rs, len(sigs))
		}
		if got := n.ingest(d, fail(2*time.Minute)); len(got) != 1 {
			t.Errorf("third failure after restart raised %d signals, want 1 (the window spans the crash)", len(got))
		}
	})
	t.Run("no duplicate of a stored signal", func(t *testing.T) {
		n := newReplayNode(t, thresholdRule)
		d := n.open()
		n.ingest(d, fail(0))
		if err := d.Stateful().Save(); err != nil {
			t.Fatal(err)
		}
		n.ingest(d, fail(time.Minute))
		if got := n.ingest(d, fail(2*time.Minute)); len(got) != 1 {
			t.Fatalf("live: %d signals, want 1", len(got))
		}
		var stored []Signal
		d = n.open()
		rs, err := d.Replay(context.Background(), n.snapshot(), func(context.Context, []Signal) error {
			t.Error("replay emitted a signal that was already stored")
			return nil
		}, ReplayOptions{Stored: func(s Signal) { stored = append(stored, s) }})
		if err != nil {
			t.Fatal(err)
		}
		if rs.Events != 2 || rs.Duplicates != 1 || rs.Signals != 0 || len(stored) != 1 || stored[0].RuleID != "t-fail" {
			t.Errorf("replay = %+v, stored %v; want 2 events, 1 duplicate, the stored signal handed back", rs, stored)
		}
		// The live copies of the replayed events are skipped, later ones kept.
		last := n.stored[len(n.stored)-2] // the third failure
		later := fail(3 * time.Minute)
		later.Received = n.recv + 1
		if got := d.skipReplayed([]event.Event{last, later}); len(got) != 1 || got[0].Time != later.Time {
			t.Errorf("skipReplayed kept %d events, want only the one received after the replay", len(got))
		}
	})
	t.Run("clean stop replays nothing", func(t *testing.T) {
		n := newReplayNode(t, thresholdRule)
		d := n.open()
		n.ingest(d, fail(0), fail(time.Minute))
		if err := d.Stateful().Save(); err != nil {
			t.Fatal(err)
		}
		d, rs, _ := n.restart()
		if rs.Events != 0 || rs.Mark == 0 {
			t.Errorf("replay = %+v, want a mark and nothing to replay", rs)
		}
		if got := n.ingest(d, fail(2*time.Minute)); len(got) != 1 {
			t.Errorf("after restart: %d signals, want 1", len(got))
		}
	})
	t.Run("crash before the first periodic save", func(t *testing.T) {
		n := newReplayNode(t, thresholdRule)
		d := n.open() // a fresh node records its start as the mark
		n.ingest(d, fail(0), fail(time.Minute))
		d, rs, _ := n.restart()
		if rs.Events != 2 {
			t.Errorf("replay = %+v, want the 2 events since the first start", rs)
		}
		if got := n.ingest(d, fail(2*time.Minute)); len(got) != 1 {
			t.Errorf("after restart: %d signals, want 1", len(got))
		}
	})
	t.Run("no snapshot dir", func(t *testing.T) {
		d, err := Open(Options{})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := d.Replay(context.Background(), query.NewMemSource([]event.Event{fail(0)}, query.MemOptions{}), nil, ReplayOptions{})
		if err != nil || rs.Mark != 0 || rs.Events != 0 {
			t.Errorf("Replay = %+v, %v; want nothing to do", rs, err)
		}
	})
}

func TestReplayFirstSeenAcrossCrash(t *testing.T) {
	const rule = `
mamori: v1
id: fs-src
title: new source
type: first_seen
level: medium
group_by: [user.name]
value: [source.ip]
`
	login := func(at time.Duration, ip string) event.Event {
		return ev(at, "user.name=a", "source.ip="+ip)
	}
	n := newReplayNode(t, rule)
	d := n.open()
	n.ingest(d, login(0, "10.0.0.1"))
	if err := d.Stateful().Save(); err != nil {
		t.Fatal(err)
	}
	// Learned after the snapshot; a restart without replay would forget it
	// and call its next use new.
	n.ingest(d, login(time.Hour, "10.0.0.2"))
	d, _, sigs := n.restart()
	if len(sigs) != 0 {
		t.Errorf("replay raised %d signals, want 0", len(sigs))
	}
	if got := n.ingest(d, login(2*time.Hour, "10.0.0.2")); len(got) != 0 {
		t.Errorf("known source after restart raised %v", got)
	}
}

func TestReplayCutShortKeepsSnapshot(t *testing.T) {
	fail := func(at time.Duration) event.Event { return ev(at, "event.outcome=failure", "user.name=a") }
	n := newReplayNode(t, thresholdRule)
	d := n.open()
	n.ingest(d, fail(0))
	if err := d.Stateful().Save(); err != nil {
		t.Fatal(err)
	}
	n.ingest(d, fail(time.Minute))
	path := filepath.Join(n.state, "stateful", snapshotName)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d = n.open()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // shutdown during the replay
	if _, err := d.Replay(ctx, n.snapshot(), func(context.Context, []Signal) error { return nil }, ReplayOptions{}); err == nil {
		t.Fatal("Replay with a cancelled context: no error")
	}
	if err := d.Run(ctx, make(chan []event.Event), nil); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("an interrupted replay overwrote the snapshot it started from")
	}
	// The next start replays the same event and completes the window.
	d, rs, _ := n.restart()
	if rs.Events != 1 {
		t.Errorf("replay after the interrupted one = %+v, want 1 event", rs)
	}
	if got := n.ingest(d, fail(2*time.Minute)); len(got) != 1 {
		t.Errorf("%d signals, want 1", len(got))
	}
}

// fakeBlock is a BlockRef over a fixed decoded block.
type fakeBlock struct{ b *store.Block }

func (f fakeBlock) Partition() string                 { return f.b.Partition }
func (f fakeBlock) Source() string                    { return f.b.Source }
func (f fakeBlock) Host() string                      { return f.b.Host }
func (f fakeBlock) MinTime() int64                    { return f.b.Times[0] }
func (f fakeBlock) MaxTime() int64                    { return f.b.Times[len(f.b.Times)-1] }
func (f fakeBlock) Rows() int                         { return f.b.Rows() }
func (f fakeBlock) Columns() []string                 { return nil }
func (f fakeBlock) MinuteCounts() []store.MinuteCount { return nil }
func (f fakeBlock) Load(cols []string) (*store.Block, error) {
	if cols == nil {
		return f.b, nil
	}
	out := &store.Block{Partition: f.b.Partition, Source: f.b.Source, Host: f.b.Host, Times: f.b.Times}
	for _, c := range cols {
		if col := f.b.Column(c); col != nil {
			out.Cols = append(out.Cols, *col)
		}
	}
	return out, nil
}

// TestReplayBadReceived: rows whose _received does not parse, or that lack
// it, are not replayed; the valid rows beside them are.
func TestReplayBadReceived(t *testing.T) {
	b := &store.Block{Partition: "main", Source: "s", Host: "h", Times: []int64{1, 2, 3, 4},
		Cols: []store.Column{
			{Name: event.FieldRaw, Values: []string{"a", "b", "c", "d"}},
			{Name: event.FieldReceived, Values: []string{"garbage", "", "500", "2026-01-01T00:00:00Z"}, Absent: []bool{false, true, false, false}},
			{Name: "user.name", Values: []string{"x", "y", "z", "w"}},
		}}
	evs, err := eventsSince(fakeBlock{b}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var raws []string
	for _, e := range evs {
		raws = append(raws, e.Raw)
		if v, _ := e.Get("user.name"); v == "" || e.Received <= 100 || e.Host != "h" {
			t.Errorf("replayed event %+v lost its fields", e)
		}
	}
	if len(raws) != 2 || raws[0] != "c" || raws[1] != "d" {
		t.Errorf("replayed %v, want [c d]", raws)
	}
	if evs, err := eventsSince(fakeBlock{&store.Block{Times: []int64{1}}}, 0); err != nil || evs != nil {
		t.Errorf("block without _received: %v, %v", evs, err)
	}
}
