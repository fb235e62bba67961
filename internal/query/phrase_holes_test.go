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

// prefixEvents makes events of many skeletons that share their starts
// (a few headers, each followed by many different tails), whose header
// values (app, user, host) are pieces of the searched texts: a match
// may run from a header value into the tail, which differs between
// skeletons that share the header, so the prepass's answers for the
// shared holes (skelScan) must hold for each of them.
//
// With narrow, the headers are `{src} {app} ` and `{src} {app}: ` only,
// src is web and app root or admin: a match through a header value, the
// piece after it and the next value into the tail (`web root password`)
// depends on the tail right after the second value, which differs
// between skeletons of the same header.
func prefixEvents(n int, seed uint64, narrow bool) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 29))
	// Values, and tail words that are no value (a tail word equal to a
	// value would be stored as a reference in some rows: too many
	// skeletons for a block to keep them).
	pieces := []string{"sshd", "web", "Failed", "invalid", "root", "admin", "Failed password for", "user root", "invalid user"}
	words := []string{"password", "for", "nvalid", "user", "from", "ssword", "password for invalid user", "x1", "port", "Failed password"}
	heads := []string{`%T %A[%P]: `, `%T %A: `, `%T %A[%P]: %U `, `%H - %U [%T] "`, `%T %H %A[%P]:`, `%T %H %A `, `%T %H %A: `}
	var tails []string
	for range 14 {
		var parts []string
		for range 1 + rng.IntN(5) {
			switch x := rng.IntN(10); {
			case x < 6:
				parts = append(parts, words[rng.IntN(len(words))])
			case x == 6:
				parts = append(parts, "%U")
			case x == 7:
				parts = append(parts, "%N")
			case x == 8:
				parts = append(parts, "%I")
			default:
				parts = append(parts, "%A")
			}
		}
		tails = append(tails, strings.Join(parts, " "))
	}
	as, hs := pieces, pieces
	if narrow {
		heads, as, hs = []string{`%T %H %A `, `%T %H %A: `}, []string{"root", "admin"}, []string{"web"}
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := make([]event.Event, n)
	for i := range evs {
		shape := heads[rng.IntN(len(heads))] + tails[rng.IntN(len(tails))]
		a, u, h := as[rng.IntN(len(as))], pieces[rng.IntN(len(pieces))], hs[rng.IntN(len(hs))]
		ip := fmt.Sprintf("1%d.0.113.%d", rng.IntN(30), rng.IntN(250))
		raw := expandShape(shape, i, func(c byte) string {
			switch c {
			case 'P':
				return fmt.Sprint(1000 + rng.IntN(50))
			case 'A':
				return a
			case 'U':
				return u
			case 'H':
				return h
			case 'I':
				return ip
			case 'N':
				return fmt.Sprint(rng.IntN(100000))
			}
			return ""
		})
		evs[i] = event.Event{Time: base + int64(i)*int64(time.Second), Host: "web", Source: "auth", Raw: raw,
			Fields: []event.Field{fieldOf("app", a), fieldOf("user", u), fieldOf("src", h), fieldOf("src_ip", ip)}}
	}
	return evs
}

// TestPrefixSkipSame runs phrase and regexp searches on blocks of many
// skeletons with shared starts (the prepass takes the answers of an
// earlier skeleton for the holes of a shared start) against plain loads.
func TestPrefixSkipSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	queries := []string{
		`"Failed password for invalid user" | count`,
		`"password for invalid" | count`,
		`"invalid user root" | count`,
		`"sshd Failed" | count`,
		`"web Failed password" | count`,
		`"web root password" | count`,
		`"web admin: password for" | count`,
		`_raw matches /b root password/ | count`,
		`"user root" | count`,
		`"sshd password" | count`,
		`"Failed" | count by app`,
		`_raw matches /Failed password for invalid user/ | count`,
		`_raw matches /password for invalid user [a-z]+/ | count`,
		`_raw matches /sshd\[10[0-9]+\]: Failed/ | count`,
		`_raw matches /d password for/ | count`,
		`_raw matches /web - user/ | count`,
		`_raw matches /: password/ | count`,
		`_raw matches /\] "(password|for|user)/ | count`,
	}
	hits := map[string]bool{}
	for _, seed := range []uint64{1, 2, 3, 4} {
		evs := prefixEvents(4000, seed, seed == 4)
		snap := storeSnapshot(t, evs, 2000)
		checkSkeletons(t, snap)
		ranges := [][2]int64{{0, 0}, {evs[0].Time + int64(333*time.Second), evs[0].Time + int64(3222*time.Second)}}
		samePlain(t, snap, queries, ranges, "skeletons", func(text, want string) bool {
			if want != "" && want != "{\"_count\":\"0\"}\n" {
				hits[text] = true
			}
			return false
		})
	}
	for _, text := range queries {
		if !hits[text] {
			t.Errorf("%q: no rows on any seed (a test that checks nothing)", text)
		}
	}
}

