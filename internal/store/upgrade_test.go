package store

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestUpgradeCurrent: parts of the current version are not rewritten, and
// the data reads the same afterwards.
func TestUpgradeCurrent(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, testOptions(dir))
	defer s.Close()
	ctx := context.Background()
	if err := s.Append(ctx, testEvents(0, 500)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := s.Upgrade(ctx)
	if err != nil || n != 0 {
		t.Fatalf("Upgrade = %d, %v; want 0, nil", n, err)
	}
	checkIDs(t, readAll(t, s, Query{}), 500)
}

// TestUpgradeStoreDir rewrites the old parts of the store in
// MAMORI_UPGRADE_STORE (a copy: it is changed in place), for measuring
// new encodings on a large store built by an older writer.
func TestUpgradeStoreDir(t *testing.T) {
	dir := os.Getenv("MAMORI_UPGRADE_STORE")
	if dir == "" {
		t.Skip("set MAMORI_UPGRADE_STORE to a copy of a store directory to upgrade it")
	}
	opts := Options{Dir: dir}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n, err := s.Upgrade(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rewrote %d parts in %v", n, time.Since(start))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
