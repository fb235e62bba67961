package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/mamori/mamori/internal/auth"
)

// oidcStateCookie binds a single sign-on to the browser that started it,
// so a victim cannot be made to finish an attacker's sign-in (login CSRF).
// It is SameSite=Lax because the provider's redirect back to the callback
// is a cross-site top-level navigation, which Strict cookies do not follow.
const oidcStateCookie = "mamori_oidc_state"

// oidcRoutes are the single sign-on endpoints. They exist whether or not
// single sign-on is configured (answering 404 when it is not), so the
// authorization matrix always covers them.
func (h *Handler) oidcRoutes() []route {
	return []route{
		{"GET /api/v1/oidc/login", "", h.oidcLogin},
		{"GET /api/v1/oidc/callback", "", h.oidcCallback},
		{"GET /api/v1/oidc/session", capAuthenticated, h.oidcSession},
	}
}

var errSSOOff = fmt.Errorf("%w: single sign-on is not configured on this server", errNotFound)

// oidcLogin handles GET /api/v1/oidc/login[?return=/local/path]: it sends
// the browser to the provider with state, nonce and a PKCE challenge.
func (h *Handler) oidcLogin(w http.ResponseWriter, r *http.Request) {
	if h.opts.OIDC == nil {
		h.writeError(w, r, errSSOOff, nil)
		return
	}
	authURL, state, err := h.opts.OIDC.Begin(r.Context(), localPath(r.URL.Query().Get("return")))
	if err != nil {
		if errors.Is(err, auth.ErrOIDCBusy) {
			err = fmt.Errorf("%w: %w", errRateLimited, err)
		}
		h.writeError(w, r, err, nil)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Value: state, Path: "/api/v1/oidc/", MaxAge: 600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode}) // #nosec G124 -- Secure whenever served over HTTPS (see oidcCallback)
	http.Redirect(w, r, authURL, http.StatusFound) // #nosec G710 -- the configured provider's endpoint, not request input
}

// oidcCallback handles the provider's redirect back: it checks the state
// against the browser's cookie, lets auth redeem and verify, then opens a
// session exactly like a password login (HttpOnly, SameSite=Strict cookie)
// and sends the browser on to the page it started from. The UI reads its
// CSRF token from GET /api/v1/oidc/session.
func (h *Handler) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if h.opts.OIDC == nil {
		h.writeError(w, r, errSSOOff, nil)
		return
	}
	if !h.logins.allow(clientIP(r)) {
		h.writeError(w, r, fmt.Errorf("%w: too many login attempts from this address", errRateLimited), nil)
		return
	}
	// The state cookie is good for one attempt, whatever its outcome.
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Value: "", Path: "/api/v1/oidc/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode}) // #nosec G124 -- Secure whenever served over HTTPS
	q := r.URL.Query()
	anon := auth.Principal{}
	if e := q.Get("error"); e != "" {
		reason := printable(e + ": " + q.Get("error_description"))
		h.auditf(r, anon, "login", "", "failure", map[string]string{"method": "oidc", "reason": reason})
		h.writeError(w, r, fmt.Errorf("%w: the identity provider refused the sign-in (%s)", auth.ErrUnauthenticated, reason), nil)
		return
	}
	ck, err := r.Cookie(oidcStateCookie)
	if err != nil || !auth.SameState(ck.Value, q.Get("state")) {
		h.auditf(r, anon, "login", "", "failure", map[string]string{"method": "oidc", "reason": "state mismatch"})
		h.writeError(w, r, fmt.Errorf("%w: this sign-in was not started from this browser; start again", auth.ErrUnauthenticated), nil)
		return
	}
	s, p, id, returnTo, err := h.opts.OIDC.Finish(r.Context(), q.Get("state"), q.Get("code"))
	if err != nil {
		h.log.Warn("single sign-on failed", "err", err, "user", id.User, "remote_addr", clientIP(r))
		h.auditf(r, auth.Principal{Kind: "user", ID: id.User}, "login", id.User, "failure",
			map[string]string{"method": "oidc", "subject": id.Subject, "groups": join(id.Groups), "reason": printable(err.Error())})
		h.writeError(w, r, err, nil)
		return
	}
	h.auditf(r, p, "login", id.User, "success", map[string]string{"method": "oidc", "subject": id.Subject, "groups": join(id.Groups), "roles": join(id.Roles)})
	// #nosec G124 -- Secure is set whenever this server serves HTTPS; on plain HTTP (loopback, tests) a Secure cookie would never come back
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: s.ID, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	// #nosec G710 -- returnTo passed localPath at /oidc/login: a path on this server only
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// oidcSession handles GET /api/v1/oidc/session: the caller as /api/v1/me
// answers it, plus the CSRF token of a cookie session, which a browser
// coming back from the provider has no other way to learn. Cross-site
// pages cannot read it: the API sends no CORS headers and the session
// cookie is SameSite=Strict.
func (h *Handler) oidcSession(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	ans := meOf(p)
	if ck, err := r.Cookie(SessionCookie); err == nil && r.Header.Get("Authorization") == "" {
		if s, _, err := h.opts.Auth.AuthenticateSession(ck.Value); err == nil {
			ans.CSRF = s.CSRF
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, ans)
}

// localPath returns p when it is a path on this server, else "/": the
// return address must not send a freshly signed-in user to another site
// (open redirect).
func localPath(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") || len(p) > 1024 {
		return "/"
	}
	return p
}

// printable bounds text from the provider or an error for the audit log
// and answers: printable characters only, at most 200 bytes.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "..."
	}
	return s
}