// checkSkeletons fails unless the first block of snap stores _raw as
// skeletons, many of them (else the test checks nothing).
func checkSkeletons(t *testing.T, snap store.Snapshot) {
	t.Helper()
	refs, _, err := snap.Blocks(context.Background(), store.Query{})
	if err != nil || len(refs) == 0 {
		t.Fatalf("Blocks: %d, %v", len(refs), err)
	}
	b, err := refs[0].(store.ColumnLoader).LoadWith([]string{event.FieldRaw}, store.LoadOptions{RawTemplates: true})
	if err != nil || b.Raw == nil || b.Raw.Skeletons() < 20 {
		n := 0
		if err == nil && b.Raw != nil {
			n = b.Raw.Skeletons()
		}
		t.Fatalf("load with RawTemplates: %d skeletons, %v; want many", n, err)
	}
	b.Raw.Release()
}

func TestCommonPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		a := []byte(strings.Repeat("ab", rng.IntN(20)))
		b := append([]byte(nil), a...)
		if len(b) > 0 && rng.IntN(2) == 0 {
			b[rng.IntN(len(b))] = 'x'
		}
		b = b[:rng.IntN(len(b)+1)]
		want := 0
		for want < min(len(a), len(b)) && a[want] == b[want] {
			want++
		}
		if got := commonPrefix(string(a), string(b)); got != want {
			t.Fatalf("commonPrefix(%q, %q) = %d, want %d", a, b, got, want)
		}
	}
}

func TestHoleTextEnd(t *testing.T) {
	const e = "\x01"
	for _, c := range []struct {
		t    string
		next int
		want int
	}{
		{"a" + e + "\x02b" + e + "\x03c" + e + "\x04d", 4, 9}, // through the code byte after the escape
		{"a" + e + "\x02b" + e + "\x03c", 4, -1},              // the last hole: runs to the end
		{"a" + e + "\x02b" + e + "\x03" + e, 4, -1},           // an escape at the very end
		{"a" + e + "\x02b", -1, -1},
	} {
		if got := holeTextEnd(c.t, c.next); got != c.want {
			t.Errorf("holeTextEnd(%q, %d) = %d, want %d", c.t, c.next, got, c.want)
		}
	}
}

// TestWantedRows checks the rows skelRowsOf gives for skeletons the
// prepass deferred (one pass for all of them, wantedRows) against the
// rows of every skeleton (groupSkeletons), with the wanted set growing
// after the list was made.
func TestWantedRows(t *testing.T) {
	snap := storeSnapshot(t, prefixEvents(2000, 5, false), 2000)
	checkSkeletons(t, snap)
	refs, _, err := snap.Blocks(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, ref := range refs {
		b, err := ref.(store.ColumnLoader).LoadWith([]string{event.FieldRaw}, store.LoadOptions{RawTemplates: true})
		if err != nil || b.Raw == nil {
			t.Fatalf("load: %v", err)
		}
		var want, got blockView
		for _, bv := range []*blockView{&want, &got} {
			bv.reset(b, nil, map[string]int{})
			bv.ref = ref
			bv.setTemplates(b.Raw, nil)
		}
		want.tv.groupSkeletons()
		n := b.Raw.Skeletons()
		for round := range 40 {
			id := rng.IntN(n)
			got.tv.wantRowsOf(id)
			if round%3 == 0 {
				got.tv.wantRowsOf(rng.IntN(n)) // after the list: listed again
			}
			if got.tv.wantN > maxWanted {
				break
			}
			w := want.tv.skelRows[want.tv.skelOff[id]:want.tv.skelOff[id+1]]
			if g := got.skelRowsOf(id); !slices.Equal(g, w) {
				t.Fatalf("skeleton %d (%d wanted): rows %v, want %v", id, got.tv.wantN, g, w)
			}
		}
		b.Raw.Release()
	}
}
