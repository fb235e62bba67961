package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// startMockOIDC runs a real OIDC provider on 127.0.0.1 for the test.
func startMockOIDC(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() }) // the test is over; nothing to report
	return m
}

func oidcConfigFor(m *mockoidc.MockOIDC) OIDCConfig {
	c := m.Config()
	return OIDCConfig{
		Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		RedirectURL: "http://127.0.0.1:1/api/v1/oidc/callback",
		Scopes:      []string{"profile", "email", "groups"},
		GroupRoles:  map[string][]string{"secops": {RoleAnalyst}, "auditors": {RoleAuditor}, "ghost": {"no-such-role"}},
	}
}

// authorize follows the provider's authorization endpoint (mockoidc signs
// in the queued user at once) and returns the code and state it sends to
// the redirect URL.
func authorize(t *testing.T, authURL string) (code, state string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %q %v", res.StatusCode, res.Header.Get("Location"), err)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

func TestOIDCLogin(t *testing.T) {
	m := startMockOIDC(t)
	a := openTestAuth(t)
	o, err := a.NewOIDC(oidcConfigFor(m))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	signIn := func(u *mockoidc.MockUser) (*Session, Principal, OIDCIdentity, error) {
		t.Helper()
		m.QueueUser(u)
		authURL, state, err := o.Begin(ctx, "/search")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"code_challenge=", "code_challenge_method=S256", "nonce=", "state=" + state} {
			if !strings.Contains(authURL, want) {
				t.Errorf("auth URL %q lacks %q", authURL, want)
			}
		}
		code, gotState := authorize(t, authURL)
		if gotState != state {
			t.Fatalf("provider returned state %q, want %q", gotState, state)
		}
		s, p, id, ret, err := o.Finish(ctx, state, code)
		if err == nil && ret != "/search" {
			t.Errorf("return path %q, want /search", ret)
		}
		return s, p, id, err
	}

	alice := &mockoidc.MockUser{Subject: "sub-alice", Email: "alice@example.com", EmailVerified: true, PreferredUsername: "alice", Groups: []string{"secops", "ghost", "other"}}
	s, p, id, err := signIn(alice)
	if err != nil {
		t.Fatalf("sign in alice: %v", err)
	}
	if p.Name != "alice" || !p.Can(CapTriage) || p.Can(CapUsers) {
		t.Errorf("alice principal = %+v, want analyst rights only", p)
	}
	if !slices.Equal(id.Roles, []string{RoleAnalyst}) {
		t.Errorf("alice roles = %v, want [analyst] (unknown role dropped)", id.Roles)
	}
	if _, sp, err := a.AuthenticateSession(s.ID); err != nil || sp.Name != "alice" {
		t.Errorf("AuthenticateSession = %v, %v", sp.Name, err)
	}
	if !a.isOIDCUser("alice") {
		t.Error("alice was not provisioned as a single sign-on user")
	}
	if _, _, err := a.Login("alice", "", ""); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("password login of an SSO user: %v, want ErrUnauthenticated", err)
	}

	// Groups change at the provider: roles follow, older sessions end.
	alice.Groups = []string{"auditors"}
	if _, p, _, err = signIn(alice); err != nil || !p.Can(CapAudit) || p.Can(CapTriage) {
		t.Errorf("alice after group change: %v caps %v", err, p.Capabilities())
	}
	if _, _, err := a.AuthenticateSession(s.ID); err == nil {
		t.Error("the session from before the role change is still valid")
	}

	// Refusals.
	if _, _, _, err := signIn(&mockoidc.MockUser{Subject: "sub-bob", PreferredUsername: "bob", Groups: []string{"other"}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("no mapped group: %v, want ErrForbidden", err)
	}
	if _, err := a.CreateUser("carol", "a long enough password", []string{RoleReader}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := signIn(&mockoidc.MockUser{Subject: "sub-carol", PreferredUsername: "carol", Groups: []string{"secops"}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("name of a local account: %v, want ErrForbidden", err)
	}
	if _, _, _, err := signIn(&mockoidc.MockUser{Subject: "sub-impostor", PreferredUsername: "alice", Groups: []string{"secops"}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("same name, other subject: %v, want ErrForbidden", err)
	}
	disabled := true
	if _, _, err := a.UpdateUser("alice", UserUpdate{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := signIn(alice); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("disabled account: %v, want ErrUnauthenticated", err)
	}
}

func TestOIDCFinishRejects(t *testing.T) {
	m := startMockOIDC(t)
	a := openTestAuth(t)
	o, err := a.NewOIDC(oidcConfigFor(m))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m.QueueUser(&mockoidc.MockUser{Subject: "s1", PreferredUsername: "dave", Groups: []string{"secops"}})
	authURL, state, err := o.Begin(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := authorize(t, authURL)

	if _, _, _, _, err := o.Finish(ctx, "forged-state", code); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("unknown state: %v", err)
	}
	if _, _, _, _, err := o.Finish(ctx, state, "forged-code"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("forged code: %v", err)
	}
	// The state was used up by the failed attempt: the real code cannot
	// be replayed with it.
	if _, _, _, _, err := o.Finish(ctx, state, code); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("replayed state: %v", err)
	}
}

func TestOIDCProviderDown(t *testing.T) {
	a := openTestAuth(t)
	o, err := a.NewOIDC(OIDCConfig{Issuer: "http://127.0.0.1:1/nowhere", ClientID: "c", RedirectURL: "http://127.0.0.1/cb", DefaultRoles: []string{RoleReader}})
	if err != nil {
		t.Fatalf("NewOIDC must not need the provider: %v", err)
	}
	if _, _, err := o.Begin(context.Background(), "/"); err == nil || !strings.Contains(err.Error(), "oidc discovery") {
		t.Errorf("Begin with the provider down: %v, want a discovery error", err)
	}
}

func TestOIDCConfigValidate(t *testing.T) {
	f := func(c OIDCConfig, want ...string) {
		t.Helper()
		err := c.Validate()
		if len(want) == 0 {
			if err != nil {
				t.Errorf("Validate(%+v) = %v, want nil", c, err)
			}
			return
		}
		if err == nil || !errors.Is(err, ErrInvalid) {
			t.Fatalf("Validate(%+v) = %v, want ErrInvalid", c, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Validate(%+v) = %v, want it to mention %q", c, err, w)
			}
		}
	}
	ok := OIDCConfig{Issuer: "https://idp.example.com", ClientID: "mamori", RedirectURL: "https://mamori.example.com/api/v1/oidc/callback", GroupRoles: map[string][]string{"g": {"reader"}}}
	f(ok)
	f(OIDCConfig{}, "issuer: required", "client_id: required", "redirect_url: required", "group_roles")
	bad := ok
	bad.Issuer, bad.GroupRoles = "ftp://x", map[string][]string{"g": nil}
	f(bad, "issuer", `group_roles "g": no roles`)
}

func TestOIDCClaims(t *testing.T) {
	o := &OIDC{cfg: OIDCConfig{GroupsClaim: "realm_access.roles", UsernameClaim: "upn", GroupRoles: map[string][]string{"a": {"reader"}, "b": {"reader", "analyst"}}}}
	id := o.identity("sub", map[string]any{
		"upn":          "Dom\\Eve Smith/x:y",
		"realm_access": map[string]any{"roles": []any{"a", "b", 3, ""}},
	})
	if id.User != "Dom\\Eve_Smith_x_y" {
		t.Errorf("user = %q", id.User)
	}
	if !slices.Equal(id.Roles, []string{"analyst", "reader"}) || !slices.Equal(id.Groups, []string{"a", "b"}) {
		t.Errorf("groups %v roles %v", id.Groups, id.Roles)
	}
	if got := claimStrings("one"); !slices.Equal(got, []string{"one"}) {
		t.Errorf("claimStrings(string) = %v", got)
	}
	if got := o.identity("only-sub", map[string]any{}); got.User != "only-sub" || got.Roles != nil && len(got.Roles) != 0 {
		t.Errorf("no claims: %+v", got)
	}
}

func openTestAuth(t *testing.T) *Auth {
	t.Helper()
	a, err := Open(Options{Dir: t.TempDir(), AdminToken: "test-admin"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
