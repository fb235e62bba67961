package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// refIndexFold is indexFold by lowering both strings (ASCII).
func refIndexFold(s, sub string, from int) int {
	if strings.ContainsFunc(sub, func(r rune) bool { return r >= 0x80 }) || strings.Contains(sub, "\ufffd") {
		return -2
	}
	if from > len(s) {
		return -1
	}
	if j := strings.Index(lowerASCII(s[from:]), lowerASCII(sub)); j >= 0 {
		return from + j
	}
	return -1
}

// TestIndexFold checks indexFold against lowering both strings on random
// hex-like and mixed texts, from every start: subs with a run of two or
// more non-letters take the run's search, the others the anchor's.
func TestIndexFold(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	alpha := []string{"0123456789abcdef", "0123456789ABCDEFabcdef", "ab01-. Z", "aA0"}
	runs := 0
	for round := range 3000 {
		al := alpha[round%len(alpha)]
		s := make([]byte, rng.IntN(200))
		for i := range s {
			s[i] = al[rng.IntN(len(al))]
		}
		var sub string
		if len(s) > 0 && rng.IntN(3) > 0 {
			i := rng.IntN(len(s))
			sub = string(s[i:min(len(s), i+1+rng.IntN(12))])
			if rng.IntN(2) == 0 {
				sub = strings.ToUpper(sub)
			}
		} else {
			b := make([]byte, 1+rng.IntN(6))
			for i := range b {
				b[i] = al[rng.IntN(len(al))]
			}
			sub = string(b)
		}
		if n := 0; true {
			for i := 0; i < len(sub); i++ {
				if isASCIILetter(sub[i]) {
					n = 0
				} else if n++; n == 2 {
					runs++
					break
				}
			}
		}
		for from := 0; from <= len(s)+1; from++ {
			if got, want := indexFold(string(s), sub, from), refIndexFold(string(s), sub, from); got != want {
				t.Fatalf("indexFold(%q, %q, %d) = %d, want %d", s, sub, from, got, want)
			}
		}
	}
	if runs < 500 {
		t.Errorf("%d subs with a run of non-letters, want 500 or more", runs)
	}
	if got := indexFold("abc", "é", 0); got != -2 {
		t.Errorf("non-ASCII sub: %d, want -2", got)
	}
}

func FuzzIndexFold(f *testing.F) {
	f.Add("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "c7D659", 3)
	f.Add("203.0.113.77 x203.0.113.7", "113.77", 0)
	f.Fuzz(func(t *testing.T, s, sub string, from int) {
		if from < 0 || from > len(s)+2 {
			return
		}
		if got, want := indexFold(s, sub, from), refIndexFold(s, sub, from); got != want {
			t.Fatalf("indexFold(%q, %q, %d) = %d, want %d", s, sub, from, got, want)
		}
	})
}

// TestTermDictColumnFinds checks termDictColumn, which matches only the
// values holding a find of a text, against decoding every row: texts
// found in some values, across two values (over the length byte between
// them), in none, several texts at once, and one not ASCII (every value
// matched).
func TestTermDictColumnFinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	var kept, reuse []string
	crossing := 0
	for round := range 400 {
		pool := make([]string, 2+rng.IntN(300))
		for i := range pool {
			b := make([]byte, 1+rng.IntN(9))
			for j := range b {
				b[j] = "ab0-\x03"[rng.IntN(5)]
			}
			pool[i] = string(b)
		}
		rows := 50 + rng.IntN(500)
		vals := make([]string, rows)
		for i := range vals {
			if rng.IntN(7) > 0 {
				vals[i] = pool[rng.IntN(len(pool))]
			}
		}
		kind, body, err := chunkBodyTo(encodeColumn(nil, vals, nil, levelFast), nil)
		if err != nil {
			t.Fatal(err)
		}
		if kind != kindDict {
			continue
		}
		var texts []string
		for range 1 + rng.IntN(3) {
			switch rng.IntN(6) {
			case 0:
				texts = append(texts, "zz")
			case 1:
				texts = append(texts, "é0")
			case 2: // across two values of the dictionary
				p, q := pool[rng.IntN(len(pool))], pool[rng.IntN(len(pool))]
				texts = append(texts, p[len(p)-1:]+string(rune(len(q)))+q[:1])
				crossing++
			default:
				v := pool[rng.IntN(len(pool))]
				i := rng.IntN(len(v))
				texts = append(texts, strings.ToUpper(v[i:min(len(v), i+1+rng.IntN(3))]))
			}
		}
		match := substrMatch(texts)
		want, wantLacks, err := refTermDict(kind, body, rows, match)
		if err != nil {
			t.Fatal(err)
		}
		col, lacks, err := termDictColumn(kind, body, rows, texts, match, reuse, &kept)
		if err != nil {
			t.Fatalf("round %d (texts %q): %v", round, texts, err)
		}
		if lacks && !wantLacks || !lacks && !slices.Equal(col.Values, want) {
			t.Fatalf("round %d (texts %q): lacks %v %q, want %v %q", round, texts, lacks, col.Values, wantLacks, want)
		}
		if !lacks {
			reuse = col.Values
		}
	}
	if crossing < 50 {
		t.Errorf("%d texts across values, want 50 or more", crossing)
	}
}

