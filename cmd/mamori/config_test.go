package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/server"
)

// TestConfigBlockCache: search.block_cache sets the store's body cache
// bound; 0 turns it off; a bad size is reported under its key.
func TestConfigBlockCache(t *testing.T) {
	for _, c := range []struct {
		yaml string
		want int64
		bad  string
	}{
		{"search: {timeout: 5m}\n", 0, ""},
		{"search: {block_cache: 128MB}\n", 128e6, ""},
		{"search: {block_cache: 0}\n", -1, ""},
		{"search: {block_cache: lots}\n", 0, "search.block_cache"},
	} {
		path := filepath.Join(t.TempDir(), "mamori.yml")
		if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		var o server.Options
		err := loadConfig(path, &o, &logConfig{})
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("%q: error %v, want one naming %s", c.yaml, err, c.bad)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.yaml, err)
		}
		if o.Store.BodyCacheBytes != c.want {
			t.Errorf("%q: BodyCacheBytes %d, want %d", c.yaml, o.Store.BodyCacheBytes, c.want)
		}
	}
}
