package server_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// restartRule fires on the third failure of one account within an hour.
const restartRule = `mamori: v1
id: e2e-restart-threshold
title: Repeated failures of one account (restart test)
type: threshold
level: high
filter: event.action=e2e_fail
group_by: [user.name]
window: 1h
threshold: 2
entities: {user.name: user}
`

func failEvent(user string, i int, at time.Time) string {
	b, _ := json.Marshal(map[string]any{
		"@timestamp": at.UTC().Format(time.RFC3339Nano),
		"message":    fmt.Sprintf("authentication failure %d for %s", i, user),
		"event":      map[string]any{"action": "e2e_fail"},
		"user":       map[string]any{"name": user},
	})
	return string(b) + "\n"
}

// restartSignals returns the users of the restart rule's signals.
func restartSignals(t *testing.T, n *node) []string {
	t.Helper()
	st, b, _ := n.do("GET", "/api/v1/signals?from=-24h&limit=1000", "", nil)
	if st != 200 {
		t.Fatalf("signals: HTTP %d: %s", st, b)
	}
	var r struct {
		Signals []struct {
			RuleID   string `json:"rule_id"`
			Entities []struct{ Type, Value string }
		} `json:"signals"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, s := range r.Signals {
		if s.RuleID != "e2e-restart-threshold" {
			continue
		}
		for _, e := range s.Entities {
			if e.Type == "user" {
				users = append(users, e.Value)
				break
			}
		}
	}
	return users
}

// waitDetected waits until live detection has evaluated at least want events.
func waitDetected(t *testing.T, n *node, want float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if detectMetrics(t, n)["mamori_detect_events_total"] >= want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("detection evaluated %v events within 30s, want %v\n%s", detectMetrics(t, n)["mamori_detect_events_total"], want, n.logs)
}

// waitSignals waits until the restart rule's signals number want.
func waitSignals(t *testing.T, n *node, want int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := restartSignals(t, n)
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStatefulSurvivesKill: a threshold window that spans a kill -9 still
// fires exactly once after the restart (the events after the last state
// snapshot are replayed from the store), and a signal raised just before
// the kill is not raised again by the replay (#6).
func TestStatefulSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts the binary three times; skipped in -short")
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rules, "restart.yml"), []byte(restartRule), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	args := []string{"--rules", rules, "--no-content"}
	t0 := time.Now().Add(-10 * time.Minute)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	post := func(n *node, body string) {
		t.Helper()
		if st, a := n.ingest(t, "?source=e2e-auth", "", []byte(body)); st != 200 || a.Rejected != 0 {
			t.Fatalf("ingest: HTTP %d %+v", st, a)
		}
	}

	// 1. The first failure of alice, then a clean stop: the snapshot
	// covers it.
	n := startNode(t, data, args...)
	post(n, failEvent("alice", 1, at(0)))
	waitDetected(t, n, 1)
	n.stop()

	// 2. Alice's second failure, and three of bob's (his signal is
	// stored), then kill -9 long before the next periodic snapshot.
	n = startNode(t, data, args...)
	post(n, failEvent("alice", 2, at(1)))
	post(n, failEvent("bob", 1, at(2))+failEvent("bob", 2, at(3))+failEvent("bob", 3, at(4)))
	waitDetected(t, n, 4)
	if got := waitSignals(t, n, 1); len(got) != 1 || got[0] != "bob" {
		t.Fatalf("before the kill: signals for %v, want [bob]", got)
	}
	n.kill()

	// 3. Restart: alice's third failure completes a window that spans the
	// kill; bob's signal stays single.
	n = startNode(t, data, args...)
	post(n, failEvent("alice", 3, at(5)))
	waitSignals(t, n, 2)
	time.Sleep(time.Second) // a duplicate would come with the replay, which ran before the live event
	got := restartSignals(t, n)
	counts := map[string]int{}
	for _, u := range got {
		counts[u]++
	}
	if counts["alice"] != 1 || counts["bob"] != 1 || len(got) != 2 {
		t.Errorf("after the restart: signals for %v, want alice and bob once each", got)
	}
	n.stop() // the logs are complete once the process exited
	if !strings.Contains(n.logs.String(), "replayed events received after the stateful snapshot") {
		t.Errorf("no replay logged:\n%s", n.logs)
	}
}
