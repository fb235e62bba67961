package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/mamori/mamori/internal/alert"
	"github.com/mamori/mamori/internal/detect"
)

func (h *Handler) outbox(w http.ResponseWriter, r *http.Request) *alert.Outbox {
	if h.opts.Outbox == nil {
		h.writeError(w, r, fmt.Errorf("%w: notifications are off on this node", errNotFound), nil)
	}
	return h.opts.Outbox
}

func (h *Handler) listNotifications(w http.ResponseWriter, r *http.Request) {
	o := h.outbox(w, r)
	if o == nil {
		return
	}
	p, _ := PrincipalFrom(r.Context())
	vis, err := newSignalScope(p)
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	list := o.List()
	if vis != nil {
		list = vis.notifications(list)
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": list})
}

// notifications scopes the incident messages as the incident view does:
// a notification about an incident with no visible signal is left out,
// one about a mixed incident carries the scoped incident and title.
// Messages without data (channel tests) are kept; data that is not an
// incident is left out (closed by default).
func (vis signalScope) notifications(list []alert.Notification) []alert.Notification {
	out := list[:0:0]
	for _, n := range list {
		if n.Message.Data == nil {
			out = append(out, n)
			continue
		}
		var inc detect.Incident
		b, err := json.Marshal(n.Message.Data)
		if err != nil || json.Unmarshal(b, &inc) != nil || inc.ID == "" {
			continue // unknown data: closed by default
		}
		scoped, ok := vis.incident(inc)
		if !ok {
			continue
		}
		if len(scoped.Signals) < len(inc.Signals) {
			n.Message.Data, n.Message.Title = scoped, scoped.Title
		}
		out = append(out, n)
	}
	return out
}

func (h *Handler) listChannels(w http.ResponseWriter, r *http.Request) {
	if o := h.outbox(w, r); o != nil {
		writeJSON(w, http.StatusOK, map[string]any{"channels": o.Channels()})
	}
}

// testChannel sends a test message through one channel.
func (h *Handler) testChannel(w http.ResponseWriter, r *http.Request) {
	o := h.outbox(w, r)
	if o == nil {
		return
	}
	name := r.PathValue("name")
	ns, err := o.Enqueue(alert.Message{Kind: "test", Title: "Mamori test notification", Severity: "low", Time: h.now().UTC()}, name)
	if err != nil {
		if errorsIsUnknownChannel(err) {
			err = fmt.Errorf("%w: %v", errNotFound, err)
		}
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	h.auditf(r, p, "channel_test", name, "queued", nil)
	writeJSON(w, http.StatusAccepted, map[string]any{"queued": ns})
}

func errorsIsUnknownChannel(err error) bool { return errors.Is(err, alert.ErrUnknownChannel) }
