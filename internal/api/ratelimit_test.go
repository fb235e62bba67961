package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/auth"
)

// testClock is a settable clock for the limiters.
type testClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestRateLimits proves the API's two limiters answer 429 with
// Retry-After once a client exceeds its budget, that one client's excess
// does not limit another, and that the budget refills with time.
func TestRateLimits(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a, err := auth.Open(auth.Options{Dir: t.TempDir(), AdminToken: "env-admin", Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUser("alice", "correct horse battery", []string{auth.RoleReader}); err != nil {
		t.Fatal(err)
	}
	h := New(Options{Auth: a, RateLimit: 2, Now: clock.now}) // 2/s, burst 4
	do := func(method, path, remote, token, body string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.RemoteAddr = remote
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		return rr
	}
	want := func(rr *httptest.ResponseRecorder, code int, what string) {
		t.Helper()
		if rr.Code != code {
			t.Fatalf("%s: %d %s, want %d", what, rr.Code, rr.Body, code)
		}
		if code == http.StatusTooManyRequests && rr.Header().Get("Retry-After") == "" {
			t.Fatalf("%s: 429 without Retry-After", what)
		}
	}

	t.Run("login per address", func(t *testing.T) {
		bad := `{"user":"nobody","password":"wrong password!"}`
		for i := range 10 { // burst of 10 attempts
			want(do("POST", "/api/v1/login", "192.0.2.1:1000", "", bad), http.StatusUnauthorized, "attempt "+string(rune('0'+i)))
		}
		want(do("POST", "/api/v1/login", "192.0.2.1:1001", "", bad), http.StatusTooManyRequests, "11th attempt")
		// Even the right password waits: the limit is on attempts.
		want(do("POST", "/api/v1/login", "192.0.2.1:1002", "", `{"user":"alice","password":"correct horse battery"}`), http.StatusTooManyRequests, "right password while limited")
		want(do("POST", "/api/v1/login", "198.51.100.7:1000", "", bad), http.StatusUnauthorized, "another address")
		clock.add(6 * time.Second) // 10 per minute: one attempt back every 6 s
		want(do("POST", "/api/v1/login", "192.0.2.1:1003", "", `{"user":"alice","password":"correct horse battery"}`), http.StatusOK, "after 6 s")
		want(do("POST", "/api/v1/login", "192.0.2.1:1004", "", bad), http.StatusTooManyRequests, "budget spent again")
	})

	t.Run("per principal", func(t *testing.T) {
		reader, _, err := a.CreateToken(auth.TokenSpec{Roles: []string{auth.RoleReader}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			want(do("GET", "/api/v1/me", "192.0.2.9:1", reader, ""), http.StatusOK, "request "+string(rune('1'+i)))
		}
		want(do("GET", "/api/v1/me", "192.0.2.9:1", reader, ""), http.StatusTooManyRequests, "5th request")
		// The limit follows the token, not the address.
		want(do("GET", "/api/v1/me", "203.0.113.1:1", reader, ""), http.StatusTooManyRequests, "same token, other address")
		want(do("GET", "/api/v1/me", "192.0.2.9:1", "env-admin", ""), http.StatusOK, "other token")
		clock.add(time.Second)
		want(do("GET", "/api/v1/me", "192.0.2.9:1", reader, ""), http.StatusOK, "after 1 s")
		want(do("GET", "/api/v1/me", "192.0.2.9:1", reader, ""), http.StatusOK, "second after 1 s")
		want(do("GET", "/api/v1/me", "192.0.2.9:1", reader, ""), http.StatusTooManyRequests, "third after 1 s")
	})
}
