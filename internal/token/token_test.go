package token

import (
	"reflect"
	"testing"
)

func TestTokens(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		if got := Tokens(in); !reflect.DeepEqual(got, want) {
			t.Errorf("Tokens(%q) = %q, want %q", in, got, want)
		}
	}
	f("Failed password for root", "failed", "password", "for", "root")
	f("from 203.0.113.77:22", "from", "203", "0", "113", "77", "203.0.113.77", "22")
	f("1.2.3.4.5", "1", "2", "3", "4", "1.2.3.4", "5", "2.3.4.5")
	f("a..b", "a", "b")
	f("zack.hill@ex", "zack", "hill", "ex")
	f("")
	f("ÄÖ über_x", "ÄÖ", "über_x")
}

func TestPruneTokens(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		if got := PruneTokens(in); !reflect.DeepEqual(got, want) {
			t.Errorf("PruneTokens(%q) = %q, want %q", in, got, want)
		}
	}
	f("203.0.113.77", "203", "0", "113", "77", "203.0.113.77")
	f("fail*")
	f("fail* password", "password")
	f("*word for root*", "for")
	f("Invalid User", "invalid", "user")
}

func TestMatch(t *testing.T) {
	f := func(text, term string, want bool) {
		t.Helper()
		if got := Match(text, term); got != want {
			t.Errorf("Match(%q, %q) = %v, want %v", text, term, got, want)
		}
	}
	f("Failed password", "failed", true)
	f("Failed password", "fail", false)
	f("from 203.0.113.77:22", "203.0.113.77", true)
	f("from 1203.0.113.77", "203.0.113.77", false)
	f("a=b", "=b", true)
	f("x", "", true)
}

// TestMatchImpliesTokens checks the package contract on a few samples.
func TestMatchImpliesTokens(t *testing.T) {
	texts := []string{"ssh from 10.1.2.3.4 port 22", "Failed password for invalid user root", "GET /a/b?c=1 HTTP/1.1"}
	terms := []string{"10.1.2.3", "2.3.4", "invalid user", "password for", "/a/b", "HTTP/1.1", "c=1"}
	for _, tx := range texts {
		have := map[string]bool{}
		Each(tx, nil, func(b []byte) { have[string(b)] = true })
		for _, tm := range terms {
			if !Match(tx, tm) {
				continue
			}
			for _, tok := range PruneTokens(tm) {
				if !have[tok] {
					t.Errorf("Match(%q, %q) but token %q not in text tokens", tx, tm, tok)
				}
			}
		}
	}
}

func FuzzMatchImpliesTokens(f *testing.F) {
	f.Add("ssh from 10.1.2.3.4 port 22", "2.3.4")
	f.Add("Failed password for invalid user root", "invalid user")
	f.Fuzz(func(t *testing.T, text, term string) {
		if !Match(text, term) {
			return
		}
		have := map[string]bool{}
		Each(text, nil, func(b []byte) { have[string(b)] = true })
		for _, tok := range PruneTokens(term) {
			if !have[tok] {
				t.Fatalf("Match(%q, %q) but token %q not in text tokens", text, term, tok)
			}
		}
	})
}
