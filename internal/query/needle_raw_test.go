package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

const needleTestHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// blobHash is only in the raw text of rows of refsNeedleEvents, split by
// a reference to a field holding a piece of it.
const blobHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// absentTerm is longer than any variable of refsNeedleEvents.
var absentTerm = strings.Repeat("ffffeeee0000", 6)

// refsNeedleEvents makes events whose needles (a hash, an address) are field
// values beside clean references, and adversarial rows: the hash after a
// word byte, a pid inside a GUID, the hash as a variable, a piece of it
// as a field with the whole in the text (in the second stream only), a
// term across a value's edge through '-', the hash split by a reference
// to a field holding a piece of it, a dotted quad in the literal text,
// upper case. Blocks of 8,192 rows then carry refs summaries
// (framed variables, grouped heads).
func refsNeedleEvents(n int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 13))
	hex := func(k int) string {
		b := make([]byte, k)
		for i := range b {
			b[i] = "0123456789abcdef"[rng.IntN(16)]
		}
		return string(b)
	}
	hashes := make([]string, 40)
	for i := range hashes {
		hashes[i] = hex(64)
	}
	ips := []string{"10.0.0.1", "10.1.2.3", "192.168.7.9", "172.16.0.4", "10.0.113.77"}
	users := []string{"root", "bob7", "alice", "svc_9f86", "admin"}
	shapes := []string{
		"%T %H app[%P]: file sha256=%S size=%N",
		"%T %H app[%P]: obj_%S bin written",
		"%T %H app[%P]: guid={%G%P%G} done",
		"%T %H sshd[%P]: Failed password for %U from %I port %N ssh2",
		"%T %H app[%P]: token %X done",
		"%T %H app[%P]: conn %I:%N -> %J:%N",
		"%T %H app[%P]: part=%Q whole=%W",
		"%T %H app[%P]: key=ab12-%C",
		"%T %H kernel: [%N.%N] eth0 %K/%N",
		"%T %H app[%P]: blob %B end",
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := make([]event.Event, n)
	for i := range evs {
		host := []string{"db-1.corp", "app-9f86.corp"}[i%2]
		// Few rows of dirty skeletons (a search checks their values)
		// and of long variables (the filters then hold them), and the
		// dotted quad in the literal text only in the second stream.
		shape := rng.IntN(len(shapes))
		if (shape == 1 || shape == 2 || shape == 6 || shape == 9) && rng.IntN(40) != 0 {
			shape = []int{0, 3, 5}[rng.IntN(3)]
		}
		if shape == 8 && i%2 == 0 {
			shape = 3
		}
		pid := fmt.Sprint(1000 + rng.IntN(1000))
		sha, ip, ip2 := hashes[rng.IntN(len(hashes))], ips[rng.IntN(len(ips))], ips[rng.IntN(len(ips))]
		if rng.IntN(150) == 0 {
			sha = needleTestHash
		}
		if rng.IntN(200) == 0 {
			sha = strings.ToUpper(needleTestHash)
		}
		if rng.IntN(150) == 0 {
			ip = "203.0.113.77"
		}
		user := users[rng.IntN(len(users))]
		// The hash as a variable only in the second stream's rows.
		tok := hex(12)
		if i%2 == 1 && rng.IntN(100) == 0 {
			tok = needleTestHash
		}
		whole := hashes[rng.IntN(len(hashes))]
		if i%2 == 1 && rng.IntN(50) == 0 {
			whole = needleTestHash
		}
		kip := ips[rng.IntN(len(ips))]
		if rng.IntN(100) == 0 {
			kip = "203.0.113.77"
		}
		fields := []event.Field{fieldOf("pid", pid)}
		raw := expandShape(shapes[shape], i, func(c byte) string {
			switch c {
			case 'H':
				return host
			case 'P':
				return pid
			case 'S':
				fields = append(fields, fieldOf("sha256", sha))
				return sha
			case 'N':
				return fmt.Sprint(rng.IntN(70000))
			case 'G':
				return []string{"9f86d081", "884c7d65", "a1b2c3d4", "0f00a08"}[rng.IntN(4)]
			case 'U':
				fields = append(fields, fieldOf("user", user))
				return user
			case 'I':
				fields = append(fields, fieldOf("src_ip", ip))
				return ip
			case 'J':
				fields = append(fields, fieldOf("dst_ip", ip2))
				return ip2
			case 'X':
				return tok
			case 'Q':
				fields = append(fields, fieldOf("part", whole[10:30]))
				return whole[10:30]
			case 'W':
				return whole
			case 'C':
				fields = append(fields, fieldOf("c", "cd34"))
				return "cd34"
			case 'K':
				return kip
			case 'B':
				// A field holding a piece of the blob: its reference
				// lands inside the blob's word.
				blob := hashes[rng.IntN(len(hashes))]
				switch {
				case i%2 == 1 && rng.IntN(3) == 0:
					blob = needleTestHash
				case i%2 == 0 && rng.IntN(2) == 0:
					blob = blobHash
				}
				fields = append(fields, fieldOf("frag", blob[10:30]))
				return blob
			}
			return ""
		})
		evs[i] = event.Event{Time: base + int64(i)*int64(time.Second), Host: host, Source: "app", Raw: raw, Fields: fields}
	}
	return evs
}

