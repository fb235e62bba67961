package query

import (
	"slices"
	"testing"
)

// TestRawCheckShape pins rawLeftOut's once-per-search decision: a
// phrase of words (no digit: it may lie in the literal text) skips the
// refs-summary check; needles keep it, with their terms.
func TestRawCheckShape(t *testing.T) {
	for _, c := range []struct {
		query string
		want  []string // nil: skipped
	}{
		{`"Failed password for invalid user" | count`, nil},
		{`"Failed password for invalid user"`, nil},
		{`sshd`, nil},
		{`sshd ` + needleTestHash, nil}, // one term without a digit: no block passes
		{needleTestHash, []string{needleTestHash}},
		{needleTestHash + ` | count`, []string{needleTestHash}},
		{`"203.0.113.77"`, []string{"203.0.113.77"}},
		{`"203.0.113.77" OR ` + needleTestHash, []string{"203.0.113.77", needleTestHash}},
		{`9f86d08*`, nil}, // wildcard
	} {
		p, err := newPlan(MustParse(c.query), &Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		var rc rawCheck
		got := rc.terms(p)
		if !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("%s: terms %q, want %q", c.query, got, c.want)
		}
		if again := rc.terms(p); !slices.Equal(again, got) {
			t.Errorf("%s: second call %q, first %q", c.query, again, got)
		}
	}
}
