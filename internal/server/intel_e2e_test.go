package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestThreatIntel: events carrying an indicator get threat.* fields and an
// intel signal at ingest; an indicator added later is hunted retroactively.
func TestThreatIntel(t *testing.T) {
	dir := t.TempDir()
	feeds := filepath.Join(dir, "feeds")
	os.MkdirAll(feeds, 0o755)
	os.WriteFile(filepath.Join(feeds, "c2.csv"), []byte("domain,evil-c2.example,scenario C2\n"), 0o644)
	cfg := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfg, []byte("intel:\n  feeds: ["+feeds+"]\n  reload: 200ms\n"), 0o600)
	n := startNode(t, filepath.Join(dir, "data"), "--config", cfg)
	defer n.stop()

	now := strconv.FormatInt(time.Now().Unix(), 10)
	n.ingest(t, "?source=squid&host=proxy01", "", []byte(now+".123 5 10.1.2.3 TCP_TUNNEL/200 1234 CONNECT beacon.evil-c2.example:443 - HIER_DIRECT/203.0.113.9 -\n"+
		now+".500 5 10.1.2.4 TCP_MISS/200 99 GET http://old-bad.example/x - HIER_DIRECT/198.51.100.1 text/html\n"))
	rows, _ := n.search(`threat.indicator.value=evil-c2.example`)
	if len(rows) != 1 || rows[0]["threat.feed"] != "c2.csv" {
		t.Fatalf("enriched rows %v", rows)
	}
	waitSignals := func(substr string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			_, b, _ := n.do("GET", "/api/v1/signals?from=2025-01-01T00:00:00Z", "", nil)
			var s struct {
				Signals []struct{ Title, Kind string }
			}
			json.Unmarshal(b, &s)
			for _, sg := range s.Signals {
				if sg.Kind == "intel" && strings.Contains(sg.Title, substr) {
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no intel signal for %s", substr)
	}
	waitSignals("evil-c2.example")
	// A new indicator for a domain seen before is hunted in stored data.
	os.WriteFile(filepath.Join(feeds, "new.csv"), []byte("domain,old-bad.example\n"), 0o644)
	waitSignals("Retro-hunt")
}
