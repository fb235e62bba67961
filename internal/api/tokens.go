package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/mamori/mamori/internal/auth"
)

type tokenRequest struct {
	Name         string            `json:"name"`
	Role         string            `json:"role"`  // one role, or
	Roles        []string          `json:"roles"` // several
	Capabilities []auth.Capability `json:"capabilities"`
	Partitions   []string          `json:"partitions"`
	ExpiresIn    string            `json:"expires_in"` // e.g. "720h" or "30d"; empty = never
	Source       string            `json:"source"`     // ingest tokens: bind to one source
}

type tokenAnswer struct {
	auth.Token
	Secret string `json:"token,omitempty"`
}

// decodeJSON reads a small JSON request body strictly.
func decodeJSON(w http.ResponseWriter, r *http.Request, what string, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidf("%s: %v", what, err)
	}
	return nil
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decodeJSON(w, r, "token request", &req); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	var ttl time.Duration
	if req.ExpiresIn != "" {
		d, err := parseDays(req.ExpiresIn)
		if err != nil || d <= 0 {
			h.writeError(w, r, invalidf("expires_in %q: want a positive duration like 720h or 30d", req.ExpiresIn), nil)
			return
		}
		ttl = d
	}
	roles := req.Roles
	if req.Role != "" {
		roles = append([]string{req.Role}, roles...)
	}
	p, _ := PrincipalFrom(r.Context())
	secret, tk, err := h.opts.Auth.CreateToken(auth.TokenSpec{Name: req.Name, Roles: roles, Capabilities: req.Capabilities, Partitions: req.Partitions, Source: req.Source, TTL: ttl, CreatedBy: p.Kind + ":" + p.ID})
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	h.auditf(r, p, "token_create", tk.ID, "success", map[string]string{"name": tk.Name, "roles": join(tk.Roles)})
	writeJSON(w, http.StatusCreated, tokenAnswer{Token: tk, Secret: secret})
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"tokens": h.opts.Auth.Tokens()})
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p, _ := PrincipalFrom(r.Context())
	if err := h.opts.Auth.RevokeToken(id); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	h.auditf(r, p, "token_revoke", id, "success", nil)
	writeJSON(w, http.StatusOK, map[string]any{"revoked": id})
}
