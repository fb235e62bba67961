package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/mamori/mamori/internal/auth"
)

// SessionCookie is the name of the login session cookie.
const SessionCookie = "mamori_session"

type principalKey struct{}

// PrincipalFrom returns the authenticated caller of a request.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// authed wraps fn with authentication, a capability check and the
// per-principal rate limit.
func (h *Handler) authed(c auth.Capability, fn http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authenticate(r)
		if err != nil {
			h.writeError(w, r, err, nil)
			return
		}
		if c != capAuthenticated && !p.Can(c) {
			h.auditf(r, p, "denied", r.Method+" "+r.URL.Path, "denied", nil)
			h.writeError(w, r, fmt.Errorf("%w: %s %s needs the %s capability", auth.ErrForbidden, r.Method, r.URL.Path, c), nil)
			return
		}
		if c != auth.CapIngest && !h.limiter.allow(p.Kind+":"+p.ID) {
			h.writeError(w, r, fmt.Errorf("%w: rate limit of %.0f requests per second", errRateLimited, h.opts.RateLimit), nil)
			return
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// authenticate accepts a bearer token, or a session cookie with its CSRF
// header on state-changing requests.
func (h *Handler) authenticate(r *http.Request) (auth.Principal, error) {
	if h.opts.Auth == nil {
		return auth.Principal{}, auth.ErrUnauthenticated
	}
	if hdr := r.Header.Get("Authorization"); hdr != "" {
		scheme, secret, ok := strings.Cut(hdr, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return auth.Principal{}, fmt.Errorf("%w: send Authorization: Bearer TOKEN", auth.ErrUnauthenticated)
		}
		return h.opts.Auth.AuthenticateToken(secret)
	}
	ck, err := r.Cookie(SessionCookie)
	if err != nil {
		return auth.Principal{}, fmt.Errorf("%w: send Authorization: Bearer TOKEN or log in", auth.ErrUnauthenticated)
	}
	s, p, err := h.opts.Auth.AuthenticateSession(ck.Value)
	if err != nil {
		return auth.Principal{}, fmt.Errorf("%w: session expired, log in again", auth.ErrUnauthenticated)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if r.Header.Get("X-CSRF-Token") != s.CSRF {
			return auth.Principal{}, fmt.Errorf("%w: missing or wrong X-CSRF-Token header", auth.ErrForbidden)
		}
	}
	return p, nil
}

type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
	Code     string `json:"code"`
}

type meAnswer struct {
	Kind         string            `json:"kind"`
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Roles        []string          `json:"roles"`
	Capabilities []auth.Capability `json:"capabilities"`
	Partitions   []string          `json:"partitions"` // null: all
	Filters      []string          `json:"filters,omitempty"`
	CSRF         string            `json:"csrf,omitempty"`
}

func meOf(p auth.Principal) meAnswer {
	return meAnswer{Kind: p.Kind, ID: p.ID, Name: p.Name, Roles: p.Roles, Capabilities: p.Capabilities(), Partitions: p.Scope.Partitions, Filters: p.Scope.Filters}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// login handles POST /api/v1/login: user name, password and (when enabled)
// a TOTP code; on success it sets an HttpOnly, SameSite=Strict session
// cookie and answers the CSRF token to send back in X-CSRF-Token.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if h.opts.Auth == nil {
		h.writeError(w, r, auth.ErrUnauthenticated, nil)
		return
	}
	if !h.logins.allow(clientIP(r)) {
		h.writeError(w, r, fmt.Errorf("%w: too many login attempts from this address", errRateLimited), nil)
		return
	}
	var req loginRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<14)).Decode(&req); err != nil {
		h.writeError(w, r, invalidf("login request: %v", err), nil)
		return
	}
	s, p, err := h.opts.Auth.Login(req.User, req.Password, req.Code)
	if err != nil {
		h.auditf(r, auth.Principal{Kind: "user", ID: req.User}, "login", req.User, "failure", map[string]string{"reason": err.Error()})
		if errors.Is(err, auth.ErrTOTPRequired) {
			h.writeError(w, r, fmt.Errorf("%w: %w", auth.ErrUnauthenticated, err), map[string]any{"totp_required": true})
			return
		}
		h.writeError(w, r, err, nil)
		return
	}
	h.auditf(r, p, "login", req.User, "success", nil)
	// #nosec G124 -- Secure follows the connection: set whenever the node serves HTTPS; plain HTTP is for loopback use.
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: s.ID, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	ans := meOf(p)
	ans.CSRF = s.CSRF
	writeJSON(w, http.StatusOK, ans)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(SessionCookie); err == nil {
		h.opts.Auth.Logout(ck.Value)
	}
	p, _ := PrincipalFrom(r.Context())
	h.auditf(r, p, "logout", p.ID, "success", nil)
	// #nosec G124 -- an expiring cookie; Secure follows the connection as at login.
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, map[string]bool{"logged_out": true})
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	writeJSON(w, http.StatusOK, meOf(p))
}

// auditf appends an audit record; failures are logged, never shown to the
// client, and never block the request.
func (h *Handler) auditf(r *http.Request, p auth.Principal, action, target, outcome string, details map[string]string) {
	if h.opts.Audit == nil {
		return
	}
	actor := p.Kind + ":" + p.ID
	if p.Kind == "" {
		actor = "anonymous"
	}
	if err := h.opts.Audit.Append(auth.Record{Actor: actor, Action: action, Target: target, Outcome: outcome, Remote: clientIP(r), Details: details}); err != nil {
		h.log.Error("audit append", "err", err, "action", action)
	}
}
