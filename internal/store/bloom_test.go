package store

import (
	"testing"

	"github.com/mamori/mamori/internal/token"
)

func checkTokenHash(t *testing.T, s string) {
	t.Helper()
	var want, got []uint64
	token.Each(s, nil, func(b []byte) { want = append(want, hashToken(b)) })
	eachTokenHash(s, func(h uint64) { got = append(got, h) })
	if len(got) != len(want) {
		t.Fatalf("eachTokenHash(%q) gave %d hashes, token.Each %d", s, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("eachTokenHash(%q) hash %d differs", s, i)
		}
	}
}

func TestTokenHashMatchesTokenEach(t *testing.T) {
	for _, s := range []string{"", "a", "Failed password for root from 203.0.113.77 port 22",
		"1.2.3.4.5.6", "x 10.0.0.1:80 ÄÖ ünï", "CORP\\Ivan.Collins", "1.2.3", "..1.2.3.4..",
		string(make([]byte, 300)) + "abc", "a" + string(make([]byte, 0)) + "\xff\xfe"} {
		checkTokenHash(t, s)
	}
}

func FuzzTokenHash(f *testing.F) {
	f.Add("Failed password for root from 203.0.113.77 port 22")
	f.Add("1.2.3.4.5 AbC_9 \xc3\xa4")
	f.Fuzz(func(t *testing.T, s string) { checkTokenHash(t, s) })
}

func TestBloom(t *testing.T) {
	var bb bloomBuilder
	bb.reset()
	for i := 0; i < 300; i++ {
		bb.addHash(hashString(string(rune('a'+i%26)) + string(rune('0'+i/26))))
	}
	f := bb.finish(nil)
	for i := 0; i < 300; i++ {
		if !bloomHas(f, hashString(string(rune('a'+i%26))+string(rune('0'+i/26)))) {
			t.Fatalf("false negative for %d", i)
		}
	}
	fp := 0
	for i := 0; i < 10000; i++ {
		if bloomHas(f, hashString("absent"+string(rune(i)))) {
			fp++
		}
	}
	if fp > 100 {
		t.Errorf("false positive rate %d/10000", fp)
	}
	if !bloomHas(nil, 1) || !bloomHas([]byte{1, 2, 3}, 1) {
		t.Error("malformed filters must not prune")
	}
}

// checkCovered checks the claim coveredAt relies on: a substring of raw at
// word boundaries has no token that raw lacks.
func checkCovered(t *testing.T, raw string, p, n int) {
	t.Helper()
	if p < 0 || n < 0 || p+n > len(raw) || !coveredAt(raw, p, n) {
		return
	}
	have := map[uint64]bool{}
	eachTokenHash(raw, func(h uint64) { have[h] = true })
	sub := raw[p : p+n]
	eachTokenHash(sub, func(h uint64) {
		if !have[h] {
			t.Fatalf("token of %q (at %d in %q) missing from the raw text's tokens", sub, p, raw)
		}
	})
}

func TestCoveredTokens(t *testing.T) {
	f := func(raw, sub string) {
		t.Helper()
		for p := 0; p+len(sub) <= len(raw); p++ {
			if raw[p:p+len(sub)] == sub {
				checkCovered(t, raw, p, len(sub))
			}
		}
	}
	f("src=10.0.0.1:443 user=Zack.Hill", "10.0.0.1")
	f("1.2.3.4.5.6", "2.3.4.5")
	f("1.2.3.4.5.6", "3.4.5.6")
	f("x 1.22.333.4444.5", "1.22.333")
	f("a..1.2.3.4..b", ".1.2.3.4.")
	f("CORP\\Ivan.Collins logged in", "Ivan.Collins")
	f("ÄÖ ünï-Ünï", "ünï")
	f("user=root", "root")
	if coveredAt("xroot", 1, 4) || coveredAt("rootx", 0, 4) || !coveredAt("root", 0, 4) {
		t.Error("coveredAt boundaries wrong")
	}
}

func FuzzCoveredTokens(f *testing.F) {
	f.Add("src=10.0.0.1:443 user=Zack.Hill", 4, 8)
	f.Add("1.2.3.4.5.6", 2, 7)
	f.Fuzz(func(t *testing.T, raw string, p, n int) { checkCovered(t, raw, p, n) })
}

// eachTokenHash calls fn with the hashes appendTokenHashes gives for s
// (the tests' view of the bloom tokens of a text).
func eachTokenHash(s string, fn func(h uint64)) {
	for _, h := range appendTokenHashes(nil, s) {
		fn(h)
	}
}
