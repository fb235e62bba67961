//go:build !race

package ingest

import (
	"bytes"
	"strings"
	"testing"
)

// Not under the race detector, whose sync.Pool drops items at random.

// TestDecodeLinesAllocs bounds the allocations per JSON line: the line's
// string, the escaped values, and the amortized field and event arrays.
func TestDecodeLinesAllocs(t *testing.T) {
	var body strings.Builder
	const n = 2000
	for i := 0; i < n; i++ {
		body.WriteString(`{"_time":"2026-01-01T00:00:00.204747131Z","_msg":"Accepted password for bob from 198.51.100.7 port 61091 ssh2","host":"lnx-024","app":"sshd","user":"CORP\\bob","src_ip":"198.51.100.7","event_id":"ssh_login","pid":"25460"}` + "\n")
	}
	data := []byte(body.String())
	allocs := testing.AllocsPerRun(5, func() {
		evs, _, err := DecodeLines(bytes.NewReader(data), LineOptions{Now: func() int64 { return 1 }})
		if err != nil || len(evs) != n {
			t.Fatal(err, len(evs))
		}
	})
	if perLine := allocs / n; perLine > 2.5 {
		t.Errorf("%.2f allocations per line, want at most 2.5", perLine)
	}
}
