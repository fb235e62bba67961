package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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

	mustJSON := n.mustJSON
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

// mustJSON sends a request that must succeed and decodes its JSON answer.
func (n *node) mustJSON(method, path, body string, tok ...string) map[string]any {
	n.t.Helper()
	st, b, _ := n.do(method, path, "", []byte(body), tok...)
	if st/100 != 2 {
		n.t.Fatalf("%s %s: %d %s", method, path, st, b)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func mustQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Rules for TestDataScopeViews: a critical one that fires on the wallet
// signer, a medium one on a web server; the same user links both signals
// into one incident.
const (
	scopeMimiRuleID   = "7f8a3c1e-0000-4000-8000-0000000000a1"
	scopeWhoamiRuleID = "7f8a3c1e-0000-4000-8000-0000000000a2"
)

// walletMarkers are strings only wallet events (and what is derived from
// them) contain; a scoped view showing one of them leaks.
var walletMarkers = []string{"mimikatz", "signer-0", "wallet-signer", "vaultadmin", "bc1qwalletaddr", "treasury", "credential"}

func leaked(b []byte) string {
	s := strings.ToLower(string(b))
	for _, m := range walletMarkers {
		if strings.Contains(s, strings.ToLower(m)) {
			return m
		}
	}
	return ""
}

// TestDataScopeViews checks that principals without the wallet partition
// (ops: partitions [main]) or with a role filter excluding it (devs: NOT
// _source=wallet-signer) cannot see wallet events through retro-hunt,
// export (the streamed search API), lookup, join, subqueries in where,
// signals, incidents and notifications. Signals and incidents are shown
// to a scoped user only for the events it may read: a signal from a wallet
// event is hidden, and an incident mixing both keeps only the visible
// signals, with its title, sources, tactics and entities rebuilt from
// them.
func TestDataScopeViews(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	os.MkdirAll(rules, 0o755)
	mimi := strings.NewReplacer("whoami", "mimikatz", "Whoami", "Mimikatz", "7f8a3c1e-0000-4000-8000-000000000001", scopeMimiRuleID,
		"level: medium", "level: critical", "attack.discovery", "attack.credential_access").Replace(whoamiRule)
	who := strings.Replace(whoamiRule, "7f8a3c1e-0000-4000-8000-000000000001", scopeWhoamiRuleID, 1)
	os.WriteFile(filepath.Join(rules, "mimi.yml"), []byte(mimi), 0o644)
	os.WriteFile(filepath.Join(rules, "whoami.yml"), []byte(who), 0o644)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer hook.Close()
	cfg := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfg, []byte("routes:\n  - {field: _host, match: \"signer-*\", partition: wallet}\n"+
		"notify:\n  channels:\n    - {name: soc, type: webhook, url: \""+hook.URL+"\", min_severity: low}\n"), 0o600)
	n := startNode(t, filepath.Join(dir, "data"), "--rules", rules, "--config", cfg, "--no-content")
	defer n.stop()

	mustJSON := n.mustJSON
	caps := `"capabilities":["search","rules","triage"]`
	mustJSON("PUT", "/api/v1/roles/ops", `{"name":"ops",`+caps+`,"partitions":["main"]}`)
	mustJSON("PUT", "/api/v1/roles/devs", `{"name":"devs",`+caps+`,"filter":"NOT _source=wallet-signer"}`)
	principals := []struct{ name, tok string }{
		{"ops", mustJSON("POST", "/api/v1/tokens", `{"role":"ops"}`)["token"].(string)},
		{"devs", mustJSON("POST", "/api/v1/tokens", `{"role":"devs"}`)["token"].(string)},
	}

	// The wallet signer first (opens an incident at once), then the web
	// server, same user.
	n.ingest(t, "?host=signer-01&source=wallet-signer", "", []byte(sysmonEvent(`C:\tools\mimikatz.exe`, `CORP\walletop`, "signer-01")+
		`{"message":"scopeview withdrawal addr=bc1qwalletaddr amount=12"}`+"\n"))
	time.Sleep(300 * time.Millisecond)
	n.ingest(t, "?host=web-01&source=winlogbeat", "", []byte(sysmonEvent(`C:\Windows\System32\whoami.exe`, `CORP\walletop`, "web-01")+
		`{"message":"scopeview request addr=main-addr-1"}`+"\n"))
	// A second signer, another user: an incident of wallet signals only.
	n.ingest(t, "?host=signer-02&source=wallet-signer", "", []byte(sysmonEvent(`C:\tools\mimikatz.exe`, `CORP\vaultadmin`, "signer-02")))
	// A lookup table built from wallet data (and one main row).
	if st, b, _ := n.do("PUT", "/api/v1/lookups/wallet_owners", "", []byte("addr,owner\nbc1qwalletaddr,treasury\nmain-addr-1,shop\n")); st/100 != 2 {
		t.Fatalf("lookup upload: %d %s", st, b)
	}

	// The admin sees both signals in one incident, and the wallet-only one.
	var incID, walletIncID string
	deadline := time.Now().Add(15 * time.Second)
	for incID == "" || walletIncID == "" {
		var incs struct {
			Incidents []struct {
				ID      string
				Signals []struct {
					RuleID string `json:"rule_id"`
				}
			}
		}
		_, b, _ := n.do("GET", "/api/v1/incidents?from=-1h", "", nil)
		json.Unmarshal(b, &incs)
		for _, inc := range incs.Incidents {
			switch len(inc.Signals) {
			case 2:
				incID = inc.ID
			case 1:
				walletIncID = inc.ID
			}
		}
		if len(incs.Incidents) != 2 && time.Now().After(deadline) {
			t.Fatalf("admin incidents: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, b, _ := n.do("GET", "/api/v1/signals?from=-1h", "", nil)
	if !strings.Contains(string(b), scopeMimiRuleID) || !strings.Contains(string(b), scopeWhoamiRuleID) {
		t.Fatalf("admin signals: %s", b)
	}
	// Notifications are queued asynchronously.
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, b, _ := n.do("GET", "/api/v1/notifications", "", nil)
		if strings.Contains(string(b), "incident.") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("admin notifications: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range principals {
		t.Run(p.name, func(t *testing.T) {
			view := func(what, method, path, body string, wantStatus int) []byte {
				t.Helper()
				st, b, _ := n.do(method, path, "", []byte(body), p.tok)
				if st != wantStatus {
					t.Errorf("%s: HTTP %d %s, want %d", what, st, b, wantStatus)
				}
				if m := leaked(b); m != "" {
					t.Errorf("%s leaks wallet data (%q): %s", what, m, b)
				}
				return b
			}
			search := func(what, q string) []byte {
				t.Helper()
				return view(what, "POST", "/api/v1/search", `{"query":`+mustQuote(q)+`,"from":"-1h","limit":10000000}`, 200)
			}
			// Retro-hunt of the wallet rule.
			b := view("hunt", "POST", "/api/v1/rules/"+scopeMimiRuleID+"/hunt", `{"from":"-1h"}`, 200)
			if !strings.Contains(string(b), `"matches":0`) {
				t.Errorf("hunt: %s", b)
			}
			// Export: everything, and the wallet partition by name.
			b = search("export of everything", "*")
			if !strings.Contains(string(b), "main-addr-1") {
				t.Errorf("export misses the main events: %s", b)
			}
			search("export of the wallet partition", "_partition=wallet OR _source=wallet-signer OR _host=signer-01")
			// Lookup: the table may hold wallet values, but rows only come
			// from events the user may read.
			b = search("lookup", `scopeview | parse regex "addr=(?<addr>\S+)" | lookup owner from wallet_owners on addr=addr | fields addr, owner`)
			if !strings.Contains(string(b), `"shop"`) {
				t.Errorf("lookup misses the main row: %s", b)
			}
			view("lookup list", "GET", "/api/v1/lookups", "", 200)
			// Join, subqueries in the search expression and in where.
			search("join", `| join (scopeview | parse regex "addr=(?<addr>\S+)") as a, (scopeview | parse regex "addr=(?<addr>\S+)") as b on a.addr = b.addr | fields a_addr, b_addr`)
			search("subquery", `scopeview [subquery: withdrawal | parse regex "addr=(?<addr>\S+)" | compose addr keywords] | fields _raw`)
			b = search("where subquery", `scopeview | parse regex "addr=(?<addr>\S+)" | where [subquery: withdrawal OR _partition=wallet | parse regex "addr=(?<addr>\S+)" | compose addr] | count`)
			if !strings.Contains(string(b), `"_count":0`) {
				t.Errorf("where subquery on wallet data matched: %s", b)
			}
			search("subquery with its own time range", `* [subquery from=(-1h): _partition=wallet | compose _host] | count`)
			// Signals: the stored signal events and the signals view.
			search("signal events", "_partition=signals")
			b = view("signals", "GET", "/api/v1/signals?from=-1h", "", 200)
			if !strings.Contains(string(b), scopeWhoamiRuleID) {
				t.Errorf("signals: the signal from the web server is missing: %s", b)
			}
			// Incidents: the shared incident with its visible signal only.
			b = view("incidents", "GET", "/api/v1/incidents?from=-1h", "", 200)
			if !strings.Contains(string(b), incID) || strings.Contains(string(b), walletIncID) || strings.Contains(string(b), scopeMimiRuleID) {
				t.Errorf("incidents: %s", b)
			}
			view("wallet incident", "GET", "/api/v1/incidents/"+walletIncID, "", 404)
			view("wallet incident triage", "PATCH", "/api/v1/incidents/"+walletIncID, `{"status":"closed","resolution":"benign"}`, 404)
			b = view("incident", "GET", "/api/v1/incidents/"+incID, "", 200)
			if !strings.Contains(string(b), "outside your data scope") || !strings.Contains(string(b), scopeWhoamiRuleID) {
				t.Errorf("incident: %s", b)
			}
			// The only notification was about the wallet signal alone.
			b = view("notifications", "GET", "/api/v1/notifications", "", 200)
			if strings.Contains(string(b), incID) {
				t.Errorf("notifications: %s", b)
			}
			view("notifications", "GET", "/api/v1/notifications", "", 200)
		})
	}
	// The same views reach the wallet data for the admin.
	for what, q := range map[string]string{
		"export":         "_partition=wallet",
		"where subquery": `scopeview | parse regex "addr=(?<addr>\S+)" | where [subquery: withdrawal | parse regex "addr=(?<addr>\S+)" | compose addr] | fields addr`,
		"lookup":         `scopeview | parse regex "addr=(?<addr>\S+)" | lookup owner from wallet_owners on addr=addr | fields owner`,
	} {
		_, b, _ := n.do("POST", "/api/v1/search", "", []byte(`{"query":`+mustQuote(q)+`,"from":"-1h"}`))
		if leaked(b) == "" {
			t.Errorf("admin %s does not reach the wallet data: %s", what, b)
		}
	}
	if _, b, _ := n.do("POST", "/api/v1/rules/"+scopeMimiRuleID+"/hunt", "", []byte(`{"from":"-1h"}`)); !strings.Contains(string(b), `"matches":2`) {
		t.Errorf("admin hunt: %s", b)
	}
}
