package server_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSecondNodeRefused: a second `mamori server` on a data directory in
// use exits with a clear error instead of writing the same store; after the
// first one stops (or is killed), the directory can be used again. The
// offline `mamori token`/`mamori user` commands are refused likewise.
func TestSecondNodeRefused(t *testing.T) {
	data := t.TempDir()
	a := startNode(t, data)
	_, err := tryStartNode(t, data, nil)
	if err == nil || !strings.Contains(err.Error(), "data directory is in use") {
		a.kill()
		t.Fatalf("second node on the same data: %v, want a data directory in use error", err)
	}
	// The offline administration commands refuse too.
	out, err := exec.Command(binPath, "token", "list", "--data", data).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "data directory is in use") {
		a.kill()
		t.Fatalf("mamori token list on a running node's data: %v\n%s", err, out)
	}
	a.kill() // the kernel drops the lock of a killed process
	b := startNode(t, data)
	b.stop()
}
