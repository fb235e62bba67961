package query

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// startEvents makes events in runs of blockRows rows (one block each)
// of many skeletons behind a few headers, some of whose tails hold the
// searched texts in their literal text, that share their skeleton texts
// across blocks but not their columns: each run gives the values of the
// text's slots field names of its own (so the same text {k} names a
// column of other values in another run), adds a field of its own (so
// {k} moves), takes its host from a few pieces of the searched texts,
// and draws each column's values from a pool of its own: pieces of the
// searched texts in some runs, other words or addresses in others (so
// the columns' stored bytes, coverage keys and kinds differ).
func startEvents(runs, blockRows int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 41))
	pieces := []string{"Failed", "password", "invalid", "user", "root", "admin", "Failed password for", "invalid user",
		"for invalid", "d", "F", "user root", "ssword", "web"}
	plain := []string{"alpha", "beta", "gamma", "x-ray", "delta.echo", "kilo"}
	hosts := []string{"web", "sshd", "Failed", "invalid", "host-1"}
	words := []string{"password", "for", "invalid", "user", "from", "ssword", "Failed password", "port"}
	var shapes []string
	heads := []string{`%T %H %A[%P]: `, `%T %H %A: `, `%T %A `, `%T %H %A %U `, `%U - %A [%T] "`}
	for range 24 {
		s := heads[rng.IntN(len(heads))]
		for range 1 + rng.IntN(5) {
			switch x := rng.IntN(9); {
			case x < 5:
				s += words[rng.IntN(len(words))] + " "
			case x == 5:
				s += "%U "
			case x == 6:
				s += "%Q "
			case x == 7:
				s += "%I "
			default:
				s += "%A "
			}
		}
		shapes = append(shapes, s)
	}
	names := []string{"app", "user", "path", "src_ip"}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	var evs []event.Event
	for r := range runs {
		order := rng.Perm(len(names))
		pool := func() []string {
			switch rng.IntN(4) {
			case 0:
				return plain
			case 1:
				return []string{"10.0.0.1", "10.2.0.3", "192.0.2.44"} // an IPv4 column
			}
			p := make([]string, 3)
			for j := range p {
				p[j] = pieces[rng.IntN(len(pieces))]
			}
			return p
		}
		as, us, qs := pool(), pool(), pool()
		host := hosts[rng.IntN(len(hosts))]
		extra := fmt.Sprintf("%c%d", 'a'+rune(rng.IntN(26)), r)
		for i := range blockRows {
			n := r*blockRows + i
			a, u, q := as[rng.IntN(len(as))], us[rng.IntN(len(us))], qs[rng.IntN(len(qs))]
			ip := fmt.Sprintf("1%d.0.113.%d", rng.IntN(30), rng.IntN(250))
			raw := expandShape(shapes[rng.IntN(len(shapes))], n, func(c byte) string {
				switch c {
				case 'P':
					return fmt.Sprint(1000 + rng.IntN(50))
				case 'A':
					return a
				case 'U':
					return u
				case 'Q':
					return q
				case 'H':
					return host
				case 'I':
					return ip
				}
				return ""
			})
			// Each run gives the roles (%A %U %Q %I) names of its own.
			vals := []string{a, u, q, ip}
			fs := []event.Field{fieldOf(extra, "v")}
			for j, o := range order {
				fs = append(fs, fieldOf(names[o], vals[j]))
			}
			evs = append(evs, event.Event{Time: base + int64(n)*int64(time.Second), Host: host, Source: "auth", Raw: raw, Fields: fs})
		}
	}
	return evs
}

// TestSharedStartsSame runs phrase and regexp searches on blocks of many
// skeletons behind a few headers (the prepass takes an earlier
// skeleton's answers for the holes of a shared start, phrase_holes.go),
// some decided by their literal text alone, with columns that differ
// from block to block (startEvents), against plain loads. A skeleton
// decided by its literal text used to leave the previous skeleton's
// noUntil to the ones after it (`"Failed" | count`: 1,533 rows for
// 1,549 on seed 1).
func TestSharedStartsSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	queries := []string{
		`"Failed password for invalid user" | count`,
		`"password for invalid" | count`,
		`"invalid user root" | count`,
		`"web Failed password" | count`,
		`"sshd Failed" | count`,
		`"user root" | count`,
		`"Failed" | count by app`,
		`"Failed" | count by user`,
		`"password" | count by path`,
		`"sshd Failed password" | count`,
		`"invalid web" | count`,
		`_raw matches /Failed/ | count`,
		`_raw matches /password for/ | count`,
		`_raw matches /sshd F/ | count`,
		`"d password for" | count`,
		`_raw matches /Failed password for invalid user/ | count`,
		`_raw matches /d password for/ | count`,
		`_raw matches /b Failed/ | count`,
		`_raw matches /: Failed password/ | count`,
		`_raw matches /user (root|admin) / | count`,
		`_raw matches /web invalid/ | count`,
	}
	hits := map[string]bool{}
	for _, seed := range []uint64{1, 2, 3} {
		evs := startEvents(16, 300, seed)
		snap := storeSnapshot(t, evs, 300)
		checkSkeletons(t, snap)
		ranges := [][2]int64{{0, 0}, {evs[0].Time + int64(450*time.Second), evs[0].Time + int64(3900*time.Second)}}
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
