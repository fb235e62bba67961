package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig configures single sign-on with an OpenID Connect provider
// (Keycloak, Entra ID, Okta, Google, Dex, Authentik...). The zero value of
// each optional field means its default.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; discovery reads
	// Issuer/.well-known/openid-configuration. Required.
	Issuer string `yaml:"issuer"`
	// ClientID and ClientSecret identify Mamori at the provider. ClientID is
	// required; the secret may be empty for a public client (PKCE only).
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// RedirectURL is Mamori's callback as the browser reaches it, for
	// example https://mamori.example.com/api/v1/oidc/callback. Required.
	RedirectURL string `yaml:"redirect_url"`
	// Scopes requested besides openid (default profile and email). Add
	// "groups" when the provider needs it to send the groups claim.
	Scopes []string `yaml:"scopes"`
	// GroupsClaim names the ID-token claim holding the user's groups
	// (default "groups"); a dotted path reaches nested claims, such as
	// Keycloak's "realm_access.roles".
	GroupsClaim string `yaml:"groups_claim"`
	// UsernameClaim names the claim used as the Mamori user name (default
	// "preferred_username", then "email", then the subject).
	UsernameClaim string `yaml:"username_claim"`
	// GroupRoles maps a provider group to Mamori roles. A user gets the
	// union of the roles of their groups plus DefaultRoles; a user with no
	// role is refused.
	GroupRoles map[string][]string `yaml:"group_roles"`
	// DefaultRoles are given to every user the provider authenticates.
	// Empty (the default) means only mapped groups get in.
	DefaultRoles []string `yaml:"default_roles"`
	// HTTPClient reaches the provider (custom CAs, proxies; tests). nil
	// means a client with a 10 s timeout.
	HTTPClient *http.Client `yaml:"-"`
}

