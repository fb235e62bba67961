package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/store"
)

// uiEnv is a handler with a UI state directory and tokens of several roles.
type uiEnv struct {
	t      *testing.T
	h      *Handler
	a      *auth.Auth
	st     *store.Store
	dir    string
	tokens map[string]string // "ana", "bob" (readers), "admin", "ingest"
	audit  string
}

func newUIEnv(t *testing.T, opts Options) *uiEnv {
	t.Helper()
	a, err := auth.Open(auth.Options{Dir: t.TempDir(), AdminToken: "env-admin"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: t.TempDir(), MaintainInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &uiEnv{t: t, a: a, st: st, dir: t.TempDir(), tokens: map[string]string{"admin": "env-admin"}}
	for name, role := range map[string]string{"ana": auth.RoleReader, "bob": auth.RoleAnalyst, "ingest": auth.RoleIngest} {
		secret, _, err := a.CreateToken(auth.TokenSpec{Name: name, Roles: []string{role}})
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[name] = secret
	}
	e.audit = filepath.Join(t.TempDir(), "audit.log")
	al, err := auth.OpenAudit(auth.AuditOptions{Path: e.audit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { al.Close() })
	if opts.Store == nil {
		opts.Store = st
	}
	opts.Sink, opts.Auth, opts.Audit, opts.RateLimit = st, a, al, 1e6
	if opts.UIDir == "" {
		opts.UIDir = e.dir
	}
	e.h = New(opts)
	return e
}

// do sends a request as who ("" for none) and decodes a JSON answer into out.
func (e *uiEnv) do(who, method, path, body string, out any) int {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[who])
	}
	rr := httptest.NewRecorder()
	e.h.ServeHTTP(rr, req)
	if out != nil {
		if err := json.Unmarshal(rr.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, rr.Body, err)
		}
	}
	return rr.Code
}

func (e *uiEnv) auditLog() string {
	e.t.Helper()
	b, err := os.ReadFile(e.audit)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func TestSavedSearchesOwnershipAndSharing(t *testing.T) {
	e := newUIEnv(t, Options{})
	var mine Saved
	if code := e.do("ana", "POST", "/api/v1/saved-searches", `{"name":"Failed logins","query":"failure | count by user","from":"-24h","shared":false}`, &mine); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if mine.ID == "" || mine.Owner == "" || mine.Query != "failure | count by user" || mine.From != "-24h" || mine.Created.IsZero() {
		t.Fatalf("created %+v", mine)
	}
	list := func(who string, query ...string) []Saved {
		t.Helper()
		var ans struct {
			Saved []Saved `json:"saved_searches"`
		}
		if code := e.do(who, "GET", "/api/v1/saved-searches"+strings.Join(query, ""), "", &ans); code != 200 {
			t.Fatalf("list as %s: %d", who, code)
		}
		return ans.Saved
	}
	if got := list("bob"); len(got) != 0 {
		t.Errorf("bob sees ana's private search: %+v", got)
	}
	if got := list("admin"); len(got) != 0 {
		t.Errorf("admin's own list shows %d searches of others, want 0", len(got))
	}
	if got := list("admin", "?all=1"); len(got) != 1 {
		t.Errorf("admin with all=1 sees %d searches, want 1", len(got))
	}
	if got := list("bob", "?all=1"); len(got) != 0 {
		t.Errorf("a non-admin with all=1 sees %d private searches of others", len(got))
	}
	if code := e.do("admin", "GET", "/api/v1/saved-searches/"+mine.ID, "", nil); code != 200 {
		t.Errorf("admin reads a private search by id: %d", code)
	}
	if code := e.do("bob", "GET", "/api/v1/saved-searches/"+mine.ID, "", nil); code != http.StatusNotFound {
		t.Errorf("bob reads a private search: %d, want 404", code)
	}
	// Sharing makes it visible to bob, who still may not change it.
	mine.Shared = true
	b, _ := json.Marshal(mine)
	var upd Saved
	if code := e.do("ana", "PUT", "/api/v1/saved-searches/"+mine.ID, string(b), &upd); code != 200 || !upd.Shared || upd.Owner != mine.Owner || !upd.Created.Equal(mine.Created) {
		t.Fatalf("share: %d %+v", code, upd)
	}
	if got := list("bob"); len(got) != 1 || got[0].Name != "Failed logins" {
		t.Errorf("bob sees %+v, want the shared search", got)
	}
	var errAns map[string]any
	if code := e.do("bob", "PUT", "/api/v1/saved-searches/"+mine.ID, `{"name":"mine now","query":"x"}`, &errAns); code != http.StatusForbidden || !strings.Contains(errAns["error"].(string), "only its owner") {
		t.Errorf("bob changes ana's search: %d %v, want 403 in words", code, errAns)
	}
	if code := e.do("bob", "DELETE", "/api/v1/saved-searches/"+mine.ID, "", nil); code != http.StatusForbidden {
		t.Errorf("bob deletes ana's search: %d, want 403", code)
	}
	// bob's own search comes first in his list.
	e.do("bob", "POST", "/api/v1/saved-searches", `{"name":"zz mine","query":"bob"}`, nil)
	if got := list("bob"); len(got) != 2 || got[0].Name != "zz mine" {
		t.Errorf("bob's list %+v, want his own first", got)
	}
	// An admin may delete anything.
	if code := e.do("admin", "DELETE", "/api/v1/saved-searches/"+mine.ID, "", nil); code != 200 {
		t.Errorf("admin delete: %d", code)
	}
	if code := e.do("ana", "GET", "/api/v1/saved-searches/"+mine.ID, "", nil); code != http.StatusNotFound {
		t.Errorf("deleted search still there: %d", code)
	}
	if code := e.do("ingest", "GET", "/api/v1/saved-searches", "", nil); code != http.StatusForbidden {
		t.Errorf("ingest token lists saved searches: %d, want 403", code)
	}
	log := e.auditLog()
	for _, want := range []string{"saved_search_create", "saved_search_update", "saved_search_delete", `"denied"`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s:\n%s", want, log)
		}
	}
}

