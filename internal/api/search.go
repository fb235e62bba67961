package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"github.com/mamori/mamori/internal/jsonstr"
	"net/http"
	"strconv"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/query"
)

// Search defaults.
const (
	defaultSearchFrom  = "-24h"
	defaultSearchLimit = 10_000
	maxSearchLimit     = 10_000_000
)

type searchRequest struct {
	Query   string `json:"query"`
	From    string `json:"from"`
	To      string `json:"to"`
	Limit   int    `json:"limit"`
	Explain bool   `json:"explain"`
	// Timeout may lower the server's query timeout (Go duration).
	Timeout string `json:"timeout"`
}

// search handles POST /api/v1/search: it streams one JSON object per
// result row and ends with a {"_stats": ...} line, or {"_error": ...} when
// the query fails after rows were sent.
func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	var req searchRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		h.writeError(w, r, invalidf("search request: %v", err), nil)
		return
	}
	q, err := query.Parse(req.Query)
	if err != nil {
		h.queries.Add(1, "invalid")
		h.writeError(w, r, err, syntaxDetails(err))
		return
	}
	opts, err := h.searchOptions(req, start)
	if err != nil {
		h.queries.Add(1, "invalid")
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	// The audit record is written (and fsynced) while the query runs; the
	// answer's last line waits for it, so a search whose answer completed
	// is always in the audit log, and the fsync adds no latency.
	auditDetails := map[string]string{"from": req.From, "to": req.To, "partitions": join(p.Scope.Partitions)}
	audited := make(chan struct{})
	go func() {
		defer close(audited)
		h.auditf(r, p, "search", req.Query, "", auditDetails)
	}()
	defer func() { <-audited }()
	if q, err = applyScope(p, q, &opts); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	snap := h.opts.Store.Snapshot()
	defer snap.Release()
	if req.Explain {
		plan, err := query.Explain(r.Context(), snap, q, opts)
		if err != nil {
			h.writeError(w, r, err, nil)
			return
		}
		writeJSON(w, http.StatusOK, plan)
		return
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	flusher, _ := w.(http.Flusher)
	started := false
	sent := 0
	lastFlush := start
	var line []byte
	st, runErr := query.Run(r.Context(), snap, q, opts, func(row query.Row) error {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		line = appendRowJSON(line[:0], row)
		if _, err := bw.Write(line); err != nil {
			return err
		}
		// Stream: the first rows reach the client at once, then in chunks.
		sent++
		if now := time.Now(); flusher != nil && (sent == 1 || now.Sub(lastFlush) > 200*time.Millisecond) {
			lastFlush = now
			if err := bw.Flush(); err != nil {
				return err
			}
			flusher.Flush()
		}
		return nil
	})
	took := h.now().Sub(start)
	h.queryDuration.Observe(took.Seconds())
	if started && runErr == nil && flusher != nil && bw.Buffered() > 0 {
		// The rows go out now, while the audit record's fsync may still
		// run: the client reads them meanwhile; only the last line waits.
		if err := bw.Flush(); err == nil {
			flusher.Flush()
		}
	}
	var stats []byte
	if runErr == nil {
		// The last line is ready before the wait: only writing it waits.
		st.Took = took
		var err error
		if stats, err = json.Marshal(statsLine{st}); err != nil {
			h.log.Error("marshal search stats", "err", err)
		}
	}
	<-audited
	if runErr != nil {
		h.queries.Add(1, "error")
		if !started {
			h.writeError(w, r, runErr, nil)
			return
		}
		b, _ := json.Marshal(map[string]string{"_error": runErr.Error()}) // a string map always marshals
		bw.Write(append(b, '\n'))
		bw.Flush()
		return
	}
	h.queries.Add(1, "ok")
	if !started {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	}
	bw.Write(append(stats, '\n'))
	bw.Flush()
}

// statsLine is the last line of a search answer.
type statsLine struct {
	Stats query.Stats `json:"_stats"`
}

func (h *Handler) searchOptions(req searchRequest, now time.Time) (query.Options, error) {
	opts := query.Options{
		Timeout:        h.opts.SearchTimeout,
		MaxMemoryBytes: h.opts.SearchMaxMemory,
		MaxRows:        h.opts.SearchMaxRows,
		Now:            h.now,
		Limit:          defaultSearchLimit,
		Lookup:         h.lookups.get,

		LogReduceCorrections: h.corrections.get(),
	}
	from, to := req.From, req.To
	if from == "" {
		from = defaultSearchFrom
	}
	if to == "" {
		to = "now"
	}
	var err error
	if opts.From, err = query.ParseTimeArg(from, now); err != nil {
		return opts, invalidf("from %q: %v", from, err)
	}
	if opts.To, err = query.ParseTimeArg(to, now); err != nil {
		return opts, invalidf("to %q: %v", to, err)
	}
	if to == "now" {
		opts.To = now.UnixNano() + 1 // include events stamped this very instant
	}
	if opts.From >= opts.To {
		return opts, invalidf("from (%s) is not before to (%s)", from, to)
	}
	if req.Limit < 0 || req.Limit > maxSearchLimit {
		return opts, invalidf("limit %d: want 1 to %d", req.Limit, maxSearchLimit)
	}
	if req.Limit > 0 {
		opts.Limit = req.Limit
	}
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 {
			return opts, invalidf("timeout %q: want a positive duration like 30s", req.Timeout)
		}
		opts.Timeout = min(d, opts.Timeout) // a request may only lower it
	}
	return opts, nil
}

// syntaxDetails lists every syntax error of a query for the 400 answer.
func syntaxDetails(err error) map[string]any {
	var list query.ErrorList
	if !errors.As(err, &list) || len(list) < 2 {
		return nil
	}
	errs := make([]map[string]any, len(list))
	for i, e := range list {
		errs[i] = map[string]any{"error": e.Msg, "offset": e.Offset}
	}
	return map[string]any{"errors": errs}
}

// appendRowJSON encodes a row as one JSON object line, keeping field order.
// Aggregate outputs (names starting with '_' that are not event metadata)
// are written as numbers when they are numeric.
func appendRowJSON(dst []byte, row query.Row) []byte {
	dst = append(dst, '{')
	for i, f := range row {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.Name)
		dst = append(dst, ':')
		if isAggregateName(f.Name) && isJSONNumber(f.Value) {
			dst = append(dst, f.Value...)
		} else {
			dst = appendJSONString(dst, f.Value)
		}
	}
	return append(dst, '}', '\n')
}

func isAggregateName(name string) bool {
	if len(name) < 2 || name[0] != '_' {
		return false
	}
	switch name {
	case event.FieldTime, event.FieldRaw, event.FieldSource, event.FieldHost, event.FieldCategory, event.FieldPartition, event.FieldReceived, event.FieldParseError:
		return false
	}
	return true
}

func isJSONNumber(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return false
	}
	// Reject forms JSON does not allow (leading '+', '.5', "NaN", "Inf", hex).
	c := s[0]
	if c == '-' && len(s) > 1 {
		c = s[1]
	}
	if c < '0' || c > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= '0' && b <= '9', b == '-', b == '.', b == 'e', b == 'E', b == '+':
		default:
			return false
		}
	}
	return !(len(s) > 1 && s[0] == '0' && s[1] != '.')
}

// appendJSONString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }
