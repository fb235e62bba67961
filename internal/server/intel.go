package server

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
	"github.com/mamori/mamori/internal/store"
)

// retroHunt searches the last days of stored events for new indicators and
// raises intel signals for past hits.
func retroHunt(ctx context.Context, st store.Engine, inds []detect.Indicator, days time.Duration, emit func(context.Context, []detect.Signal) error, log *slog.Logger) {
	now := time.Now()
	for _, ind := range inds {
		if ctx.Err() != nil {
			return
		}
		if ind.Type == detect.IOCCIDR {
			continue // TODO(lead): CIDR retro-hunts need a CIDR operator in search (#5)
		}
		q, err := query.Parse(strconv.Quote(ind.Value))
		if err != nil {
			log.Warn("retro-hunt query", "indicator", ind.Value, "err", err)
			continue
		}
		snap := st.Snapshot()
		var sigs []detect.Signal
		_, err = query.Run(ctx, snap, q, query.Options{From: now.Add(-days).UnixNano(), To: now.Add(time.Hour).UnixNano(), // slack for clock skew between sources
			Timeout: 5 * time.Minute, MaxMemoryBytes: 256 << 20}, func(row query.Row) error {
			ev := row.Event()
			if ev.Partition == detect.SignalsPartition || strings.HasPrefix(ev.Partition, "_") {
				return nil
			}
			ev.Fields = append(ev.Fields, event.Field{Name: "threat.indicator.type", Value: ind.Type}, event.Field{Name: "threat.feed", Value: ind.Source})
			s := detect.IntelSignal(&ev, ind.Value)
			s.Title = "Retro-hunt: " + s.Title
			sigs = append(sigs, s)
			return nil
		})
		snap.Release()
		if err != nil {
			log.Warn("retro-hunt", "indicator", ind.Value, "err", err)
		}
		if len(sigs) > 0 {
			log.Info("retro-hunt found past hits", "indicator", ind.Value, "hits", len(sigs))
			if err := emit(ctx, sigs); err != nil {
				log.Error("store retro-hunt signals", "err", err)
			}
		}
	}
}
