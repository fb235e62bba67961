package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDetectionCatchUpExactlyOnce runs a real server (in process, on
// 127.0.0.1) whose live detection queue holds one batch, and sends a burst
// of concurrent ingest requests: most batches do not fit the queue, are
// recorded in gaps and read back from the store. Every matching event must
// raise its signal exactly once, and /metrics must show the catch-ups and
// no dropped event. (#5)
func TestDetectionCatchUpExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rules, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rules, "m.yml"), []byte("mamori: v1\nid: catchup-m\ntype: match\nlevel: high\nfilter: event.action=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "catchup-admin"
	addrc := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{DataDir: filepath.Join(dir, "data"), HTTPAddr: "127.0.0.1:0", AdminToken: token, RuleDirs: []string{rules},
			NoContent: true, DetectQueueBytes: 1, Listening: func(a string) { addrc <- a }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("server did not start in 60 s")
	}
	do := func(method, path string, body []byte) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	// The burst: 4 senders, 60 requests of 25 lines each; every third
	// line matches, each with its own user (so suppression keeps all).
	const senders, requests, lines = 4, 60, 25
	want := map[int]bool{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for s := range senders {
		var bodies [][]byte
		for r := range requests {
			var b strings.Builder
			for l := range lines {
				n := (s*requests+r)*lines + l
				action := "y"
				if n%3 == 0 {
					action = "x"
					want[n] = true
				}
				fmt.Fprintf(&b, `{"event":{"action":%q},"user":{"name":"u%d"},"n":%d,"msg":"burst line %d"}`+"\n", action, n, n, n)
			}
			bodies = append(bodies, []byte(b.String()))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, body := range bodies {
				for {
					st, b := do("POST", "/api/v1/ingest?source=burst", body)
					if st == http.StatusTooManyRequests {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					if st != http.StatusOK {
						mu.Lock()
						t.Errorf("ingest: %d %s", st, b)
						mu.Unlock()
					}
					break
				}
			}
		}()
	}
	wg.Wait()

	var sigs struct {
		Signals []struct {
			RuleID   string `json:"rule_id"`
			EventRaw string `json:"event_raw"`
		}
	}
	nRe := regexp.MustCompile(`burst line (\d+)`)
	got := map[int]int{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, b := do("GET", "/api/v1/signals?from=-1h&limit=100000", nil)
		if st != http.StatusOK {
			t.Fatalf("signals: %d %s", st, b)
		}
		sigs.Signals = nil
		if err := json.Unmarshal(b, &sigs); err != nil {
			t.Fatal(err)
		}
		if len(sigs.Signals) >= len(want) || time.Now().After(deadline) {
			time.Sleep(300 * time.Millisecond) // a signal raised twice would show by now
			_, b = do("GET", "/api/v1/signals?from=-1h&limit=100000", nil)
			sigs.Signals = nil
			if err := json.Unmarshal(b, &sigs); err != nil {
				t.Fatal(err)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, s := range sigs.Signals {
		m := nRe.FindStringSubmatch(s.EventRaw)
		if s.RuleID != "catchup-m" || m == nil {
			t.Errorf("unexpected signal %+v", s)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		got[n]++
	}
	for n := range want {
		if got[n] != 1 {
			t.Errorf("event %d raised %d signals, want 1", n, got[n])
		}
	}
	for n, c := range got {
		if !want[n] {
			t.Errorf("event %d (not matching) raised %d signals", n, c)
		}
	}

	_, b := do("GET", "/metrics", nil)
	metric := func(name string) float64 {
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("metric %s absent", name)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v
	}
	caught, gaps := metric("mamori_detect_caught_up_events_total"), metric("mamori_detect_gaps_total")
	if caught == 0 || gaps == 0 {
		t.Errorf("no catch-up happened (caught up %v, gaps %v): the test did not test it", caught, gaps)
	}
	if d, m := metric("mamori_detect_dropped_events_total"), metric("mamori_detect_catchup_missing_events_total"); d != 0 || m != 0 {
		t.Errorf("dropped %v, missing %v", d, m)
	}
	if ev := metric("mamori_detect_events_total"); ev < senders*requests*lines {
		t.Errorf("detected %v events, want %d", ev, senders*requests*lines)
	}
	t.Logf("%d signals; %v gaps, %v events caught up; lag %v s", len(sigs.Signals), gaps, caught, metric("mamori_detect_lag_seconds"))
}