// TestNeedleRawSame runs needle searches on blocks whose refs summaries
// let the search leave _raw out, and compares every output row with
// plain loads (which read every row's raw text).
func TestNeedleRawSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := refsNeedleEvents(2*8192+600, 1)
	snap := storeSnapshot(t, evs, 8192)
	// The summaries must let some blocks leave _raw out for the hash and
	// the address (else this test checks nothing), and none for terms
	// that cross a value's edge.
	refs, _, err := snap.Blocks(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]int{}
	for _, r := range refs {
		rc, ok := r.(store.RawTermsChecker)
		if !ok {
			continue
		}
		var cols []string
		for _, n := range r.Columns() {
			if !isMetaColumn(n) {
				cols = append(cols, n)
			}
		}
		for _, term := range []string{needleTestHash, "203.0.113.77", "ab12-cd34", "9f86d081884c7d65", absentTerm} {
			ok, err := rc.TermsOnlyInValues([]string{term}, cols)
			if err != nil {
				t.Fatalf("TermsOnlyInValues(%s): %v", term, err)
			}
			if ok {
				left[term]++
			}
		}
	}
	if left[absentTerm] == 0 {
		t.Fatalf("no block leaves _raw out for an absent term: %v", left)
	}
	if left["ab12-cd34"] > 0 {
		t.Fatalf("blocks leave _raw out for terms across values' edges: %v", left)
	}
	base := evs[0].Time
	ranges := [][2]int64{{0, 0}, {base + int64(3333*time.Second), base + int64(12222*time.Second)}}
	queries := []string{
		needleTestHash,
		needleTestHash + " | count",
		strings.ToUpper(needleTestHash) + " | count by sha256",
		strings.ToUpper(needleTestHash) + " | count",
		needleTestHash[10:30] + " | count",
		needleTestHash[5:] + " | count",
		`"203.0.113.77" | limit 30`,
		`203.0.113.77 | count by src_ip`,
		`"113.77" | count`,
		`"ab12-cd34" | count`,
		`"9f86d081884c7d65" | count`,
		`9f86 | count`,
		`bob7 | count`,
		`svc_9f86 | count`,
		needleTestHash + ` OR "203.0.113.77" | count`,
		`NOT ` + needleTestHash + ` | count`,
		needleTestHash + ` pid>1500 | count`,
		absentTerm + ` | count`,
		blobHash + ` | count`,
		blobHash + ` | limit 3`,
		needleTestHash + ` | fields _raw, sha256`,
	}
	samePlain(t, snap, queries, ranges, "needle", func(text, want string) bool {
		return (want == "" || want == "{\"_count\":\"0\"}\n") && !strings.Contains(text, absentTerm) && !strings.Contains(text, needleTestHash[10:30]) &&
			!strings.Contains(text, needleTestHash[5:]) && !strings.Contains(text, "9f86d081884c7d65")
	})
	t.Logf("blocks leaving _raw out, by term: %v", left)
}

// TestRawTerms checks which searches may leave _raw out: terms without
// wildcards in any combination, never with a predicate on _raw.
func TestRawTerms(t *testing.T) {
	for _, c := range []struct {
		q     string
		terms []string
		ok    bool
	}{
		{needleTestHash, []string{needleTestHash}, true},
		{`a1 OR NOT "b 2"`, []string{"a1", "b 2"}, true},
		{`a1 user=x`, []string{"a1"}, true},
		{`a1*`, nil, false},
		{`a1 _raw=*x*`, nil, false},
		{`a1 _raw matches /x/`, nil, false},
	} {
		p, err := newPlan(MustParse(c.q), &Options{})
		if err != nil {
			t.Fatal(err)
		}
		terms, ok := rawTerms(p.m, nil)
		if ok != c.ok || ok && !slices.Equal(terms, c.terms) {
			t.Errorf("%s: %q, %v; want %q, %v", c.q, terms, ok, c.terms, c.ok)
		}
	}
}
