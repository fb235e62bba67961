package web

import (
	"os/exec"
	"testing"
)

// TestJSUnits runs the unit tests of the UI's pure functions (query
// tokenizer, completions, filters, time parsing, metrics parsing, shipper
// snippets) with Node.js when it is installed. Node is only a test tool:
// the build never needs it.
func TestJSUnits(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipping the JavaScript unit tests: node is not installed")
	}
	out, err := exec.Command(node, "testdata/units.mjs", "assets/js").CombinedOutput()
	if err != nil {
		t.Fatalf("node testdata/units.mjs: %v\n%s", err, out)
	}
}
