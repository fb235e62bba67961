package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestCrashRecovery ingests concurrently into the real binary, kills it
// with SIGKILL at random moments, restarts it, and checks that every event
// answered 200 is found exactly once and that verify passes.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs the binary 20+ times; skipped in -short")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	data := t.TempDir()
	var mu sync.Mutex
	acked := map[string]bool{} // ids whose batch was answered 200
	sent := 0
	const cycles, writers = 20, 4
	for c := 0; c < cycles; c++ {
		n := startNode(t, data)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				client := &http.Client{Timeout: 30 * time.Second}
				for b := 0; ; b++ {
					select {
					case <-stop:
						return
					default:
					}
					var body bytes.Buffer
					ids := make([]string, 0, 100)
					for i := 0; i < 20+(b*7+w)%80; i++ {
						id := fmt.Sprintf("c%d-w%d-b%d-i%d", c, w, b, i)
						ids = append(ids, id)
						fmt.Fprintf(&body, `{"_msg":"crashtest event %s","id":"%s","n":%d}`+"\n", id, id, i)
					}
					req, _ := http.NewRequest("POST", n.url("/api/v1/ingest?source=crash"), &body)
					req.Header.Set("Authorization", "Bearer "+adminToken)
					resp, err := client.Do(req)
					if err != nil {
						return // the server died under us: this batch is unacknowledged
					}
					var res struct{ Accepted int }
					derr := json.NewDecoder(resp.Body).Decode(&res)
					resp.Body.Close()
					mu.Lock()
					sent += len(ids)
					if resp.StatusCode == 200 && derr == nil {
						if res.Accepted != len(ids) {
							mu.Unlock()
							t.Errorf("batch accepted %d of %d", res.Accepted, len(ids))
							return
						}
						for _, id := range ids {
							acked[id] = true
						}
					}
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(time.Duration(30+rng.IntN(400)) * time.Millisecond)
		n.kill()
		close(stop)
		wg.Wait()
	}
	n := startNode(t, data)
	rows, _ := n.search("crashtest")
	seen := map[string]int{}
	for _, r := range rows {
		id, _ := r["id"].(string)
		seen[id]++
	}
	lost, dup := 0, 0
	for id := range acked {
		if seen[id] == 0 {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged event %s lost", id)
			}
		}
	}
	for id, k := range seen {
		if k > 1 {
			dup++
			if dup <= 5 {
				t.Errorf("event %s stored %d times", id, k)
			}
		}
	}
	t.Logf("%d cycles: %d events sent, %d acknowledged, %d found, %d lost, %d duplicated", cycles, sent, len(acked), len(seen), lost, dup)
	if len(acked) == 0 {
		t.Fatal("no batch was acknowledged: the test proved nothing")
	}
	n.stop()
	out, errOut, err := runCLI(t, nil, "verify", "--data", data)
	if err != nil {
		t.Fatalf("mamori verify after crashes: %v\n%s%s", err, out, errOut)
	}
}
