package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/detect"
)

func (h *Handler) correlator(w http.ResponseWriter, r *http.Request) *detect.Correlator {
	if h.opts.Incidents == nil {
		h.writeError(w, r, fmt.Errorf("%w: incidents are off on this node", errNotFound), nil)
	}
	return h.opts.Incidents
}

// scopeIncident keeps the signals p may see; ok is false when none remain
// (or p's scope cannot be evaluated: closed by default).
func scopeIncident(p auth.Principal, inc detect.Incident) (detect.Incident, bool) {
	vis, err := newSignalScope(p)
	if err != nil {
		return inc, false
	}
	return vis.incident(inc)
}

// incident keeps the signals whose events are visible. When some are
// hidden, everything derived from them goes too: entities, sources and
// tactics are rebuilt from the visible signals, the times span them, and
// the title names only visible entities. Severity and score stay those of
// the whole incident, so a scoped triager still sees how urgent it is.
func (vis signalScope) incident(inc detect.Incident) (detect.Incident, bool) {
	if vis == nil {
		return inc, true
	}
	var sigs []detect.SignalRef
	for _, s := range inc.Signals {
		if vis(s.EventPartition, s.EventSource, s.EventHost, s.EventRaw) {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) == 0 {
		return inc, false
	}
	if len(sigs) == len(inc.Signals) {
		return inc, true
	}
	hidden := len(inc.Signals) - len(sigs)
	out := inc
	out.Signals, out.Entities, out.Sources, out.Tactics = sigs, nil, nil, nil
	out.FirstSeen, out.LastSeen = sigs[0].Time, sigs[0].Time
	for _, s := range sigs {
		for _, e := range inc.Entities {
			if slices.Contains(s.Entities, e) && !slices.Contains(out.Entities, e) {
				out.Entities = append(out.Entities, e)
			}
		}
		if s.EventSource != "" && !slices.Contains(out.Sources, s.EventSource) {
			out.Sources = append(out.Sources, s.EventSource)
		}
		if s.Time.Before(out.FirstSeen) {
			out.FirstSeen = s.Time
		}
		if s.Time.After(out.LastSeen) {
			out.LastSeen = s.Time
		}
	}
	for _, t := range inc.Tactics {
		for _, s := range sigs {
			if slices.Contains(s.Tactics, t) {
				out.Tactics = append(out.Tactics, t)
				break
			}
		}
	}
	out.Title = scopedIncidentTitle(out, hidden)
	return out, true
}

// scopedIncidentTitle names an incident by its visible part: the latest
// visible tactic and the first visible host and user.
func scopedIncidentTitle(inc detect.Incident, hidden int) string {
	stage := "suspicious activity"
	if n := len(inc.Tactics); n > 0 {
		stage = strings.ReplaceAll(inc.Tactics[n-1], "_", " ")
	}
	var subject []string
	for _, typ := range []string{detect.EntityHost, detect.EntityUser} {
		for _, e := range inc.Entities {
			if e.Type == typ {
				subject = append(subject, e.Value)
				break
			}
		}
	}
	if len(subject) == 0 {
		subject = []string{"entities in your scope"}
	}
	return fmt.Sprintf("%s on %s: %d signals (%d outside your data scope)", stage, strings.Join(subject, " / "), len(inc.Signals), hidden)
}

// listIncidents handles GET /api/v1/incidents?from=&to=&status=.
func (h *Handler) listIncidents(w http.ResponseWriter, r *http.Request) {
	c := h.correlator(w, r)
	if c == nil {
		return
	}
	q := r.URL.Query()
	var f detect.IncidentFilter
	f.Status = q.Get("status")
	now := h.now()
	if v := q.Get("from"); v != "" {
		opts, err := h.searchOptions(searchRequest{From: v, To: "now"}, now)
		if err != nil {
			h.writeError(w, r, err, nil)
			return
		}
		f.From = time.Unix(0, opts.From)
	}
	if v := q.Get("to"); v != "" {
		opts, err := h.searchOptions(searchRequest{From: "1970-01-01T00:00:00Z", To: v}, now)
		if err != nil {
			h.writeError(w, r, err, nil)
			return
		}
		f.To = time.Unix(0, opts.To)
	}
	p, _ := PrincipalFrom(r.Context())
	vis, err := newSignalScope(p)
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	out := []detect.Incident{}
	for _, inc := range c.List(f) {
		if inc, ok := vis.incident(inc); ok {
			out = append(out, inc)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": out})
}

func (h *Handler) getIncident(w http.ResponseWriter, r *http.Request) {
	c := h.correlator(w, r)
	if c == nil {
		return
	}
	p, _ := PrincipalFrom(r.Context())
	inc, ok := c.Get(r.PathValue("id"))
	if ok {
		inc, ok = scopeIncident(p, inc)
	}
	if !ok {
		h.writeError(w, r, fmt.Errorf("incident %s: %w", r.PathValue("id"), errNotFound), nil)
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

// patchIncident handles triage: {"status", "resolution", "assignee", "comment"}.
func (h *Handler) patchIncident(w http.ResponseWriter, r *http.Request) {
	c := h.correlator(w, r)
	if c == nil {
		return
	}
	var req struct {
		Status     *string `json:"status"`
		Resolution *string `json:"resolution"`
		Assignee   *string `json:"assignee"`
		Comment    string  `json:"comment"`
	}
	if err := decodeJSON(w, r, "incident change", &req); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	id := r.PathValue("id")
	if inc, ok := c.Get(id); !ok {
		h.writeError(w, r, fmt.Errorf("incident %s: %w", id, errNotFound), nil)
		return
	} else if _, ok := scopeIncident(p, inc); !ok {
		h.writeError(w, r, fmt.Errorf("incident %s: %w", id, errNotFound), nil)
		return
	}
	inc, err := c.Update(id, detect.IncidentUpdate{Status: req.Status, Resolution: req.Resolution, Assignee: req.Assignee, Comment: req.Comment, Author: p.Kind + ":" + p.ID})
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	d := map[string]string{}
	if req.Status != nil {
		d["status"] = *req.Status
	}
	if req.Resolution != nil {
		d["resolution"] = *req.Resolution
	}
	if req.Assignee != nil {
		d["assignee"] = *req.Assignee
	}
	if req.Comment != "" {
		d["comment"] = req.Comment
	}
	h.auditf(r, p, "incident_update", id, "success", d)
	inc, _ = scopeIncident(p, inc)
	writeJSON(w, http.StatusOK, inc)
}
