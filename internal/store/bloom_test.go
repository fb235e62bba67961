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
