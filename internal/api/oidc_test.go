package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/store"
)

// oidcServer runs the API on 127.0.0.1 with single sign-on against a real
// OIDC provider (mockoidc) on 127.0.0.1, and collects the audit records.
type oidcServer struct {
	url   string
	mock  *mockoidc.MockOIDC
	mu    sync.Mutex // guards audit
	audit []auth.Record
}

func startOIDCServer(t *testing.T) *oidcServer {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() }) // test over; nothing to report
	srv := &oidcServer{mock: m}
	ts := httptest.NewUnstartedServer(nil)
	srv.url = "http://" + ts.Listener.Addr().String()
	a, err := auth.Open(auth.Options{Dir: t.TempDir(), AdminToken: "env-admin"})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Config()
	o, err := a.NewOIDC(auth.OIDCConfig{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		RedirectURL: srv.url + "/api/v1/oidc/callback", Scopes: []string{"profile", "email", "groups"},
		GroupRoles: map[string][]string{"secops": {auth.RoleAnalyst}}})
	if err != nil {
		t.Fatal(err)
	}
	al, err := auth.OpenAudit(auth.AuditOptions{Path: t.TempDir() + "/audit.log", OnRecord: func(r auth.Record) {
		srv.mu.Lock()
		srv.audit = append(srv.audit, r)
		srv.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = al.Close() }) // test over
	st, err := store.Open(store.Options{Dir: t.TempDir(), MaintainInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() }) // test over
	ts.Config.Handler = New(Options{Store: st, Sink: st, Auth: a, Audit: al, OIDC: o})
	ts.Start()
	t.Cleanup(ts.Close)
	return srv
}

func (s *oidcServer) records(action string) []auth.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []auth.Record
	for _, r := range s.audit {
		if r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// follow makes a GET and returns the status, the Location and the body.
func follow(t *testing.T, c *http.Client, u string) (int, string, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

func TestOIDCSignIn(t *testing.T) {
	s := startOIDCServer(t)
	c := browser(t)
	s.mock.QueueUser(&mockoidc.MockUser{Subject: "sub-1", PreferredUsername: "alice", Email: "alice@example.com", Groups: []string{"secops"}})

	code, loc, body := follow(t, c, s.url+"/api/v1/oidc/login?return=/incidents")
	if code != http.StatusFound || !strings.HasPrefix(loc, s.mock.AuthorizationEndpoint()) {
		t.Fatalf("login: %d %q %s, want a redirect to the provider", code, loc, body)
	}
	code, cb, _ := follow(t, c, loc) // the provider signs the user in and redirects back
	if code != http.StatusFound || !strings.HasPrefix(cb, s.url+"/api/v1/oidc/callback?") {
		t.Fatalf("provider: %d %q", code, cb)
	}
	code, loc, body = follow(t, c, cb)
	if code != http.StatusSeeOther || loc != "/incidents" {
		t.Fatalf("callback: %d %q %s, want 303 to /incidents", code, loc, body)
	}
	u, _ := url.Parse(s.url)
	var session *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == SessionCookie {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie after the callback")
	}

	// The UI learns who it is and its CSRF token; writes need the token.
	code, _, body = follow(t, c, s.url+"/api/v1/oidc/session")
	var me meAnswer
	if err := json.Unmarshal([]byte(body), &me); code != http.StatusOK || err != nil || me.Name != "alice" || me.CSRF == "" {
		t.Fatalf("session: %d %s %v", code, body, err)
	}
	post := func(csrf string) int {
		req, _ := http.NewRequest(http.MethodPost, s.url+"/api/v1/logout", nil)
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := post(""); got != http.StatusForbidden {
		t.Errorf("logout without CSRF: %d, want 403", got)
	}
	if got := post(me.CSRF); got != http.StatusOK {
		t.Errorf("logout with CSRF: %d, want 200", got)
	}
	ok := s.records("login")
	if len(ok) != 1 || ok[0].Outcome != "success" || ok[0].Details["method"] != "oidc" || ok[0].Details["roles"] != auth.RoleAnalyst {
		t.Errorf("audit login records = %+v", ok)
	}
}

func TestOIDCCallbackRejects(t *testing.T) {
	s := startOIDCServer(t)
	victim, attacker := browser(t), browser(t)

	// Login CSRF: the attacker starts a sign-in and hands the victim the
	// callback URL; the victim's browser has no matching state cookie.
	s.mock.QueueUser(&mockoidc.MockUser{Subject: "sub-evil", PreferredUsername: "mallory", Groups: []string{"secops"}})
	_, loc, _ := follow(t, attacker, s.url+"/api/v1/oidc/login")
	_, cb, _ := follow(t, attacker, loc)
	if code, _, body := follow(t, victim, cb); code != http.StatusUnauthorized || !strings.Contains(body, "not started from this browser") {
		t.Errorf("callback in another browser: %d %s, want 401", code, body)
	}

	// The provider refuses; an unmapped user is forbidden; open redirects
	// are turned into "/".
	if code, _, body := follow(t, victim, s.url+"/api/v1/oidc/callback?error=access_denied&error_description=%00no"); code != http.StatusUnauthorized || !strings.Contains(body, "access_denied") {
		t.Errorf("provider error: %d %s", code, body)
	}
	s.mock.QueueUser(&mockoidc.MockUser{Subject: "sub-2", PreferredUsername: "bob", Groups: []string{"sales"}})
	_, loc, _ = follow(t, victim, s.url+"/api/v1/oidc/login?return=//evil.example.com/")
	_, cb, _ = follow(t, victim, loc)
	if code, _, body := follow(t, victim, cb); code != http.StatusForbidden {
		t.Errorf("unmapped groups: %d %s, want 403", code, body)
	}
	if n := len(s.records("login")); n != 3 {
		t.Errorf("%d login audit records, want 3 failures", n)
	}
	for _, p := range []string{"//evil.example.com", "https://evil.example.com", "/\\evil.example.com", "evil", "/ok/path?x=1"} {
		want := "/"
		if p == "/ok/path?x=1" {
			want = p
		}
		if got := localPath(p); got != want {
			t.Errorf("localPath(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestOIDCNotConfigured(t *testing.T) {
	h := New(Options{})
	for _, p := range []string{"/api/v1/oidc/login", "/api/v1/oidc/callback?state=x&code=y"} {
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, p, nil))
		if rr.Code != http.StatusNotFound {
			t.Errorf("GET %s without SSO: %d, want 404", p, rr.Code)
		}
	}
}
