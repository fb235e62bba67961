package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
)

// LiveSource delivers batches of events as they become durable. Subscribe
// returns a channel that is closed by cancel; a slow reader misses batches
// (counted by the source) rather than slowing ingest.
type LiveSource interface {
	Subscribe(buffer int) (events <-chan []event.Event, dropped func() int64, cancel func())
}

// tail handles GET /api/v1/tail?query=...: Server-Sent Events, one "event"
// message per matching event (its JSON row), "dropped" messages when the
// client fell behind, and a comment heartbeat every 15 s.
func (h *Handler) tail(w http.ResponseWriter, r *http.Request) {
	if h.opts.Live == nil {
		h.writeError(w, r, fmt.Errorf("%w: live tail is not available on this node", errNotFound), nil)
		return
	}
	text := r.URL.Query().Get("query")
	q, err := query.Parse(text)
	if err != nil {
		h.writeError(w, r, err, syntaxDetails(err))
		return
	}
	if len(q.Stages) > 0 {
		h.writeError(w, r, invalidf("live tail takes a search expression only (no | operators)"), nil)
		return
	}
	m, err := q.Matcher()
	if err != nil {
		h.writeError(w, r, invalidf("%v", err), nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	inScope, err := scopeMatcher(p, strings.Contains(text, "_partition"))
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	h.auditf(r, p, "tail", text, "", nil)
	flusher, ok := w.(http.Flusher)
	if !ok {
		h.writeError(w, r, fmt.Errorf("streaming unsupported by the connection"), nil)
		return
	}
	ch, dropped, cancel := h.opts.Live.Subscribe(64)
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": tail started\n\n")
	flusher.Flush()
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	var lastDropped int64
	var line []byte
	rc := http.NewResponseController(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case batch, ok := <-ch:
			if !ok {
				return
			}
			for i := range batch {
				if !inScope(&batch[i]) || !m.Match(&batch[i]) {
					continue
				}
				line = append(line[:0], "event: event\ndata: "...)
				line = appendRowJSON(line, eventRow(&batch[i]))
				line = append(line[:len(line)-1], "\n\n"...)
				if _, err := w.Write(line); err != nil {
					return
				}
			}
			if d := dropped(); d != lastDropped {
				b, _ := json.Marshal(map[string]int64{"dropped": d - lastDropped}) // plain map always marshals
				fmt.Fprintf(w, "event: dropped\ndata: %s\n\n", b)
				lastDropped = d
			}
			_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second)) // best effort: a stuck client is cut
			flusher.Flush()
		}
	}
}

// eventRow renders an event as a result row (the same shape as search).
func eventRow(e *event.Event) query.Row {
	row := make(query.Row, 0, 5+len(e.Fields))
	row = append(row, event.Field{Name: event.FieldTime, Value: event.FormatTime(e.Time)}, event.Field{Name: event.FieldRaw, Value: e.Raw})
	for _, md := range [...]struct{ n, v string }{{event.FieldSource, e.Source}, {event.FieldHost, e.Host}, {event.FieldCategory, e.Category}, {event.FieldPartition, e.Partition}} {
		if md.v != "" {
			row = append(row, event.Field{Name: md.n, Value: md.v})
		}
	}
	return append(row, e.Fields...)
}
