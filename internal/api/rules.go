package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/parse"
	"github.com/mamori/mamori/internal/query"
)

func (h *Handler) detector(w http.ResponseWriter, r *http.Request) *detect.Detector {
	if h.opts.Detector == nil {
		h.writeError(w, r, fmt.Errorf("%w: detection is off on this node", errNotFound), nil)
	}
	return h.opts.Detector
}

func (h *Handler) listRules(w http.ResponseWriter, r *http.Request) {
	d := h.detector(w, r)
	if d == nil {
		return
	}
	issues := d.Issues()
	iss := make([]string, len(issues))
	for i, is := range issues {
		iss[i] = is.String()
	}
	stateful := d.StatefulRules()
	if stateful == nil {
		stateful = []detect.StatefulInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": d.Rules(), "stateful": stateful, "issues": iss, "counts": d.Counts()})
}

// uploadRule handles POST /api/v1/rules with a Sigma YAML body.
func (h *Handler) uploadRule(w http.ResponseWriter, r *http.Request) {
	d := h.detector(w, r)
	if d == nil {
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		h.writeError(w, r, invalidf("rule body: %v", err), nil)
		return
	}
	infos, err := d.PutRule(data)
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	for _, ri := range infos {
		h.auditf(r, p, "rule_upload", ri.ID, "success", map[string]string{"title": ri.Title})
	}
	writeJSON(w, http.StatusCreated, map[string]any{"rules": infos})
}

func (h *Handler) patchRule(w http.ResponseWriter, r *http.Request) {
	d := h.detector(w, r)
	if d == nil {
		return
	}
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decodeJSON(w, r, "rule change", &req); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	if req.Enabled == nil {
		h.writeError(w, r, invalidf("send {\"enabled\": true|false}"), nil)
		return
	}
	id := r.PathValue("id")
	if err := d.SetEnabled(id, *req.Enabled); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	action := "rule_disable"
	if *req.Enabled {
		action = "rule_enable"
	}
	h.auditf(r, p, action, id, "success", nil)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "enabled": *req.Enabled})
}

func (h *Handler) deleteRule(w http.ResponseWriter, r *http.Request) {
	d := h.detector(w, r)
	if d == nil {
		return
	}
	id := r.PathValue("id")
	if err := d.DeleteRule(id); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	h.auditf(r, p, "rule_delete", id, "success", nil)
	writeJSON(w, http.StatusOK, map[string]string{"deleted": id})
}

