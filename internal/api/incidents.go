package api

import (
	"fmt"
	"net/http"
	"slices"
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

// scopeIncident keeps the signals p may see; ok is false when none remain.
func scopeIncident(p auth.Principal, inc detect.Incident) (detect.Incident, bool) {
	if p.Scope.Partitions == nil {
		return inc, true
	}
	var sigs []detect.SignalRef
	for _, s := range inc.Signals {
		part := s.EventPartition
		if part == "" {
			part = "main"
		}
		if p.Scope.AllowsPartition(part) {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) == 0 {
		return inc, false
	}
	if len(sigs) < len(inc.Signals) {
		// Entities seen only in hidden signals are hidden too.
		var ents []detect.Entity
		for _, e := range inc.Entities {
			for _, s := range sigs {
				if slices.Contains(s.Entities, e) {
					ents = append(ents, e)
					break
				}
			}
		}
		inc.Entities = ents
	}
	inc.Signals = sigs
	return inc, true
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
	out := []detect.Incident{}
	for _, inc := range c.List(f) {
		if inc, ok := scopeIncident(p, inc); ok {
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
