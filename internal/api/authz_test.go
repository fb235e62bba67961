package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/store"
)

// wantCap is the intended capability of every route. A route missing here
// fails the test: decide who may call it before adding it.
var wantCap = map[string]auth.Capability{
	"GET /metrics":                      auth.CapSearch,
	"POST /api/v1/ingest":               auth.CapIngest,
	"POST /api/v1/search":               auth.CapSearch,
	"GET /api/v1/tail":                  auth.CapSearch,
	"POST /api/v1/histogram":            auth.CapSearch,
	"POST /api/v1/login":                "",
	"POST /api/v1/logout":               capAuthenticated,
	"GET /api/v1/me":                    capAuthenticated,
	"POST /api/v1/tokens":               auth.CapUsers,
	"GET /api/v1/tokens":                auth.CapUsers,
	"DELETE /api/v1/tokens/{id}":        auth.CapUsers,
	"GET /api/v1/users":                 auth.CapUsers,
	"POST /api/v1/users":                auth.CapUsers,
	"PATCH /api/v1/users/{name}":        auth.CapUsers,
	"DELETE /api/v1/users/{name}":       auth.CapUsers,
	"GET /api/v1/roles":                 auth.CapUsers,
	"PUT /api/v1/roles/{name}":          auth.CapUsers,
	"DELETE /api/v1/roles/{name}":       auth.CapUsers,
	"GET /api/v1/audit/verify":          auth.CapAudit,
	"GET /api/v1/rules":                 auth.CapSearch,
	"POST /api/v1/rules":                auth.CapRules,
	"POST /api/v1/rules/test":           auth.CapRules,
	"PATCH /api/v1/rules/{id}":          auth.CapRules,
	"DELETE /api/v1/rules/{id}":         auth.CapRules,
	"POST /api/v1/rules/{id}/hunt":      auth.CapRules,
	"GET /api/v1/signals":               auth.CapSearch,
	"GET /api/v1/incidents":             auth.CapSearch,
	"GET /api/v1/incidents/{id}":        auth.CapSearch,
	"PATCH /api/v1/incidents/{id}":      auth.CapTriage,
	"GET /api/v1/logreduce/corrections": auth.CapSearch,
	"PUT /api/v1/logreduce/corrections": auth.CapRules,
	"GET /api/v1/lookups":               auth.CapSearch,
	"PUT /api/v1/lookups/{name}":        auth.CapRules,
	"POST /api/v1/lookups/{name}":       auth.CapRules,
	"DELETE /api/v1/lookups/{name}":     auth.CapRules,
	"GET /api/v1/notifications":         auth.CapTriage,
	"GET /api/v1/channels":              auth.CapTriage,
	"POST /api/v1/channels/{name}/test": auth.CapAdmin,
	"GET /api/v1/oidc/login":            "",
	"GET /api/v1/oidc/callback":         "",
	"GET /api/v1/oidc/session":          capAuthenticated,
	"GET /api/v1/holds":                 auth.CapAudit,
	"POST /api/v1/holds":                auth.CapAdmin,
	"DELETE /api/v1/holds/{id}":         auth.CapAdmin,

	// Saved searches and dashboards (ownership checked inside), storage
	// settings, and the public sign-in options and first-run setup.
	"GET /api/v1/saved-searches":         auth.CapSearch,
	"POST /api/v1/saved-searches":        auth.CapSearch,
	"GET /api/v1/saved-searches/{id}":    auth.CapSearch,
	"PUT /api/v1/saved-searches/{id}":    auth.CapSearch,
	"DELETE /api/v1/saved-searches/{id}": auth.CapSearch,
	"GET /api/v1/dashboards":             auth.CapSearch,
	"POST /api/v1/dashboards":            auth.CapSearch,
	"GET /api/v1/dashboards/{id}":        auth.CapSearch,
	"PUT /api/v1/dashboards/{id}":        auth.CapSearch,
	"DELETE /api/v1/dashboards/{id}":     auth.CapSearch,
	"GET /api/v1/settings/storage":       auth.CapAdmin,
	"PUT /api/v1/settings/storage":       auth.CapAdmin,
	"GET /api/v1/signin":                 "",
	"POST /api/v1/setup":                 "",
}

