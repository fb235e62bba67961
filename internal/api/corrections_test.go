package api

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCorrectionsGet checks that corrections are read from the file once,
// that a missing file is looked for once (searches call get every time),
// and that corrections put afterwards are seen.
func TestCorrectionsGet(t *testing.T) {
	dir := t.TempDir()
	c := &corrections{dir: dir}
	if c.get() != nil || !c.absent {
		t.Fatalf("missing file: absent %v", c.absent)
	}
	body := []byte(`{"templates":[{"template":"user <*> logged in","note":"n"}]}`)
	// Written behind the server's back: not looked for again.
	if err := os.WriteFile(filepath.Join(dir, "corrections.json"), body, 0o600); err != nil {
		t.Fatal(err)
	}
	if c.get() != nil {
		t.Error("the missing file was looked for again")
	}
	// A server started with the file reads it once and keeps it.
	c2 := &corrections{dir: dir}
	got := c2.get()
	if got == nil || c2.absent {
		t.Fatalf("present file: %v, absent %v", got, c2.absent)
	}
	if err := os.Remove(filepath.Join(dir, "corrections.json")); err != nil {
		t.Fatal(err)
	}
	if c2.get() != got {
		t.Error("the kept corrections were read again")
	}
	// A put (which sets cur) wins over a file found missing.
	c.mu.Lock()
	c.cur = got
	c.mu.Unlock()
	if c.get() != got {
		t.Error("corrections put after a missing file are not seen")
	}
}
