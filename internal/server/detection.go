package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mamori/mamori/content"
	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/metric"
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
