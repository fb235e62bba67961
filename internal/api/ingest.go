package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
)

// ingestAnswer is the body of POST /api/v1/ingest answers.
type ingestAnswer struct {
	ingest.Result
	Error string `json:"error,omitempty"`
}

// ingest handles POST /api/v1/ingest: NDJSON or plain lines, answered only
// after the accepted events are durable.
func (h *Handler) ingest(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	q := r.URL.Query()
	meta := event.Event{Source: q.Get("source"), Host: q.Get("host"), Category: q.Get("category")}
	if p.Source != "" {
		meta.Source = p.Source // a source-bound token writes only its source
	}
	format := q.Get("format")
	var parser parse.Parser
	switch format {
	case "", "json", "text", "auto":
		if format == "auto" {
			format = ""
		}
	case "ndjson":
		format = "json"
	default:
		p, ok := parse.Lookup(format)
		if !ok {
			h.writeError(w, r, invalidf("format %q: want json, text, auto or a parser name (%s)", format, strings.Join(parse.Names(), ", ")), nil)
			return
		}
		parser, format = p, "text"
	}
	var topts parse.TimeOptions
	if tz := q.Get("tz"); tz != "" {
		loc, err := parse.ParseZone(tz)
		if err != nil {
			h.writeError(w, r, invalidf("tz: %v", err), nil)
			return
		}
		topts.Location = loc
		if parser != nil {
			if p, ok := parse.New(q.Get("format"), parse.Options{Location: loc}); ok {
				parser = p
			}
		}
	}
	body, err := ingest.OpenBody(w, r, h.opts.Body)
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	defer body.Close()
	events, res, decErr := ingest.DecodeLines(body, ingest.LineOptions{
		Meta:         meta,
		TimeField:    q.Get("time_field"),
		Format:       format,
		Parser:       parser,
		MaxLineBytes: h.opts.MaxLineBytes,
		Now:          func() int64 { return h.now().UnixNano() },
		Budget:       h.opts.Budget,
		TimeOptions:  topts,
	})
	defer h.opts.Budget.Release(res.Charged)
	if errors.Is(decErr, ingest.ErrOverloaded) {
		h.count(meta.Source, 0, res.Accepted+res.Rejected, 0)
		h.writeError(w, r, decErr, nil)
		return
	}
	if errors.Is(decErr, ingest.ErrTooLarge) {
		// Nothing is stored from a body over the limit: the client must
		// split it, and partial storage would duplicate on its retry.
		h.count(meta.Source, 0, res.Accepted+res.Rejected, 0)
		h.writeError(w, r, decErr, nil)
		return
	}
	if len(events) > 0 {
		if err := h.opts.Sink.Append(r.Context(), events); err != nil {
			h.count(meta.Source, 0, len(events)+res.Rejected, 0)
			h.writeError(w, r, err, nil)
			return
		}
	}
	bytes := 0
	for i := range events {
		bytes += len(events[i].Raw)
	}
	h.count(meta.Source, res.Accepted, res.Rejected, bytes)
	if res.Errors == nil {
		res.Errors = []ingest.LineError{}
	}
	if decErr != nil {
		// A corrupt or truncated body: what was decoded before the damage
		// is durable and counted; the rest is lost in transit.
		h.writeError(w, r, invalidf("read body after %d lines: %v (the %d events before it were stored)", res.Accepted+res.Rejected, decErr, res.Accepted),
			map[string]any{"accepted": res.Accepted, "rejected": res.Rejected + 1, "parse_errors": res.ParseErrors, "errors": res.Errors})
		return
	}
	writeJSON(w, http.StatusOK, ingestAnswer{Result: res})
}

func (h *Handler) count(source string, accepted, rejected, bytes int) {
	if h.opts.IngestMetrics != nil {
		h.opts.IngestMetrics.Add("http", source, accepted, rejected, bytes)
	}
}

// parseIntParam reads an optional integer query parameter.
func parseIntParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, invalidf("%s=%q: want an integer", name, v)
	}
	return n, nil
}
