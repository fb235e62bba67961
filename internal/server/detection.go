package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mamori/mamori/content"
	"github.com/mamori/mamori/internal/alert"
	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/metric"
	"github.com/mamori/mamori/internal/store"
)

// signalSink stores signals in the signals partition and feeds them to the
// incident correlator.
type signalSink struct {
	pipe *Pipeline
	corr *detect.Correlator
	log  *slog.Logger
}

func (s signalSink) emit(ctx context.Context, sigs []detect.Signal) error {
	evs := make([]event.Event, len(sigs))
	for i := range sigs {
		evs[i] = sigs[i].Event()
	}
	err := s.pipe.Append(ctx, evs)
	for _, sg := range sigs {
		s.corr.Add(sg)
	}
	return err
}

// lagBuckets are the bounds of the detection-lag histogram, in seconds.
var lagBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60}

// liveEmit wraps the sink of live detection (which the detector calls
// from a goroutine of its own, signals queued meanwhile together) to
// measure detection lag: from the arrival of the event behind each signal
// to the signal stored.
func liveEmit(emit func(context.Context, []detect.Signal) error, lag *metric.Histogram) func(context.Context, []detect.Signal) error {
	return func(ctx context.Context, sigs []detect.Signal) error {
		err := emit(ctx, sigs)
		now := time.Now().UnixNano()
		for i := range sigs {
			if sigs[i].EventReceived != 0 && sigs[i].Kind != detect.TypeAbsence {
				lag.Observe(float64(now-sigs[i].EventReceived) / 1e9)
			}
		}
		return err
	}
}

// saveLoop persists incidents every few seconds while they change.
func saveLoop(ctx context.Context, c *detect.Correlator, log *slog.Logger) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := c.Save(); err != nil {
				log.Error("save incidents", "err", err)
			}
			return
		case <-t.C:
			if err := c.Save(); err != nil {
				log.Error("save incidents", "err", err)
			}
		}
	}
}

// withContent returns the rule folders to load: the content pack
// (extracted into DATA/content) unless opts.NoContent, then opts.RuleDirs.
// (stateful detection, #6)
func withContent(opts Options) ([]string, error) {
	if opts.NoContent {
		return opts.RuleDirs, nil
	}
	dir := filepath.Join(opts.DataDir, "content")
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("extract content pack: %w", err)
	}
	if err := content.Extract(dir); err != nil {
		return nil, err
	}
	return append([]string{dir}, opts.RuleDirs...), nil
}

// registerStatefulMetrics exports the stateful engine's counters and the
// size of its state (#6).
func registerStatefulMetrics(reg *metric.Registry, st *detect.Stateful) {
	reg.Func("mamori_stateful", func(w io.Writer) {
		c := st.Counts()
		metric.WriteSimple(w, "mamori_stateful_rules", "gauge", "Stateful rules loaded (Mamori rules and Sigma correlations).", float64(c.Rules))
		metric.WriteSimple(w, "mamori_stateful_keys", "gauge", "Entity keys held in stateful rule windows.", float64(c.Keys))
		metric.WriteSimple(w, "mamori_stateful_signals_total", "counter", "Signals raised by stateful rules.", float64(c.Fired))
		metric.WriteSimple(w, "mamori_stateful_late_events_total", "counter", "Events older than the newest event time minus the lateness.", float64(c.Late))
		metric.WriteSimple(w, "mamori_stateful_evicted_total", "counter", "Keys or values evicted because a rule reached its state limit.", float64(c.Evicted))
		metric.WriteSimple(w, "mamori_stateful_pending_triggers", "gauge", "Absence-rule triggers waiting for their deadline.", float64(c.PendingAbsenceTriggers))
	})
}

// detection is a node's detection side: rules (Sigma and stateful), threat
// intel with retro-hunts, monitors, incidents and the notification outbox,
// with the goroutines that run them. close stops them in order.
type detection struct {
	det    *detect.Detector // nil when detection is off
	corr   *detect.Correlator
	outbox *alert.Outbox

	stop      context.CancelFunc // ends detection, monitors, retro-hunts, saves
	intelStop chan struct{}      // ends the intel reload loop (nil when off)
	outStop   context.CancelFunc // ends outbox delivery, last
	wait      []chan struct{}    // goroutines of detection, then the outbox
	unsub     func()
	log       *slog.Logger
	once      sync.Once
}

// startDetection opens and starts everything detection needs.
func startDetection(opts Options, st *store.Store, pipe *Pipeline, reg *metric.Registry, log *slog.Logger) (*detection, error) {
	d := &detection{stop: func() {}, outStop: func() {}, unsub: func() {}, log: log}
	var err error
	d.outbox, err = alert.Open(alert.Options{Dir: filepath.Join(opts.DataDir, "outbox"), Channels: opts.Channels, Logger: log.With("component", "alert")})
	if err != nil {
		return nil, err
	}
	outCtx, outStop := context.WithCancel(context.Background())
	d.outStop = outStop
	outDone := d.goRun(func() { _ = d.outbox.Run(outCtx) }) // returns nil when stopped
	notify := func(inc detect.Incident, what string) {
		if what != "created" && what != "escalated" {
			return
		}
		if _, err := d.outbox.Enqueue(alert.Message{Kind: "incident." + what, Title: inc.Title, Severity: inc.Severity, Time: time.Now().UTC(), Data: inc}, ""); err != nil {
			log.Error("enqueue notification", "err", err, "incident", inc.ID)
		}
	}
	d.corr, err = detect.OpenCorrelator(detect.IncidentOptions{Dir: filepath.Join(opts.DataDir, "incidents"), Criticality: opts.Criticality,
		Logger: log.With("component", "incidents"), OnChange: notify})
	if err == nil && !opts.NoDetection {
		err = d.startRules(opts, st, pipe, reg, log)
	}
	// The outbox is waited for last: detection may still enqueue while
	// it stops.
	d.wait = append(d.wait, outDone)
	if err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// goRun runs fn in a goroutine and returns a channel closed when it ends.
func (d *detection) goRun(fn func()) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	return done
}

