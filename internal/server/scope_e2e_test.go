package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDataScope checks that a role without the wallet partition cannot see
// wallet events through search, histogram or live tail, and that role
// filters and the audit partition are enforced.
func TestDataScope(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfg, []byte("routes:\n  - {field: _host, match: \"signer-*\", partition: wallet}\n"), 0o600)
	n := startNode(t, filepath.Join(dir, "data"), "--config", cfg)
	defer n.stop()

	mustJSON := func(method, path, body string, tok ...string) map[string]any {
		t.Helper()
		st, b, _ := n.do(method, path, "", []byte(body), tok...)
		if st/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, st, b)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	mustJSON("PUT", "/api/v1/roles/ops", `{"name":"ops","capabilities":["search"],"partitions":["main"]}`)
	mustJSON("PUT", "/api/v1/roles/devs", `{"name":"devs","capabilities":["search"],"filter":"NOT _source=hr"}`)
	ops := mustJSON("POST", "/api/v1/tokens", `{"role":"ops"}`)["token"].(string)
	devs := mustJSON("POST", "/api/v1/tokens", `{"role":"devs"}`)["token"].(string)
	auditor := mustJSON("POST", "/api/v1/tokens", `{"role":"auditor"}`)["token"].(string)

	// Open a tail as ops before the data arrives.
	req, _ := http.NewRequest("GET", n.url("/api/v1/tail?query=scopetest"), nil)
	req.Header.Set("Authorization", "Bearer "+ops)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tail := bufio.NewReader(resp.Body)
	tail.ReadString('\n')

	n.ingest(t, "?host=signer-01&source=wallet-signer", "", []byte("scopetest wallet withdrawal signed\n"))
	n.ingest(t, "?host=web-01&source=nginx", "", []byte("scopetest web request\n"))
	n.ingest(t, "?host=hr-01&source=hr", "", []byte("scopetest salary file\n"))

	count := func(tok, q string) int {
		t.Helper()
		body := `{"query":` + strings.TrimSpace(mustQuote(q)) + `,"from":"-1h"}`
		st, b, _ := n.do("POST", "/api/v1/search", "", []byte(body), tok)
		if st != 200 {
			t.Fatalf("search %q: %d %s", q, st, b)
		}
		rows := 0
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" && !strings.HasPrefix(l, `{"_stats"`) {
				rows++
			}
		}
		return rows
	}
	if got := count(adminToken, "scopetest"); got != 3 {
		t.Errorf("admin sees %d, want 3", got)
	}
	if got := count(ops, "scopetest"); got != 2 {
		t.Errorf("ops sees %d, want 2 (no wallet)", got)
	}
	if got := count(ops, "scopetest _partition=wallet"); got != 0 {
		t.Errorf("ops sees %d wallet events by naming the partition", got)
	}
	if got := count(devs, "scopetest"); got != 2 {
		t.Errorf("devs sees %d, want 2 (no hr)", got)
	}
	if got := count(devs, "scopetest _source=hr OR salary"); got != 0 {
		t.Errorf("devs sees %d hr events", got)
	}
	// A subquery runs in the caller's scope too: the wallet host stays hidden.
	if got := count(ops, "scopetest [subquery: withdrawal | compose _host]"); got != 0 {
		t.Errorf("ops reached %d events through a subquery on wallet data", got)
	}
	if got := count(adminToken, "scopetest [subquery: withdrawal | compose _host]"); got != 1 {
		t.Errorf("admin subquery found %d, want 1", got)
	}
	if got := count(ops, "_partition=_audit"); got != 0 {
		t.Errorf("ops reads %d audit records", got)
	}
	// Audit records arrive asynchronously.
	deadline := time.Now().Add(10 * time.Second)
	for count(auditor, "_partition=_audit action=search") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("auditor finds no search audit records")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := count(auditor, "_source=wallet-signer OR _source=nginx"); got != 0 {
		t.Errorf("auditor reads %d log events outside the audit partition", got)
	}
	// Histogram of ops counts only what ops may see.
	st, b, _ := n.do("POST", "/api/v1/histogram", "", []byte(`{"query":"scopetest","from":"-1h","buckets":4}`), ops)
	var hist struct{ Buckets []struct{ Count int } }
	json.Unmarshal(b, &hist)
	total := 0
	for _, bk := range hist.Buckets {
		total += bk.Count
	}
	if st != 200 || total != 2 {
		t.Errorf("ops histogram total %d (%d %s), want 2", total, st, b)
	}
	// The tail delivered the two events ops may see, never the wallet one.
	got := 0
	for got < 2 {
		l, err := tail.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "data: ") {
			if strings.Contains(l, "wallet") {
				t.Fatalf("ops tail saw a wallet event: %s", l)
			}
			got++
		}
	}
	// The audit log verifies.
	st, b, _ = n.do("GET", "/api/v1/audit/verify", "", nil, auditor)
	if st != 200 || !strings.Contains(string(b), `"problems":null`) {
		t.Errorf("audit verify: %d %s", st, b)
	}
}

func mustQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
