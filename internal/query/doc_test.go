package query

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocExamples checks that every ```query example in
// docs/query-language.md parses and is a case of a testdata script, which
// runs it against events and compares the rows.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/query-language.md")
	if err != nil {
		t.Skipf("docs/query-language.md not found: %v", err)
	}
	scripts := map[string]bool{}
	files, _ := filepath.Glob("testdata/*.txt")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if q, ok := strings.CutPrefix(strings.TrimSpace(line), "query:"); ok {
				scripts[strings.TrimSpace(q)] = true
			}
		}
	}
	n := 0
	for _, block := range strings.Split(string(doc), "```query\n")[1:] {
		q, _, ok := strings.Cut(block, "```")
		if !ok {
			t.Fatalf("unterminated ```query block: %.60q", block)
		}
		q = strings.TrimSpace(q)
		n++
		if _, err := Parse(q); err != nil {
			t.Errorf("doc example %q: %v", q, err)
		}
		if !scripts[q] {
			t.Errorf("doc example %q is not a query: case in testdata/*.txt", q)
		}
	}
	if n == 0 {
		t.Error("no ```query examples in docs/query-language.md")
	}
}
