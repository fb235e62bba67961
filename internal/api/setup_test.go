package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFromLocalMachine(t *testing.T) {
	f := func(remote, host string, hdr map[string]string, want bool) {
		t.Helper()
		r := httptest.NewRequest("POST", "/api/v1/setup", nil)
		r.RemoteAddr, r.Host = remote, host
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		if got := fromLocalMachine(r); got != want {
			t.Errorf("fromLocalMachine(%s, Host %s, %v) = %v, want %v", remote, host, hdr, got, want)
		}
	}
	f("127.0.0.1:5555", "127.0.0.1:9280", nil, true)
	f("127.0.0.1:5555", "localhost:9280", nil, true)
	f("[::1]:5555", "[::1]:9280", nil, true)
	f("127.0.0.1:5555", "localhost.", map[string]string{"Sec-Fetch-Site": "same-origin"}, true)
	f("10.0.0.5:5555", "127.0.0.1:9280", nil, false)                                              // another machine
	f("127.0.0.1:5555", "mamori.example.com", nil, false)                                         // a reverse proxy or DNS rebinding
	f("127.0.0.1:5555", "127.0.0.1:9280", map[string]string{"X-Forwarded-For": "1.2.3.4"}, false) // a proxy on the same host
	f("127.0.0.1:5555", "127.0.0.1:9280", map[string]string{"Forwarded": "for=1.2.3.4"}, false)
	f("127.0.0.1:5555", "127.0.0.1:9280", map[string]string{"Sec-Fetch-Site": "cross-site"}, false)
	f("garbage", "127.0.0.1", nil, false)
}

func TestFirstRunSetup(t *testing.T) {
	e := newUIEnv(t, Options{})
	post := func(remote, token, body string, ct string) (int, map[string]any, *http.Response) {
		t.Helper()
		r := httptest.NewRequest("POST", "/api/v1/setup", strings.NewReader(body))
		r.RemoteAddr, r.Host = remote, "127.0.0.1:9280"
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		rr := httptest.NewRecorder()
		e.h.ServeHTTP(rr, r)
		var ans map[string]any
		_ = json.Unmarshal(rr.Body.Bytes(), &ans) // checked by the callers through the status
		return rr.Code, ans, rr.Result()
	}
	var opts signinAnswer
	r := httptest.NewRequest("GET", "/api/v1/signin", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:1", "127.0.0.1:9280"
	rr := httptest.NewRecorder()
	e.h.ServeHTTP(rr, r)
	if err := json.Unmarshal(rr.Body.Bytes(), &opts); err != nil || !opts.SetupNeeded || !opts.SetupHere || opts.SSO || opts.MinPassword != 12 {
		t.Fatalf("signin options: %v %+v", err, opts)
	}

	good := `{"user":"root-admin","password":"correct horse battery"}`
	if code, ans, _ := post("10.1.2.3:4", "", good, "application/json"); code != http.StatusForbidden || !strings.Contains(ans["error"].(string), "own machine") {
		t.Errorf("setup from another machine: %d %v, want 403 in words", code, ans)
	}
	if code, _, _ := post("127.0.0.1:4", "", good, "text/plain"); code != http.StatusBadRequest {
		t.Errorf("setup with a form content type: %d, want 400", code)
	}
	if code, _, _ := post("10.1.2.3:4", e.tokens["ana"], good, "application/json"); code != http.StatusForbidden {
		t.Errorf("setup with a reader token: %d, want 403", code)
	}
	if code, ans, _ := post("127.0.0.1:4", "", `{"user":"x","password":"short"}`, "application/json"); code != http.StatusBadRequest || !strings.Contains(ans["error"].(string), "at least 12") {
		t.Errorf("short password: %d %v", code, ans)
	}
	code, ans, res := post("127.0.0.1:4", "", good, "application/json")
	if code != http.StatusCreated || ans["name"] != "root-admin" || ans["csrf"] == "" {
		t.Fatalf("setup: %d %v", code, ans)
	}
	var cookie bool
	for _, c := range res.Cookies() {
		cookie = cookie || c.Name == SessionCookie && c.HttpOnly && c.Value != ""
	}
	if !cookie {
		t.Error("setup did not open a session")
	}
	if code, ans, _ := post("127.0.0.1:4", "", `{"user":"second","password":"correct horse battery"}`, "application/json"); code != http.StatusForbidden || !strings.Contains(ans["error"].(string), "setup is done") {
		t.Errorf("second setup: %d %v", code, ans)
	}
	if code, _, _ := post("10.1.2.3:4", "env-admin", `{"user":"third","password":"correct horse battery"}`, "application/json"); code != http.StatusForbidden {
		t.Errorf("setup with the admin token once a user exists: %d, want 403", code)
	}
	if log := e.auditLog(); !strings.Contains(log, "setup_admin") || !strings.Contains(log, `"denied"`) {
		t.Errorf("audit log lacks the setup records:\n%s", log)
	}
	rr = httptest.NewRecorder()
	e.h.ServeHTTP(rr, r)
	if err := json.Unmarshal(rr.Body.Bytes(), &opts); err != nil || opts.SetupNeeded || opts.SetupHere {
		t.Errorf("signin options after setup: %+v", opts)
	}
}

func TestSetupWithAdminToken(t *testing.T) {
	e := newUIEnv(t, Options{})
	r := httptest.NewRequest("POST", "/api/v1/setup", strings.NewReader(`{"user":"ops","password":"correct horse battery"}`))
	r.RemoteAddr, r.Host = "10.9.9.9:1", "mamori.example.com"
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set("Authorization", "Bearer env-admin")
	rr := httptest.NewRecorder()
	e.h.ServeHTTP(rr, r)
	if rr.Code != http.StatusCreated {
		t.Fatalf("setup with the admin token from afar: %d %s", rr.Code, rr.Body)
	}
	if users := e.a.Users(); len(users) != 1 || users[0].Name != "ops" || users[0].Roles[0] != "admin" {
		t.Errorf("users %+v", users)
	}
}