func TestAuthorizationMatrix(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	a, err := auth.Open(auth.Options{Dir: t.TempDir(), AdminToken: "env-admin", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: t.TempDir(), MaintainInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := New(Options{Store: st, Sink: st, Auth: a, RateLimit: 1e6})

	type who struct {
		name  string
		token string
		role  string // "" for invalid credentials
	}
	var principals []who
	for _, role := range []string{auth.RoleAdmin, auth.RoleReader, auth.RoleIngest, auth.RoleAnalyst, auth.RoleAuditor} {
		secret, _, err := a.CreateToken(auth.TokenSpec{Roles: []string{role}})
		if err != nil {
			t.Fatal(err)
		}
		principals = append(principals, who{role, secret, role})
	}
	expiring, _, _ := a.CreateToken(auth.TokenSpec{Roles: []string{auth.RoleAdmin}, TTL: time.Minute})
	revoked, rec, _ := a.CreateToken(auth.TokenSpec{Roles: []string{auth.RoleAdmin}})
	a.RevokeToken(rec.ID)
	clock = clock.Add(time.Hour) // expire "expiring"
	principals = append(principals, who{"none", "", ""}, who{"wrong", "mmr_wrong", ""}, who{"expired", expiring, ""}, who{"revoked", revoked, ""})

	roleCaps := map[string]auth.Principal{}
	for _, p := range principals {
		if p.role != "" {
			pr, err := a.AuthenticateToken(p.token)
			if err != nil {
				t.Fatal(err)
			}
			roleCaps[p.role] = pr
		}
	}

	seen := map[string]bool{}
	for _, rt := range h.routes() {
		seen[rt.pattern] = true
		want, ok := wantCap[rt.pattern]
		if !ok {
			t.Errorf("route %q has no entry in the authorization matrix", rt.pattern)
			continue
		}
		if want != rt.cap {
			t.Errorf("route %q needs %q, the matrix says %q", rt.pattern, rt.cap, want)
		}
		if rt.cap == "" {
			continue // public: authenticates by its own means (login)
		}
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.NewReplacer("{id}", "nosuchid", "{name}", "nosuchname").Replace(path)
		for _, p := range principals {
			body := `{}`
			if strings.HasSuffix(path, "/search") || strings.HasSuffix(path, "/histogram") {
				body = `{"query":"x","from":"-1h"}`
			}
			req := httptest.NewRequest(method, path, bytes.NewReader([]byte(body)))
			if p.token != "" {
				req.Header.Set("Authorization", "Bearer "+p.token)
			}
			if method == "GET" && strings.HasSuffix(path, "/tail") {
				// A permitted tail streams forever; cancel it at once.
				ctx, cancel := context.WithCancel(req.Context())
				cancel()
				req = req.WithContext(ctx)
			}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			code := rr.Code
			switch {
			case p.role == "":
				if code != http.StatusUnauthorized {
					t.Errorf("%s as %s: %d, want 401", rt.pattern, p.name, code)
				}
			case rt.cap == capAuthenticated || roleCaps[p.role].Can(rt.cap):
				if code == http.StatusUnauthorized || code == http.StatusForbidden {
					t.Errorf("%s as %s: %d, want it allowed (%s)", rt.pattern, p.name, code, rr.Body)
				}
			default:
				if code != http.StatusForbidden {
					t.Errorf("%s as %s: %d, want 403", rt.pattern, p.name, code)
				}
			}
		}
	}
	for pat := range wantCap {
		if !seen[pat] {
			t.Errorf("matrix entry %q has no route", pat)
		}
	}
}
