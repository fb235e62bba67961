package scenario

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSlicesOrderAndPost(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for f := range Files {
		write(f, "")
	}
	write("exchange_app.ndjson", `{"_time":"2026-01-01T00:50:00Z","_msg":"late"}`+"\n"+`{"_time":"2026-01-01T00:05:00Z","_msg":"early"}`+"\n\n")
	write("cloudtrail.ndjson", `{"eventTime":"2026-01-01T00:10:00Z","eventName":"ConsoleLogin"}`+"\n")
	bodies, total, err := Slices(dir, 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(bodies) != 3 {
		t.Fatalf("total %d, bodies %d: %+v", total, len(bodies), bodies)
	}
	// Slice 00:00-00:20 holds cloudtrail and the early app line (files in
	// name order), then 00:40-01:00 the late one.
	if bodies[0].File != "cloudtrail.ndjson" || !strings.Contains(string(bodies[1].Data), "early") || !strings.Contains(string(bodies[2].Data), "late") {
		t.Fatalf("order: %s %q %q", bodies[0].File, bodies[1].Data, bodies[2].Data)
	}
	if bodies[0].Path != "/api/v1/ingest?source=cloudtrail&format=cloudtrail" {
		t.Errorf("path %q", bodies[0].Path)
	}
	calls := 0
	err = Post(bodies, func(path string, body []byte) (int, []byte) {
		calls++
		if calls == 1 {
			return http.StatusTooManyRequests, nil // retried
		}
		return http.StatusOK, nil
	})
	if err != nil || calls != 4 {
		t.Fatalf("post: %v after %d calls", err, calls)
	}
	if err := Post(bodies, func(string, []byte) (int, []byte) { return 400, []byte("bad") }); err == nil || !strings.Contains(err.Error(), "HTTP 400: bad") {
		t.Errorf("a failed request: %v", err)
	}
	if _, _, err := Slices(t.TempDir(), time.Minute); err == nil {
		t.Error("a folder without the files gave no error")
	}
}
