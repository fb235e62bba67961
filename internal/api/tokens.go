package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/mamori/mamori/internal/auth"
)

type tokenRequest struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	ExpiresIn string `json:"expires_in"` // Go duration, e.g. "720h"; empty = never
	Source    string `json:"source"`     // ingest tokens: bind to one source
}

type tokenAnswer struct {
	auth.Token
	Secret string `json:"token,omitempty"`
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		h.writeError(w, r, invalidf("token request: %v", err), nil)
		return
	}
	var ttl time.Duration
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			h.writeError(w, r, invalidf("expires_in %q: want a positive duration like 720h", req.ExpiresIn), nil)
			return
		}
		ttl = d
	}
	secret, tk, err := h.opts.Tokens.Create(req.Name, auth.Role(req.Role), ttl, req.Source)
	if err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	h.log.Info("token created", "token_id", tk.ID, "role", tk.Role, "by", p.TokenID)
	writeJSON(w, http.StatusCreated, tokenAnswer{Token: tk, Secret: secret})
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"tokens": h.opts.Tokens.List()})
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.opts.Tokens.Revoke(id); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	h.log.Info("token revoked", "token_id", id, "by", p.TokenID)
	writeJSON(w, http.StatusOK, map[string]any{"revoked": id})
}