// startRules starts live detection, threat intel and monitors.
func (d *detection) startRules(opts Options, st *store.Store, pipe *Pipeline, reg *metric.Registry, log *slog.Logger) error {
	// The content pack is extracted into DATA/content at every start so
	// the rule folders' loader reads it like any folder (#6).
	ruleDirs, err := withContent(opts)
	if err != nil {
		return err
	}
	d.det, err = detect.Open(detect.Options{RuleDirs: ruleDirs, StateDir: filepath.Join(opts.DataDir, "rules"), Logger: log.With("component", "detect"),
		Stateful: detect.StatefulOptions{Dir: filepath.Join(opts.DataDir, "stateful"), Logger: log.With("component", "stateful")}})
	if err != nil {
		return fmt.Errorf("open detection: %w", err)
	}
	intel, err := detect.OpenIntel(append([]string{filepath.Join(opts.DataDir, "intel")}, opts.IntelPaths...), log.With("component", "intel"))
	if err != nil {
		return fmt.Errorf("open threat intel: %w", err)
	}
	mons, err := detect.NewMonitors(opts.Monitors, st.Snapshot, log.With("component", "monitor"), nil)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	d.stop = stop
	// Live detection's queue is bounded by bytes; what does not fit is
	// read back from the store and detected once the queue drains (#5).
	queueBytes := opts.DetectQueueBytes
	if queueBytes <= 0 {
		queueBytes = detectQueueBytes
	}
	feed := newDetectFeed(queueBytes, detectGapMax, opts.DetectQueueWait)
	pipe.subscribe(feed)
	d.unsub = func() {
		pipe.unsubscribe(feed)
		feed.Close()
	}
	registerDetectMetrics(reg, d.det, feed)
	registerDetectQueueMetrics(reg, feed)
	registerStatefulMetrics(reg, d.det.Stateful())
	sink := signalSink{pipe: pipe, corr: d.corr, log: log}
	lag := reg.Histogram("mamori_detect_signal_lag_seconds", "Time from an event's arrival to the storing of the live signal it raised (absence rules, which wait for a deadline, excluded).", lagBuckets)

	enrich := func(evs []event.Event) { intel.Set().Enrich(evs) }
	pipe.enrich.Store(&enrich)
	reloadEvery := opts.IntelReload
	if reloadEvery <= 0 {
		reloadEvery = 30 * time.Second
	}
	retro := time.Duration(max(opts.IntelRetroDays, 0)) * 24 * time.Hour
	if retro == 0 {
		retro = 7 * 24 * time.Hour
	}
	d.intelStop = make(chan struct{})
	d.wait = append(d.wait,
		d.goRun(func() {
			intel.Run(d.intelStop, reloadEvery, func(fresh []detect.Indicator) {
				retroHunt(ctx, st, fresh, retro, sink.emit, log.With("component", "intel"))
			})
		}),
		d.goRun(func() { mons.Run(ctx, sink.emit) }),
		d.goRun(func() { saveLoop(ctx, d.corr, log.With("component", "incidents")) }),
		d.goRun(func() {
			// Replay what the store received after the stateful snapshot
			// (a crash loses it otherwise), then go live: the subscription
			// above buffers live batches meanwhile (#6).
			d.replay(ctx, st, sink.emit, log)
			snapshot := func() store.Snapshot { return st.Snapshot() }
			if err := d.det.RunFeed(ctx, feed.LiveQueue, snapshot, liveEmit(sink.emit, lag)); err != nil {
				log.Error("detection stopped", "err", err)
			}
		}),
	)
	return nil
}

// replay re-runs detection over the events stored after the stateful
// snapshot; the signals stored since then go back to the incidents, whose
// own save may be older than the crash.
func (d *detection) replay(ctx context.Context, st *store.Store, emit func(context.Context, []detect.Signal) error, log *slog.Logger) {
	snap := st.Snapshot()
	defer snap.Release()
	rs, err := d.det.Replay(ctx, snap, emit, detect.ReplayOptions{Stored: func(s detect.Signal) { d.corr.Add(s) }})
	if err != nil {
		if ctx.Err() != nil {
			log.Info("replay stopped by shutdown; the next start replays again", "events", rs.Events)
			return
		}
		log.Error("replay events received after the stateful snapshot", "err", err, "events", rs.Events)
		return
	}
	if rs.Mark != 0 {
		log.Info("replayed events received after the stateful snapshot", "events", rs.Events, "blocks", rs.Blocks,
			"signals", rs.Signals, "already_stored", rs.Duplicates, "took", rs.Took)
	}
}

// close stops detection, waits for its goroutines (incidents are saved
// on the way out), then stops the outbox. Safe to call more than once.
func (d *detection) close() {
	d.once.Do(func() {
		d.stop()
		if d.intelStop != nil {
			close(d.intelStop)
		}
		for i, w := range d.wait {
			if i == len(d.wait)-1 {
				// Every signal is in: save the incidents once more (the
				// save loop may have stopped before detection's last
				// signals), then stop the outbox.
				if d.corr != nil {
					if err := d.corr.Save(); err != nil {
						d.log.Error("save incidents", "err", err)
					}
				}
				d.outStop()
			}
			<-w
		}
		d.unsub()
	})
}
