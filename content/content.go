package content

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FS holds the rule files, under rules/.
//
//go:embed rules
var FS embed.FS

// Extract writes the rule files into dir (created; files there are
// replaced), so rule loaders that read folders can load the pack.
func Extract(dir string) error {
	return fs.WalkDir(FS, "rules", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel("rules", filepath.FromSlash(p))
		if err != nil {
			return fmt.Errorf("extract content %s: %w", p, err)
		}
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return fmt.Errorf("extract content: %w", err)
			}
			return nil
		}
		b, err := FS.ReadFile(p)
		if err != nil {
			return fmt.Errorf("extract content %s: %w", p, err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			return fmt.Errorf("extract content: %w", err)
		}
		return nil
	})
}
