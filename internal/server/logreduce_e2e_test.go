package server_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogReduceCorrections: | logreduce groups messages into signatures,
// and a user's template correction stored through the API is applied by
// the next search.
func TestLogReduceCorrections(t *testing.T) {
	n := startNode(t, filepath.Join(t.TempDir(), "data"), "--no-content")
	defer n.stop()
	var b strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "lrtest connection from 10.0.%d.%d closed after %d ms\n", i%5, i, 100+i)
		fmt.Fprintf(&b, "lrtest user u%d logged in from host-%d\n", i, i%3)
	}
	if st, a := n.ingest(t, "?source=app", "", []byte(b.String())); st != 200 || a.Accepted != 120 {
		t.Fatalf("ingest %d %+v", st, a)
	}
	rows, _ := n.search("lrtest | logreduce")
	if len(rows) != 2 {
		t.Fatalf("logreduce rows: %v", rows)
	}
	// Split the login signature by user name prefix: a user template.
	body := `{"templates":[{"template":"lrtest user u1<*> logged in from host-<*>","note":"u1x users"}]}`
	if st, out, _ := n.do("PUT", "/api/v1/logreduce/corrections", "", []byte(body)); st != 200 {
		t.Fatalf("put corrections: %d %s", st, out)
	}
	rows, _ = n.search("lrtest | logreduce")
	if len(rows) != 3 {
		t.Fatalf("after the correction, logreduce rows: %v", rows)
	}
	if st, _, _ := n.do("PUT", "/api/v1/logreduce/corrections", "", []byte(`{"templates":[{"template":""}]}`)); st != 400 {
		t.Errorf("bad corrections accepted: %d", st)
	}
}
