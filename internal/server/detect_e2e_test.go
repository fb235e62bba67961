package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"

	"encoding/json"
	"github.com/mamori/mamori/internal/alert"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const whoamiRule = `title: Whoami Execution
id: 7f8a3c1e-0000-4000-8000-000000000001
status: test
level: medium
tags: [attack.discovery, attack.t1033]
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\whoami.exe'
  condition: selection
`

func sysmonEvent(image, user, host string) string {
	b, _ := json.Marshal(map[string]any{
		"@timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"message":    "Process Create: " + image,
		"winlog": map[string]any{"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 1, "computer_name": host,
			"event_data": map[string]any{"Image": image, "CommandLine": image + " /all", "User": user}},
	})
	return string(b) + "\n"
}

// TestDetectionEndToEnd: rules from a folder fire on ingested events and
// the signals are listed; uploads, tests, enable/disable and retro-hunts
// work through the API.
func TestDetectionEndToEnd(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	os.MkdirAll(rules, 0o755)
	os.WriteFile(filepath.Join(rules, "whoami.yml"), []byte(whoamiRule), 0o644)
	hooks := make(chan []byte, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if alert.VerifySignature("hooksecret", r.Header.Get("X-Mamori-Timestamp"), r.Header.Get("X-Mamori-Signature"), b) {
			hooks <- b
		}
	}))
	defer hook.Close()
	cfg := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfg, []byte("detection_queue: 8MB\nnotify:\n  channels:\n    - {name: soc, type: webhook, url: \""+hook.URL+"\", secret: hooksecret, min_severity: high}\n"), 0o600)
	n := startNode(t, filepath.Join(dir, "data"), "--rules", rules, "--config", cfg, "--no-content")
	defer n.stop()

	n.ingest(t, "?source=winlogbeat", "", []byte(
		sysmonEvent(`C:\Windows\System32\whoami.exe`, `CORP\alice`, "ws-01")+
			sysmonEvent(`C:\Windows\System32\whoami.exe`, `CORP\alice`, "ws-01")+ // suppressed repeat
			sysmonEvent(`C:\Windows\System32\notepad.exe`, `CORP\bob`, "ws-02")))

	var sigs struct {
		Signals []struct {
			RuleID   string `json:"rule_id"`
			Severity string
			Tactics  []string
			Entities []struct{ Type, Value string }
			EventRaw string `json:"event_raw"`
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sigs.Signals) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		_, b, _ := n.do("GET", "/api/v1/signals?from=-1h", "", nil)
		json.Unmarshal(b, &sigs)
	}
	if len(sigs.Signals) != 1 {
		t.Fatalf("signals: %+v", sigs)
	}
	s := sigs.Signals[0]
	ents := map[string]string{}
	for _, e := range s.Entities {
		ents[e.Type] = e.Value
	}
	if s.RuleID != "7f8a3c1e-0000-4000-8000-000000000001" || s.Severity != "medium" || len(s.Tactics) != 1 || s.Tactics[0] != "discovery" ||
		ents["host"] != "ws-01" || ents["user"] != `CORP\alice` || !strings.Contains(s.EventRaw, "whoami") {
		t.Errorf("signal %+v", s)
	}

	// Upload with an error: 400 with the problem.
	st, b, _ := n.do("POST", "/api/v1/rules", "", []byte("title: broken\nid: x1\nlogsource: {product: windows}\ndetection:\n  sel: {Image: a}\n  condition: sel and missing\n"))
	if st != 400 || !strings.Contains(string(b), "missing") {
		t.Errorf("bad rule upload: %d %s", st, b)
	}
	// A good upload, a rule test, a retro-hunt.
	notepad := strings.NewReplacer("whoami", "notepad", "Whoami", "Notepad", "000000000001", "000000000002").Replace(whoamiRule)
	st, b, _ = n.do("POST", "/api/v1/rules", "", []byte(notepad))
	if st != 201 {
		t.Fatalf("upload: %d %s", st, b)
	}
	req, _ := json.Marshal(map[string]any{"rule": notepad, "events": []json.RawMessage{json.RawMessage(sysmonEvent(`C:\x\notepad.exe`, "u", "h"))}})
	st, b, _ = n.do("POST", "/api/v1/rules/test", "", req)
	if st != 200 || !strings.Contains(string(b), `"matches":1`) {
		t.Errorf("rule test: %d %s", st, b)
	}
	st, b, _ = n.do("POST", "/api/v1/rules/7f8a3c1e-0000-4000-8000-000000000002/hunt", "", []byte(`{"from":"-1h"}`))
	if st != 200 || strings.Count(string(b), `"rule_id"`) != 1 {
		t.Errorf("retro-hunt: %d %s", st, b)
	}
	// Disable, list with hit counts.
	st, _, _ = n.do("PATCH", "/api/v1/rules/7f8a3c1e-0000-4000-8000-000000000001", "", []byte(`{"enabled":false}`))
	if st != 200 {
		t.Errorf("disable: %d", st)
	}
	_, b, _ = n.do("GET", "/api/v1/rules", "", nil)
	var list struct {
		Rules []struct {
			ID      string
			Enabled bool
			Hits    int
		}
	}
	json.Unmarshal(b, &list)
	found := 0
	for _, r := range list.Rules {
		if r.ID == "7f8a3c1e-0000-4000-8000-000000000001" {
			found++
			if r.Enabled || r.Hits != 2 {
				t.Errorf("rule state %+v", r)
			}
		}
	}
	if found != 1 || len(list.Rules) != 2 {
		t.Errorf("rules %s", b)
	}
	// Signals are searchable like logs.
	rows, _ := n.search("_partition=signals severity=medium")
	if len(rows) != 1 {
		t.Errorf("signal search: %v", rows)
	}

	// A critical signal opens an incident at once; triage it.
	mimi := strings.NewReplacer("whoami", "mimikatz", "Whoami", "Mimikatz", "000000000001", "000000000003", "level: medium", "level: critical", "attack.discovery", "attack.credential_access").Replace(whoamiRule)
	if st, b, _ := n.do("POST", "/api/v1/rules", "", []byte(mimi)); st != 201 {
		t.Fatalf("upload: %d %s", st, b)
	}
	n.ingest(t, "?source=winlogbeat", "", []byte(sysmonEvent(`C:\Users\a\mimikatz.exe`, `CORP\alice`, "ws-01")))
	var incs struct {
		Incidents []struct {
			ID, Severity, Status string
			Entities             []struct{ Type, Value string }
			Signals              []struct {
				RuleID string `json:"rule_id"`
			}
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for len(incs.Incidents) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		_, b, _ := n.do("GET", "/api/v1/incidents?from=-1h", "", nil)
		json.Unmarshal(b, &incs)
	}
	if len(incs.Incidents) != 1 || incs.Incidents[0].Severity != "critical" || incs.Incidents[0].Status != "new" || len(incs.Incidents[0].Signals) < 2 {
		t.Fatalf("incidents: %+v", incs)
	}
	id := incs.Incidents[0].ID
	st, b, _ = n.do("PATCH", "/api/v1/incidents/"+id, "", []byte(`{"status":"in_progress","assignee":"alice","comment":"looking"}`))
	if st != 200 || !strings.Contains(string(b), `"in_progress"`) {
		t.Errorf("triage: %d %s", st, b)
	}
	if st, _, _ := n.do("PATCH", "/api/v1/incidents/"+id, "", []byte(`{"status":"done"}`)); st != 400 {
		t.Errorf("bad status: %d", st)
	}
	// The incident was announced on the signed webhook.
	select {
	case b := <-hooks:
		if !strings.Contains(string(b), `"incident.created"`) || !strings.Contains(string(b), id) {
			t.Errorf("webhook payload %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Error("no webhook notification for the incident")
	}
}
