package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildStore writes a small store with two parts and returns its dir and
// part file paths.
func buildStore(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	s := openTest(t, testOptions(dir))
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := s.Append(ctx, testEvents(i*300, 300)); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	parts, _ := filepath.Glob(filepath.Join(dir, partsDir, "*", "*", "*.part"))
	if len(parts) != 2 {
		t.Fatalf("%d parts", len(parts))
	}
	verifyOK(t, dir)
	return dir, parts
}

func TestVerifyDetects(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string, parts []string) string // returns the file to be named
		want   string
	}{
		{"flip byte in column", func(t *testing.T, dir string, parts []string) string {
			flip(t, parts[0], 100)
			return parts[0]
		}, "checksum"},
		{"flip byte in index", func(t *testing.T, dir string, parts []string) string {
			st, _ := os.Stat(parts[1])
			flip(t, parts[1], st.Size()-footerSize-5)
			return parts[1]
		}, "checksum"},
		{"truncate part", func(t *testing.T, dir string, parts []string) string {
			st, _ := os.Stat(parts[0])
			os.Truncate(parts[0], st.Size()-10)
			return parts[0]
		}, "truncated"},
		{"delete part", func(t *testing.T, dir string, parts []string) string {
			os.Remove(parts[1])
			return parts[1]
		}, "missing"},
		{"extra part", func(t *testing.T, dir string, parts []string) string {
			p := filepath.Join(dir, partsDir, "main", "20260105", filepath.Base(parts[0]))
			b, _ := os.ReadFile(parts[0])
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, b, 0o644) // a copy where no commit put it
			return p
		}, "not referenced"},
		{"edit manifest", func(t *testing.T, dir string, parts []string) string {
			p := filepath.Join(dir, manifestName)
			b, _ := os.ReadFile(p)
			s := strings.Replace(string(b), `"rows":`, `"rows":1`, 1)
			os.WriteFile(p, []byte(s), 0o644)
			return p
		}, "hash chain broken"},
		{"drop manifest line", func(t *testing.T, dir string, parts []string) string {
			p := filepath.Join(dir, manifestName)
			b, _ := os.ReadFile(p)
			i := strings.IndexByte(string(b), '\n')
			os.WriteFile(p, b[i+1:], 0o644)
			return p
		}, "hash chain broken"},
		{"corrupt wal", func(t *testing.T, dir string, parts []string) string {
			segs, _ := filepath.Glob(filepath.Join(dir, walDir, "*.wal"))
			// Write a second segment so the first one's damage is not a tail.
			os.WriteFile(filepath.Join(dir, walDir, "00000000000000ff.wal"), []byte("MAMWAL01"), 0o644)
			flip(t, segs[0], 20)
			return segs[0]
		}, "wal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, parts := buildStore(t)
			if c.name == "corrupt wal" {
				// Leave WAL records behind: append without flushing, then crash.
				s := openTest(t, testOptions(dir))
				s.Append(context.Background(), testEvents(600, 10))
				abandon(s)
			}
			file := c.damage(t, dir, parts)
			rep, err := Verify(dir)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range rep.Problems {
				if p.File == file && strings.Contains(p.String(), c.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("Verify problems %v do not name %s with %q", rep.Problems, file, c.want)
			}
		})
	}
}

func flip(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x5a
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesBrokenManifest(t *testing.T) {
	dir, _ := buildStore(t)
	p := filepath.Join(dir, manifestName)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `"op":"flush"`, `"op":"flusH"`, 1)), 0o644)
	if _, err := Open(testOptions(dir)); err == nil || !strings.Contains(err.Error(), "manifest") {
		t.Fatalf("Open over an edited manifest = %v", err)
	}
}

func TestTornManifestTail(t *testing.T) {
	dir, _ := buildStore(t)
	p := filepath.Join(dir, manifestName)
	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("abc123 {\"seq\":")
	f.Close()
	rep, _ := Verify(dir)
	if !rep.OK() || len(rep.Notes) != 1 {
		t.Fatalf("Verify: problems %v notes %v", rep.Problems, rep.Notes)
	}
	s := openTest(t, testOptions(dir))
	checkIDs(t, readAll(t, s, Query{}), 600)
	s.Close()
	verifyOK(t, dir)
}

// TestVerifyLive runs Verify while appends, flushes and merges go on: it
// must report no problems (notes are fine).
func TestVerifyLive(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.MergeMinParts = 2
	opts.WALSegmentBytes = 4096
	s := openTest(t, opts)
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 30; i++ {
			if err := s.Append(ctx, testEvents(i*40, 40)); err != nil {
				t.Error(err)
				return
			}
			if err := s.Flush(ctx); err != nil {
				t.Error(err)
			}
			if i%3 == 2 {
				if err := s.Merge(ctx); err != nil {
					t.Error(err)
				}
			}
		}
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		rep, err := Verify(dir)
		if err != nil {
			t.Fatalf("Verify on a live store: %v", err)
		}
		if !rep.OK() {
			t.Fatalf("Verify on a live store: %v", rep.Problems)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, dir)
}
