package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSearchAudited: the audit record of a search is written while the
// query runs, and is in the audit log by the time the answer is complete
// (its last line), for answers and explains alike.
func TestSearchAudited(t *testing.T) {
	e := newUIEnv(t, Options{})
	for i, body := range []string{
		`{"query":"audited_search_one | count","from":"-1h"}`,
		`{"query":"audited_search_two","from":"-1h","explain":true}`,
		`{"query":"audited_search_three | limit 1","from":"-1h"}`,
	} {
		req := httptest.NewRequest("POST", "/api/v1/search", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.tokens["ana"])
		rr := httptest.NewRecorder()
		e.h.ServeHTTP(rr, req)
		if rr.Code != http.StatusOK {
			t.Fatalf("search %d: %d %s", i, rr.Code, rr.Body)
		}
		want := []string{"audited_search_one", "audited_search_two", "audited_search_three"}[i]
		if log := e.auditLog(); !strings.Contains(log, want) {
			t.Errorf("search %d answered (%d) but not in the audit log:\n%s", i, rr.Code, log)
		}
	}
}
