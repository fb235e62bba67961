package server

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/event"
)

// auditStorer copies audit records into the audit partition so auditors
// can search them. The hash-chained file stays the evidence; this copy is
// for search, so it never blocks the request that caused the record.
type auditStorer struct {
	sink *Pipeline
	log  *slog.Logger
	c    chan auth.Record
	wg   sync.WaitGroup

	mu      sync.Mutex // guards dropped
	dropped int
}

func newAuditStorer(p *Pipeline, log *slog.Logger) *auditStorer {
	a := &auditStorer{sink: p, log: log, c: make(chan auth.Record, 4096)}
	a.wg.Add(1)
	go a.run()
	return a
}

func (a *auditStorer) offer(r auth.Record) {
	select {
	case a.c <- r:
	default:
		a.mu.Lock()
		a.dropped++
		a.mu.Unlock()
	}
}

func (a *auditStorer) run() {
	defer a.wg.Done()
	for r := range a.c {
		batch := []event.Event{auditEvent(r)}
	more:
		for len(batch) < 512 {
			select {
			case r, ok := <-a.c:
				if !ok {
					break more
				}
				batch = append(batch, auditEvent(r))
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.sink.Append(ctx, batch); err != nil {
			a.log.Warn("store audit records for search", "err", err, "records", len(batch))
		}
		cancel()
	}
}

func (a *auditStorer) close() {
	close(a.c)
	a.wg.Wait()
	if a.dropped > 0 {
		a.log.Warn("audit records not copied to the audit partition (the audit log file has them)", "dropped", a.dropped)
	}
}

func auditEvent(r auth.Record) event.Event {
	e := event.Event{Time: r.Time.UnixNano(), Source: "mamori", Category: "audit", Partition: auth.AuditPartition,
		Raw: r.Actor + " " + r.Action + " " + r.Target + " " + r.Outcome}
	e.Fields = append(e.Fields, event.Field{Name: "seq", Value: strconv.FormatUint(r.Seq, 10)},
		event.Field{Name: "actor", Value: r.Actor}, event.Field{Name: "action", Value: r.Action})
	for _, kv := range [...][2]string{{"target", r.Target}, {"outcome", r.Outcome}, {"remote", r.Remote}, {"hash", r.Hash}} {
		if kv[1] != "" {
			e.Fields = append(e.Fields, event.Field{Name: kv[0], Value: kv[1]})
		}
	}
	for k, v := range r.Details {
		e.Fields = append(e.Fields, event.Field{Name: "details." + k, Value: v})
	}
	return e
}
