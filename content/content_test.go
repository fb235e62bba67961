package content_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/mamori/mamori/content"
	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/detect/sigma"
)

// TestPackLoads: every file of the pack loads and compiles, each rule
// names an ATT&CK tactic, and the stateful rules parse.
func TestPackLoads(t *testing.T) {
	dir := t.TempDir()
	if err := content.Extract(dir); err != nil {
		t.Fatal(err)
	}
	srules, own, errs := detect.LoadStatefulDir(dir)
	for _, err := range errs {
		t.Errorf("stateful: %v", err)
	}
	if len(srules) < 15 {
		t.Errorf("%d stateful rules, want the pack's 15+", len(srules))
	}
	for _, r := range srules {
		if len(detect.TacticsOf(r.Tags)) == 0 {
			t.Errorf("rule %s has no ATT&CK tactic tag", r.ID)
		}
	}
	rs, issues, err := sigma.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var plain []*sigma.Rule
	for _, is := range issues {
		if !own[is.Path] {
			t.Errorf("sigma load: %s", is)
		}
	}
	for _, r := range rs.Rules {
		if !own[r.Path] {
			plain = append(plain, r)
		}
	}
	eng, cissues, err := sigma.Compile(plain, sigma.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range cissues {
		// The tuning filter targets SigmaHQ rules that are not in the pack.
		if !strings.Contains(is.String(), "filter") {
			t.Errorf("sigma compile: %s", is)
		}
	}
	if len(eng.Rules()) < 10 {
		t.Errorf("%d compiled Sigma rules, want the pack's 10+", len(eng.Rules()))
	}
}

// TestPackIsGeneral: the pack names techniques, never indicators: no IP
// addresses, hashes or wallet-like strings.
func TestPackIsGeneral(t *testing.T) {
	ioc := regexp.MustCompile(`\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9a-fA-F]{32,}|[A-Z2-7]{40})\b`)
	err := fs.WalkDir(content.FS, "rules", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := content.FS.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := ioc.FindString(line); m != "" {
				t.Errorf("%s:%d: indicator-like literal %q", p, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