// FuzzTermDictColumnTexts is FuzzTermDictColumn with two texts.
func FuzzTermDictColumnTexts(f *testing.F) {
	_, body, _ := chunkBodyTo(encodeColumn(nil, strings.Split("a1,b2,a1,,a1,b2,b2,a1,1\x02b", ","), nil, levelFast), nil)
	f.Add([]byte(body), uint8(9), "a1", "1\x02b")
	f.Add([]byte(body), uint8(9), "B2", "é")
	f.Fuzz(func(t *testing.T, body []byte, rows uint8, t1, t2 string) {
		texts := []string{t1, t2}
		match := substrMatch(texts)
		want, wantLacks, werr := refTermDict(kindDict, string(body), int(rows), match)
		var kept []string
		col, lacks, err := termDictColumn(kindDict, string(body), int(rows), texts, match, nil, &kept)
		switch {
		case err == nil && werr == nil:
			if lacks && !wantLacks || !lacks && !slices.Equal(col.Values, want) {
				t.Fatalf("lacks %v %q, want %v %q", lacks, col.Values, wantLacks, want)
			}
		case err != nil && werr == nil:
			t.Fatalf("error %v; the decode has none", err)
		case err == nil && werr != nil && !lacks:
			t.Fatalf("no error, the decode's %v", werr)
		}
	})
}

// TestIndexExact checks indexExact against strings.Index on random texts
// of few bytes (many candidates of the first two bytes) from every start.
func TestIndexExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for round := range 3000 {
		// Dense first bytes (eight positions at a time) and rare ones
		// (hops), in texts long enough for both.
		al := []string{"01a", "0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"}[round%2]
		s := make([]byte, rng.IntN(100+200*(round%2)))
		for i := range s {
			s[i] = al[rng.IntN(len(al))]
		}
		lit := make([]byte, 2+rng.IntN(4))
		for i := range lit {
			lit[i] = "01a"[rng.IntN(3)]
		}
		if round%3 == 0 && len(s) > 4 {
			i := rng.IntN(len(s) - 2)
			lit = s[i:min(len(s), i+2+rng.IntN(5))]
		}
		for from := 0; from <= len(s); from++ {
			want := strings.Index(string(s[from:]), string(lit))
			if want >= 0 {
				want += from
			}
			if got := indexExact(string(s), string(lit), from); got != want {
				t.Fatalf("indexExact(%q, %q, %d) = %d, want %d", s, lit, from, got, want)
			}
		}
	}
}

// BenchmarkIndexFold times indexFold for the needle_term hash on a
// dictionary of hashes (hex: its run of digits has candidates at every
// sixteenth byte or so) and of user names (few), against strings.Index
// of the run alone.
func BenchmarkIndexFold(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var hex, users strings.Builder
	for range 380 {
		hex.WriteByte(64)
		for range 64 {
			hex.WriteByte("0123456789abcdef"[rng.IntN(16)])
		}
		u := fmt.Sprintf("CORP\\%s.%s%d", []string{"grace", "zack", "alice", "bob"}[rng.IntN(4)], []string{"harris", "miller", "smith"}[rng.IntN(3)], rng.IntN(100))
		for range 3 {
			users.WriteByte(byte(len(u)))
			users.WriteString(u)
		}
	}
	const term = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	for _, c := range []struct{ name, s string }{{"hex", hex.String()}, {"users", users.String()}} {
		b.Run(c.name+"/indexFold", func(b *testing.B) {
			b.SetBytes(int64(len(c.s)))
			for range b.N {
				indexFold(c.s, term, 0)
			}
		})
		b.Run(c.name+"/strings.Index", func(b *testing.B) {
			b.SetBytes(int64(len(c.s)))
			for range b.N {
				strings.Index(c.s, "081884")
			}
		})
	}
}