func TestSavedPersistsAndSurvivesCorruption(t *testing.T) {
	e := newUIEnv(t, Options{})
	var d Saved
	body := `{"name":"SOC","from":"-6h","refresh":60,"shared":true,"panels":[{"title":"Events","query":"* | count","kind":"single","w":3},{"query":"* | count by _source","kind":"bar","w":8}]}`
	if code := e.do("bob", "POST", "/api/v1/dashboards", body, &d); code != http.StatusCreated {
		t.Fatalf("create dashboard: %d", code)
	}
	if len(d.Panels) != 2 || d.Panels[1].Title != "* | count by _source" || d.Panels[0].ID == "" || d.Refresh != 60 || d.Query != "" {
		t.Fatalf("dashboard %+v", d)
	}
	// A new handler on the same directory (a restart) has it.
	e2 := newUIEnv(t, Options{UIDir: e.dir})
	e2.tokens = e.tokens
	e2.a = e.a
	var got Saved
	if code := e.do("ana", "GET", "/api/v1/dashboards/"+d.ID, "", &got); code != 200 || got.Name != "SOC" {
		t.Fatalf("after reopen: %d %+v", code, got)
	}
	// A damaged file is an error, never overwritten by the next save.
	path := filepath.Join(e.dir, kindDashboard.file)
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	e3 := newUIEnv(t, Options{UIDir: e.dir})
	var ans map[string]any
	if code := e3.do("admin", "POST", "/api/v1/dashboards", `{"name":"x","panels":[]}`, &ans); code != http.StatusInternalServerError {
		t.Errorf("save over a damaged file: %d %v, want 500", code, ans)
	}
	if b, _ := os.ReadFile(path); string(b) != "{not json" {
		t.Errorf("the damaged file was overwritten: %q", b)
	}
}

func TestSavedBadInput(t *testing.T) {
	e := newUIEnv(t, Options{})
	f := func(path, body, want string) {
		t.Helper()
		var ans map[string]any
		code := e.do("ana", "POST", path, body, &ans)
		msg, _ := ans["error"].(string)
		if code != http.StatusBadRequest || !strings.Contains(msg, want) {
			t.Errorf("POST %s %s = %d %q, want 400 with %q", path, body, code, msg, want)
		}
	}
	f("/api/v1/saved-searches", `{`, "saved search")
	f("/api/v1/saved-searches", `{"name":"","query":""}`, "name: required; query: required")
	f("/api/v1/saved-searches", `{"name":"`+strings.Repeat("n", 200)+`","query":"x"}`, "at most 100")
	f("/api/v1/dashboards", `{"name":"d","panels":[{"query":"x","kind":"pie","w":5},{"kind":"line"}]}`, `panel 1: kind "pie"`)
	f("/api/v1/dashboards", `{"name":"d","panels":[{"query":"x","kind":"pie","w":5},{"kind":"line"}]}`, "panel 2: query: required")
	f("/api/v1/dashboards", `{"name":"d","refresh":-1}`, "refresh")
	f("/api/v1/dashboards", `{"name":"d","panels":"x"}`, "dashboard")
	// Valid ones beside the bad ones went through.
	if code := e.do("ana", "POST", "/api/v1/saved-searches", `{"name":"ok","query":"x"}`, nil); code != http.StatusCreated {
		t.Errorf("a valid save after bad ones: %d", code)
	}
	if code := e.do("ana", "PUT", "/api/v1/saved-searches/nosuch", `{"name":"ok","query":"x"}`, nil); code != http.StatusNotFound {
		t.Errorf("update of a missing id: %d, want 404", code)
	}
}

func TestSavedOffWithoutDir(t *testing.T) {
	a, _ := auth.Open(auth.Options{Dir: t.TempDir(), AdminToken: "env-admin"})
	h := New(Options{Auth: a, RateLimit: 1e6})
	req := httptest.NewRequest("GET", "/api/v1/dashboards", nil)
	req.Header.Set("Authorization", "Bearer env-admin")
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	b, _ := io.ReadAll(rr.Body)
	if rr.Code != http.StatusNotFound || !strings.Contains(string(b), "keeps no saved searches") {
		t.Errorf("without UIDir: %d %s", rr.Code, b)
	}
}

func FuzzSavedBody(f *testing.F) {
	f.Add(`{"name":"SOC","panels":[{"title":"Events","query":"* | count","kind":"single","w":3}]}`)
	f.Add(`{"name":"q","query":"a | count","from":"-1h","to":"now","shared":true}`)
	f.Add(`{"name":"` + strings.Repeat("é", 60) + `","panels":[{"title":"` + strings.Repeat("ü", 80) + `","query":"x","kind":"bar"}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, k := range []savedKind{kindSearch, kindDashboard} {
			s := &savedStore{kind: k}
			var in Saved
			if json.Unmarshal([]byte(body), &in) != nil {
				continue
			}
			if err := s.clean(&in); err != nil {
				if err.Error() == "" {
					t.Fatal("empty error message")
				}
				continue
			}
			if in.Name == "" || len(in.Name) > maxSavedName || len(in.Panels) > maxSavedPanels {
				t.Fatalf("clean accepted %+v", in)
			}
			if _, err := json.Marshal(in); err != nil {
				t.Fatalf("cleaned item does not marshal: %v", err)
			}
		}
	})
}
