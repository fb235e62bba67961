package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/store"
)

var holdNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func ns(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

func TestHoldsCovers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "holds.json")
	hs, err := OpenHolds(HoldsOptions{Path: path, Now: func() time.Time { return holdNow },
		Config: []Hold{{Partition: "wallet", Reason: "case 2018-01"}}})
	if err != nil {
		t.Fatal(err)
	}
	add := func(p, from, to string) Hold {
		t.Helper()
		hd, err := parseHoldRequest(holdRequest{Partition: p, From: from, To: to, Reason: "investigation"}, holdNow)
		if err != nil {
			t.Fatal(err)
		}
		hd, err = hs.Add(hd)
		if err != nil {
			t.Fatal(err)
		}
		return hd
	}
	ranged := add("main", "2026-01-01T00:00:00Z", "2026-01-31T23:59:59Z")
	add("*", "-1d", "")

	f := func(p, minT, maxT string, want bool) {
		t.Helper()
		if got := hs.Covers(p, ns(minT), ns(maxT)); got != want {
			t.Errorf("Covers(%s, %s, %s) = %v, want %v", p, minT, maxT, got, want)
		}
	}
	f("wallet", "2010-01-01T00:00:00Z", "2010-01-02T00:00:00Z", true)   // config hold, all times
	f("main", "2025-12-30T00:00:00Z", "2026-01-01T00:00:00Z", true)     // overlaps the start
	f("main", "2026-01-31T23:59:59Z", "2026-02-02T00:00:00Z", true)     // overlaps the end
	f("main", "2025-12-01T00:00:00Z", "2025-12-31T23:59:59Z", false)    // before
	f("main", "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", false)    // after
	f("other", "2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z", false)   // other partition
	f("other", "2026-11-24T13:00:00Z", "2026-11-24T14:00:00Z", true)    // "*" since -1d
	f("other", "2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z", false)   // before -1d
	if !hs.Covers("main", 0, 0) || (*Holds)(nil).Covers("main", 0, 0) { // unknown bounds are open
		t.Error("unknown bounds: want covered; a nil *Holds covers nothing")
	}

	// Persisted, and a release is recorded, not deleted.
	if _, err := hs.Release(ranged.ID, "user:admin"); err != nil {
		t.Fatal(err)
	}
	f("main", "2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z", false)
	if _, err := hs.Release("config-1", "user:admin"); !errors.Is(err, errInvalid) {
		t.Errorf("release of a config hold: %v, want errInvalid", err)
	}
	if _, err := hs.Release("nope", "user:admin"); !errors.Is(err, errNotFound) {
		t.Errorf("release of an unknown hold: %v, want errNotFound", err)
	}
	re, err := OpenHolds(HoldsOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	list := re.List()
	if len(list) != 2 || list[0].ID != ranged.ID || list[0].Active() || list[0].ReleasedBy != "user:admin" || !list[1].Active() {
		t.Errorf("reopened holds = %+v", list)
	}
}

func TestHoldsBadInput(t *testing.T) {
	dir := t.TempDir()
	f := func(name, content, want string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := OpenHolds(HoldsOptions{Path: p})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("OpenHolds(%s) = %v, want an error with %q", content, err, want)
		}
	}
	// A damaged file stops the server rather than forgetting holds.
	f("trunc.json", `{"holds":[{"id":"h1","partition":"main","reas`, "unexpected EOF")
	f("dup.json", `{"holds":[{"id":"h","partition":"a","reason":"r"},{"id":"h","partition":"b","reason":"r"}]}`, "repeated id")
	f("noreason.json", `{"holds":[{"id":"h","partition":"a"}]}`, "reason: required")
	f("unknown.json", `{"holds":[],"extra":1}`, "unknown field")
	if _, err := OpenHolds(HoldsOptions{Path: filepath.Join(dir, "x.json"), Config: []Hold{{Reason: "r"}}}); err == nil || !strings.Contains(err.Error(), "partition: required") {
		t.Errorf("config hold without partition: %v", err)
	}

	r := func(req holdRequest, want string) {
		t.Helper()
		_, err := parseHoldRequest(req, holdNow)
		if err == nil || !errors.Is(err, errInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("parseHoldRequest(%+v) = %v, want errInvalid with %q", req, err, want)
		}
	}
	r(holdRequest{Reason: "r"}, "partition: required")
	r(holdRequest{Partition: "a/b", Reason: "r"}, "not a partition name")
	r(holdRequest{Partition: "a"}, "reason: required")
	r(holdRequest{Partition: "a", Reason: "r", From: "yesterday"}, `time "yesterday"`)
	r(holdRequest{Partition: "a", Reason: "r", From: "-5x"}, `time "-5x"`)
	r(holdRequest{Partition: "a", Reason: "r", From: "2026-02-01T00:00:00Z", To: "2026-01-01T00:00:00Z"}, "to: before from")
}

func TestHoldsAPI(t *testing.T) {
	a, err := auth.Open(auth.Options{Dir: t.TempDir(), AdminToken: "env-admin"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: t.TempDir(), MaintainInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hs, err := OpenHolds(HoldsOptions{Path: filepath.Join(t.TempDir(), "holds.json")})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Options{Store: st, Sink: st, Auth: a, Holds: hs})
	auditor, _, _ := a.CreateToken(auth.TokenSpec{Roles: []string{auth.RoleAuditor}})
	do := func(method, path, token, body string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(method, path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+token)
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		return rr.Code, rr.Body.String()
	}
	code, body := do("POST", "/api/v1/holds", "env-admin", `{"partition":"wallet","from":"2026-01-01T00:00:00Z","reason":"subpoena 42"}`)
	var hd Hold
	if err := json.Unmarshal([]byte(body), &hd); code != http.StatusCreated || err != nil || hd.ID == "" || hd.CreatedBy != "env:env" {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/holds", "env-admin", `{"partition":"wallet"}`); code != http.StatusBadRequest {
		t.Errorf("create without reason: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/holds", auditor, `{"partition":"x","reason":"r"}`); code != http.StatusForbidden {
		t.Errorf("auditor creates: %d %s", code, body)
	}
	if code, body := do("GET", "/api/v1/holds", auditor, ""); code != http.StatusOK || !strings.Contains(body, "subpoena 42") {
		t.Errorf("auditor lists: %d %s", code, body)
	}
	if code, body := do("DELETE", "/api/v1/holds/"+hd.ID, "env-admin", ""); code != http.StatusOK || !strings.Contains(body, "released_at") {
		t.Errorf("release: %d %s", code, body)
	}
	if hs.Covers("wallet", ns("2026-03-01T00:00:00Z"), ns("2026-03-02T00:00:00Z")) {
		t.Error("released hold still covers")
	}
}

func FuzzHoldRequest(f *testing.F) {
	for _, s := range []string{
		`{"partition":"wallet","from":"2026-01-01T00:00:00Z","to":"-1d","reason":"r"}`,
		`{"partition":"*","from":"-30d","reason":"case"}`,
		`{"partition":"","reason":""}`, `{"from":"-99999999999d"}`, `[`, `{"holds":[{"id":"a","partition":"b","reason":"c"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req holdRequest
		if json.Unmarshal(b, &req) == nil {
			hd, err := parseHoldRequest(req, holdNow)
			if err != nil && err.Error() == "" {
				t.Fatal("empty error message")
			}
			if err == nil {
				_ = hd.covers(hd.Partition, 1, 2) // must not panic
			}
		}
		if _, err := parseHolds(b); err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
