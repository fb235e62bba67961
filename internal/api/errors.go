package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/query"
	"github.com/mamori/mamori/internal/store"
)

// Error kinds of the API itself.
var (
	errInvalid  = errors.New("invalid request")
	errNotFound = errors.New("not found")
)

// invalidf returns an error of kind errInvalid with a message for the user.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalid, fmt.Sprintf(format, args...))
}

// offsetError is implemented by errors that point into the user's text
// (query syntax errors).
type offsetError interface {
	error
	ErrorOffset() int
}

// statusOf is the one mapping from error kinds to HTTP statuses.
func statusOf(err error) int {
	var oe offsetError
	var se *query.SyntaxError
	switch {
	case errors.As(err, &se):
		return http.StatusBadRequest
	case errors.Is(err, query.ErrBudget):
		return http.StatusUnprocessableEntity
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, auth.ErrNotFound), errors.Is(err, errNotFound), errors.Is(err, detect.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ingest.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, auth.ErrLocked):
		return http.StatusForbidden
	case errors.Is(err, ingest.ErrOverloaded), errors.Is(err, store.ErrOverloaded), errors.Is(err, errRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, store.ErrClosed):
		return http.StatusServiceUnavailable
	case errors.Is(err, ingest.ErrBadEncoding), errors.Is(err, auth.ErrInvalid), errors.Is(err, errInvalid), errors.Is(err, detect.ErrInvalid), errors.As(err, &oe):
		return http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// writeError answers with the status of err and {"error": ..., "offset": N}.
// Internal errors are logged and answered without their details.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error, extra map[string]any) {
	st := statusOf(err)
	msg := err.Error()
	if st == http.StatusInternalServerError {
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error; see the server log"
	}
	body := map[string]any{"error": msg}
	var oe offsetError
	var se *query.SyntaxError
	switch {
	case errors.As(err, &se):
		body["offset"] = se.Offset
	case errors.As(err, &oe):
		body["offset"] = oe.ErrorOffset()
	}
	for k, v := range extra {
		body[k] = v
	}
	switch st {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="mamori"`)
	}
	writeJSON(w, st, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing left to tell it
}