// Validate reports every problem of the configuration at once.
func (c *OIDCConfig) Validate() error {
	var errs []error
	need := func(name, v string) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("oidc %s: required", name))
		}
	}
	need("issuer", c.Issuer)
	need("client_id", c.ClientID)
	need("redirect_url", c.RedirectURL)
	for name, v := range map[string]string{"issuer": c.Issuer, "redirect_url": c.RedirectURL} {
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("oidc %s %q: want an http(s) URL", name, v))
		}
	}
	if len(c.GroupRoles) == 0 && len(c.DefaultRoles) == 0 {
		errs = append(errs, errors.New("oidc group_roles: map at least one group to a role (or set default_roles)"))
	}
	for g, roles := range c.GroupRoles {
		if len(roles) == 0 {
			errs = append(errs, fmt.Errorf("oidc group_roles %q: no roles", g))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// OIDCIdentity is what the provider said about a user who signed in.
type OIDCIdentity struct {
	Subject string   `json:"subject"`
	User    string   `json:"user"` // the Mamori user name
	Email   string   `json:"email,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	Roles   []string `json:"roles"`
}

// OIDC runs the authorization-code flow with PKCE, state and nonce, and
// turns a verified ID token into a Mamori session. Users are provisioned on
// their first sign-in as accounts without a password, bound to the
// provider's (issuer, subject) pair; their roles are recomputed from their
// groups at every sign-in. It is safe for concurrent use.
type OIDC struct {
	a      *Auth
	cfg    OIDCConfig
	client *http.Client

	provMu   sync.Mutex // guards provider and verifier (discovered lazily)
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier

	mu      sync.Mutex // guards pending
	pending map[string]pendingLogin
}

// pendingLogin is a sign-in started by Begin and not yet finished.
type pendingLogin struct {
	nonce, verifier, returnTo string
	expires                   time.Time
}

// Limits of pending sign-ins: an abandoned one is forgotten after
// oidcPendingTTL, and at most oidcMaxPending wait at once.
const (
	oidcPendingTTL = 10 * time.Minute
	oidcMaxPending = 10_000
)

// ErrOIDCBusy is returned by Begin when too many sign-ins are pending.
var ErrOIDCBusy = errors.New("too many pending single sign-ins; try again shortly")

// NewOIDC validates cfg and returns the single sign-on flow for a. It does
// not contact the provider: discovery runs at the first sign-in (and is
// retried on the next one when the provider was unreachable), so a
// provider outage never stops the server from starting.
func (a *Auth) NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "preferred_username"
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"profile", "email"}
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &OIDC{a: a, cfg: cfg, client: client, pending: map[string]pendingLogin{}}, nil
}

// discover returns the provider, fetching its configuration on first use.
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	o.provMu.Lock()
	defer o.provMu.Unlock()
	if o.provider != nil {
		return o.provider, o.verifier, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("oidc discovery at %s: %w", o.cfg.Issuer, err)
	}
	o.provider = p
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.a.now})
	return o.provider, o.verifier, nil
}

func (o *OIDC) oauthConfig(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     o.cfg.ClientID,
		ClientSecret: o.cfg.ClientSecret,
		RedirectURL:  o.cfg.RedirectURL,
		Endpoint:     p.Endpoint(),
		Scopes:       append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...),
	}
}

// Begin starts a sign-in. It returns the provider URL to send the browser
// to and the state, which the caller must also bind to the browser (a
// cookie) and compare on the callback. returnTo is kept for Finish; the
// caller must have checked it is a local path.
func (o *OIDC) Begin(ctx context.Context, returnTo string) (authURL, state string, err error) {
	p, _, err := o.discover(ctx)
	if err != nil {
		return "", "", err
	}
	state, nonce, verifier := randomSecret(), randomSecret(), oauth2.GenerateVerifier()
	now := o.a.now()
	o.mu.Lock()
	if len(o.pending) >= oidcMaxPending {
		for k, pl := range o.pending {
			if now.After(pl.expires) {
				delete(o.pending, k)
			}
		}
	}
	if len(o.pending) >= oidcMaxPending {
		o.mu.Unlock()
		return "", "", ErrOIDCBusy
	}
	o.pending[state] = pendingLogin{nonce: nonce, verifier: verifier, returnTo: returnTo, expires: now.Add(oidcPendingTTL)}
	o.mu.Unlock()
	authURL = o.oauthConfig(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return authURL, state, nil
}

// take removes and returns the pending sign-in of state.
func (o *OIDC) take(state string) (pendingLogin, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	pl, ok := o.pending[state]
	delete(o.pending, state) // a state is good for one attempt only
	if !ok || o.a.now().After(pl.expires) {
		return pendingLogin{}, false
	}
	return pl, true
}

// SameState compares the state of the callback with the one bound to the
// browser in constant time.
func SameState(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Finish completes a sign-in from the provider's callback: it redeems the
// code (with the PKCE verifier), verifies the ID token (signature, issuer,
// audience, expiry, nonce), maps the groups to roles, provisions or updates
// the user, and opens a session. It returns the session, the principal,
// what the provider said, and the local path to return to.
func (o *OIDC) Finish(ctx context.Context, state, code string) (*Session, Principal, OIDCIdentity, string, error) {
	pl, ok := o.take(state)
	if !ok {
		return nil, Principal{}, OIDCIdentity{}, "", fmt.Errorf("%w: single sign-on expired or was not started here; start again", ErrUnauthenticated)
	}
	if code == "" {
		return nil, Principal{}, OIDCIdentity{}, "", fmt.Errorf("%w: the provider sent no authorization code", ErrUnauthenticated)
	}
	p, verifier, err := o.discover(ctx)
	if err != nil {
		return nil, Principal{}, OIDCIdentity{}, "", err
	}
	cctx := context.WithValue(ctx, oauth2.HTTPClient, o.client)
	tok, err := o.oauthConfig(p).Exchange(cctx, code, oauth2.VerifierOption(pl.verifier))
	if err != nil {
		return nil, Principal{}, OIDCIdentity{}, "", fmt.Errorf("%w: redeem authorization code: %w", ErrUnauthenticated, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, Principal{}, OIDCIdentity{}, "", fmt.Errorf("%w: the provider answered without an ID token", ErrUnauthenticated)
	}
	idt, err := verifier.Verify(cctx, raw)
	if err != nil {
		return nil, Principal{}, OIDCIdentity{}, "", fmt.Errorf("%w: verify ID token: %w", ErrUnauthenticated, err)
	}
	if !SameState(idt.Nonce, pl.nonce) {
		return nil, Principal{}, OIDCIdentity{}, "", fmt.Errorf("%w: ID token nonce does not match this sign-in", ErrUnauthenticated)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, Principal{}, OIDCIdentity{}, "", fmt.Errorf("%w: read ID token claims: %w", ErrUnauthenticated, err)
	}
	id := o.identity(idt.Subject, claims)
	s, pr, err := o.a.loginOIDC(o.cfg.Issuer, &id)
	if err != nil {
		return nil, Principal{}, id, "", err
	}
	return s, pr, id, pl.returnTo, nil
}

// identity reads the user name, e-mail and groups from the claims and maps
// the groups to roles.
func (o *OIDC) identity(subject string, claims map[string]any) OIDCIdentity {
	id := OIDCIdentity{Subject: subject, Groups: claimStrings(claimAt(claims, o.cfg.GroupsClaim))}
	id.Email, _ = claims["email"].(string)
	for _, name := range []string{o.cfg.UsernameClaim, "preferred_username", "email"} {
		if v, ok := claimAt(claims, name).(string); ok && strings.TrimSpace(v) != "" {
			id.User = v
			break
		}
	}
	if id.User == "" {
		id.User = subject
	}
	id.User = cleanUserName(id.User)
	roles := slices.Clone(o.cfg.DefaultRoles)
	for _, g := range id.Groups {
		roles = append(roles, o.cfg.GroupRoles[g]...)
	}
	sort.Strings(roles)
	id.Roles = slices.Compact(roles)
	return id
}

// claimAt follows a dotted path into nested claims.
func claimAt(claims map[string]any, path string) any {
	var cur any = claims
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// claimStrings reads a claim that is a list of strings or one string
// (providers differ); anything else gives nil.
func claimStrings(v any) []string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// cleanUserName makes a provider's name a valid Mamori user name: no
// spaces, slashes or colons, at most 128 bytes.
func cleanUserName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == ':' || r < 0x20 || r == 0x7f || r == ' ' || r == '\t':
			return '_'
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 128 {
		s = strings.ToValidUTF8(s[:128], "")
	}
	return s
}

// oidcMarker is stored as the password hash of a provisioned user: it binds
// the account to one (issuer, subject) pair and, not being an argon2id
// string, can never match a password.
func oidcMarker(issuer, subject string) string {
	h := sha256.Sum256([]byte(issuer + "\x00" + subject))
	return "oidc$" + hex.EncodeToString(h[:])
}

// isOIDCUser reports whether the named user was provisioned by single
// sign-on (and so has no password).
func (a *Auth) isOIDCUser(name string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	u := a.userLocked(name)
	return u != nil && strings.HasPrefix(u.PasswordHash, "oidc$")
}

// loginOIDC provisions or updates the user for a verified identity and
// opens a session. It refuses a name held by a local account or by another
// subject, a disabled account, and an identity without a known role.
func (a *Auth) loginOIDC(issuer string, id *OIDCIdentity) (*Session, Principal, error) {
	if id.User == "" {
		return nil, Principal{}, fmt.Errorf("%w: the provider sent no usable user name", ErrUnauthenticated)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	known := id.Roles[:0:0]
	for _, r := range id.Roles {
		if a.roleExistsLocked(r) {
			known = append(known, r)
		} else {
			a.log.Warn("oidc group mapping names an unknown role", "role", r)
		}
	}
	id.Roles = known
	if len(id.Roles) == 0 {
		return nil, Principal{}, fmt.Errorf("%w: none of your groups is mapped to a Mamori role; ask an administrator", ErrForbidden)
	}
	marker := oidcMarker(issuer, id.Subject)
	now := a.now()
	u := a.userLocked(id.User)
	oldUsers := slices.Clone(a.st.Users)
	var before User
	switch {
	case u == nil:
		u = &User{Name: id.User, PasswordHash: marker, CreatedAt: now.UTC()}
		a.st.Users = append(a.st.Users, u)
	case subtle.ConstantTimeCompare([]byte(u.PasswordHash), []byte(marker)) != 1:
		return nil, Principal{}, fmt.Errorf("%w: the user name %s belongs to another account; ask an administrator", ErrForbidden, id.User)
	case u.Disabled:
		return nil, Principal{}, fmt.Errorf("%w: account disabled", ErrUnauthenticated)
	}
	before = *u
	rolesChanged := !slices.Equal(u.Roles, id.Roles)
	u.Roles = slices.Clone(id.Roles)
	u.LastLogin = now.UTC()
	if err := a.saveLocked(); err != nil {
		*u = before
		a.st.Users = oldUsers
		return nil, Principal{}, fmt.Errorf("oidc login %s: %w", id.User, err)
	}
	if rolesChanged {
		a.session.dropUser(u.Name) // rights changed at the provider: older sessions go
	}
	p := a.principalLocked("user", u.Name, u.Name, u.Roles, nil, nil)
	return a.session.open(u.Name), p, nil
}
