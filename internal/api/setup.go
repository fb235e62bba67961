package api

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/mamori/mamori/internal/auth"
)

// First-run setup: while no user account exists, the sign-in page offers
// to create the first admin user. Creating it needs one of:
//   - a request from the server's own machine: the client address is
//     loopback, the Host header names a loopback address or localhost (so a
//     DNS-rebinding page cannot reach it through a browser), there is no
//     proxy header (Forwarded, X-Forwarded-For, X-Real-IP: behind a reverse
//     proxy on the same host every client looks local), and the browser did
//     not send it from another site (Sec-Fetch-Site);
//   - or the admin token (MAMORI_ADMIN_TOKEN or the bootstrap file), or any
//     token with the users capability, as a bearer header.
//
// The body must be JSON (a cross-site form cannot send it without a CORS
// preflight, which the API never grants). Once a user exists the endpoint
// refuses, whoever asks; later users are created in Settings.

func (h *Handler) setupRoutes() []route {
	return []route{
		{"GET /api/v1/signin", "", h.signinOptions},
		{"POST /api/v1/setup", "", h.setup},
	}
}

// signinAnswer tells the sign-in page what to offer.
type signinAnswer struct {
	// SSO: single sign-on is configured; its button starts at SSOLogin.
	SSO      bool   `json:"sso"`
	SSOLogin string `json:"sso_login,omitempty"`
	// SetupNeeded: no user account exists yet. SetupHere: this request
	// comes from the server's own machine, so setup needs no token.
	SetupNeeded bool `json:"setup_needed"`
	SetupHere   bool `json:"setup_here"`
	MinPassword int  `json:"min_password"`
}

// signinOptions handles GET /api/v1/signin (public).
func (h *Handler) signinOptions(w http.ResponseWriter, r *http.Request) {
	ans := signinAnswer{SSO: h.opts.OIDC != nil, MinPassword: auth.MinPasswordLen}
	if ans.SSO {
		ans.SSOLogin = "/api/v1/oidc/login"
	}
	if h.opts.Auth != nil {
		ans.SetupNeeded = len(h.opts.Auth.Users()) == 0
		ans.SetupHere = ans.SetupNeeded && fromLocalMachine(r)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, ans)
}

type setupRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// setup handles POST /api/v1/setup: it creates the first admin user and
// signs it in (the same HttpOnly session cookie and CSRF answer as
// /api/v1/login).
func (h *Handler) setup(w http.ResponseWriter, r *http.Request) {
	if h.opts.Auth == nil {
		h.writeError(w, r, auth.ErrUnauthenticated, nil)
		return
	}
	if !h.logins.allow(clientIP(r)) {
		h.writeError(w, r, fmt.Errorf("%w: too many attempts from this address", errRateLimited), nil)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		h.writeError(w, r, invalidf("setup: send Content-Type: application/json"), nil)
		return
	}
	caller, err := h.setupCaller(r)
	if err != nil {
		h.auditf(r, caller, "setup_admin", "", "denied", map[string]string{"reason": printable(err.Error())})
		h.writeError(w, r, err, nil)
		return
	}
	var req setupRequest
	if err := decodeJSON(w, r, "setup request", &req); err != nil {
		h.writeError(w, r, err, nil)
		return
	}
	req.User = strings.TrimSpace(req.User)
	u, err := h.createFirstAdmin(req)
	if err != nil {
		h.auditf(r, caller, "setup_admin", req.User, "failure", map[string]string{"reason": printable(err.Error())})
		h.writeError(w, r, err, nil)
		return
	}
	h.auditf(r, caller, "setup_admin", u.Name, "success", map[string]string{"roles": join(u.Roles)})
	s, p, err := h.opts.Auth.Login(req.User, req.Password, "")
	if err != nil {
		h.writeError(w, r, fmt.Errorf("setup: sign in the new admin: %w", err), nil)
		return
	}
	h.auditf(r, p, "login", u.Name, "success", map[string]string{"method": "setup"})
	// #nosec G124 -- Secure follows the connection, as at /api/v1/login.
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: s.ID, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	ans := meOf(p)
	ans.CSRF = s.CSRF
	writeJSON(w, http.StatusCreated, ans)
}

// setupCaller decides whether r may run the first-run setup and returns
// who it is (for the audit log).
func (h *Handler) setupCaller(r *http.Request) (auth.Principal, error) {
	if r.Header.Get("Authorization") != "" {
		p, err := h.authenticate(r)
		if err != nil {
			return auth.Principal{}, err
		}
		if !p.Can(auth.CapUsers) {
			return p, fmt.Errorf("%w: first-run setup needs a token with the users capability", auth.ErrForbidden)
		}
		return p, nil
	}
	if !fromLocalMachine(r) {
		return auth.Principal{}, fmt.Errorf("%w: first-run setup is open only from the server's own machine (http://127.0.0.1:PORT or http://localhost:PORT, no proxy) or with the admin token (MAMORI_ADMIN_TOKEN or DATA/auth/%s)", auth.ErrForbidden, auth.BootstrapFile)
	}
	return auth.Principal{Kind: "local", ID: "loopback", Name: "first-run setup"}, nil
}

// createFirstAdmin creates the admin user while no user exists; the check
// and the creation are one step for concurrent setups.
func (h *Handler) createFirstAdmin(req setupRequest) (auth.UserInfo, error) {
	h.ui.setupMu.Lock()
	defer h.ui.setupMu.Unlock()
	if len(h.opts.Auth.Users()) > 0 {
		return auth.UserInfo{}, fmt.Errorf("%w: setup is done (a user exists); sign in, and add users in Settings", auth.ErrForbidden)
	}
	return h.opts.Auth.CreateUser(req.User, req.Password, []string{auth.RoleAdmin})
}

// fromLocalMachine reports whether r comes straight from a browser or
// tool on the server's own machine (see the comment at the top).
func fromLocalMachine(r *http.Request) bool {
	ip := net.ParseIP(clientIP(r))
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip"} {
		if r.Header.Get(k) != "" {
			return false
		}
	}
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" && sfs != "none" {
		return false
	}
	host := r.Host
	if hp, _, err := net.SplitHostPort(host); err == nil {
		host = hp
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	hip := net.ParseIP(host)
	return hip != nil && hip.IsLoopback()
}
