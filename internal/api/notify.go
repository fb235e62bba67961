package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/mamori/mamori/internal/alert"
)

func (h *Handler) outbox(w http.ResponseWriter, r *http.Request) *alert.Outbox {
	if h.opts.Outbox == nil {
		h.writeError(w, r, fmt.Errorf("%w: notifications are off on this node", errNotFound), nil)
	}
	return h.opts.Outbox
}

func (h *Handler) listNotifications(w http.ResponseWriter, r *http.Request) {
	if o := h.outbox(w, r); o != nil {
		writeJSON(w, http.StatusOK, map[string]any{"notifications": o.List()})
	}
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
