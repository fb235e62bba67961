package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/event"
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