// testRule handles POST /api/v1/rules/test {"rule": YAML, "events": [...]}:
// the events are JSON objects (flattened like ingested NDJSON).
func (h *Handler) testRule(w http.ResponseWriter, r *http.Request) {
	d := h.detector(w, r)
	if d == nil {
		return
	}
	var req struct {
		Rule   string            `json:"rule"`
		Events []json.RawMessage `json:"events"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20))
	if err := dec.Decode(&req); err != nil {
		h.writeError(w, r, invalidf("rule test: %v", err), nil)
		return
	}
	events := make([]event.Event, 0, len(req.Events))
	for i, raw := range req.Events {
		var ev event.Event
		if err := decodeEventJSON(raw, &ev); err != nil {
			h.writeError(w, r, invalidf("event %d: %v", i, err), nil)
			return
		}
		events = append(events, ev)
	}
	res, err := d.TestRule([]byte(req.Rule), events)
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	sigs := res.Signals
	if sigs == nil {
		sigs = []detect.Signal{}
	}
	ans := map[string]any{"matches": len(sigs), "signals": sigs}
	if res.OutsideLogSource > 0 {
		// Samples that match the detection but not the rule's log source.
		ans["outside_logsource"] = res.OutsideLogSource
	}
	writeJSON(w, http.StatusOK, ans)
}

// huntRule handles POST /api/v1/rules/{id}/hunt {"from","to"}: the rule
// runs retroactively over stored events, streaming its signals as NDJSON
// (they are not stored).
func (h *Handler) huntRule(w http.ResponseWriter, r *http.Request) {
	d := h.detector(w, r)
	if d == nil {
		return
	}
	var req struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	if err := decodeJSON(w, r, "hunt request", &req); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	eng, err := d.SingleRule(r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	opts, err := h.searchOptions(searchRequest{From: req.From, To: req.To}, h.now())
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	opts.Limit = 0
	// The rule's literal prefilter as a search, so blooms prune blocks; a
	// prefilter that does not parse (a compiler bug) costs speed, not
	// matches: scan everything.
	q, perr := query.Parse(eng.Prefilter())
	if perr != nil {
		h.log.Warn("rule prefilter does not parse; scanning every block", "rule", r.PathValue("id"), "err", perr)
		q, _ = query.Parse("*")
	}
	p, _ := PrincipalFrom(r.Context())
	if q, err = applyScope(p, q, &opts); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	h.auditf(r, p, "rule_hunt", r.PathValue("id"), "", map[string]string{"from": req.From, "to": req.To})
	snap := h.opts.Store.Snapshot()
	defer snap.Release()
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	n := 0
	st, err := query.Run(r.Context(), snap, q, opts, func(row query.Row) error {
		ev := row.Event()
		for _, s := range eng.Match(&ev) {
			n++
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = enc.Encode(map[string]string{"_error": err.Error()}) // the client may be gone
		return
	}
	_ = enc.Encode(map[string]any{"_stats": map[string]any{"matches": n, "rows_scanned": st.RowsScanned, "took_ns": st.Took}}) // the client may be gone
}

// listSignals handles GET /api/v1/signals?from=&to=&limit=: signals, newest first.
func (h *Handler) listSignals(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseIntParam(r, "limit", 1000)
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	opts, err := h.searchOptions(searchRequest{From: q.Get("from"), To: q.Get("to"), Limit: limit}, h.now())
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	text := "_partition=" + detect.SignalsPartition
	if s := strings.TrimSpace(q.Get("query")); s != "" {
		text += " (" + s + ")"
	}
	pq, err := query.Parse(text)
	if err != nil {
		h.writeError(w, r, err, syntaxDetails(err))
		return
	}
	p, _ := PrincipalFrom(r.Context())
	vis, err := newSignalScope(p)
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	if vis == nil {
		if pq, err = applyScope(p, pq, &opts); err != nil {
			h.writeError(w, r, err, nil)
			return
		}
	} else {
		// A restricted principal may not search the signals partition;
		// here it reads it and sees the signals whose events it may read.
		// Its query filters signals only: a subquery would run unscoped.
		if len(pq.Stages) > 0 || pq.HasSubquery() {
			h.writeError(w, r, invalidf("signals query: a search expression without | operators or subqueries"), nil)
			return
		}
		opts.Partitions = []string{detect.SignalsPartition}
		opts.Limit = 0
	}
	snap := h.opts.Store.Snapshot()
	defer snap.Release()
	out := []signalJSON{}
	errEnough := errors.New("enough signals")
	_, err = query.Run(r.Context(), snap, pq, opts, func(row query.Row) error {
		ev := row.Event()
		if s, ok := detect.SignalFromEvent(&ev); ok && vis.visible(&s) {
			out = append(out, signalJSON{Signal: s, Time: event.FormatTime(s.Time), EventTime: event.FormatTime(s.EventTime)})
			if limit > 0 && len(out) >= limit {
				return errEnough
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		h.writeError(w, r, err, nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"signals": out})
}

type signalJSON struct {
	detect.Signal
	Time      string `json:"time"`
	EventTime string `json:"event_time"`
}

// decodeEventJSON fills ev from one JSON object, like ingested NDJSON.
func decodeEventJSON(raw []byte, ev *event.Event) error {
	return parse.DecodeJSONEvent(raw, ev, parse.JSONEventOptions{})
}
