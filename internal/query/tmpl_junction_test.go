package query

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// TestShortThrough checks tmplFinder.shortThrough against its
// definition, on random terms and pieces of a small alphabet.
func TestShortThrough(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const abc = "ab A"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = abc[rng.IntN(len(abc))]
		}
		return string(b)
	}
	hasPrefixFold := func(s, pre string) bool { return len(s) >= len(pre) && token.EqualFold(s[:len(pre)], pre) }
	hasSuffixFold := func(s, suf string) bool { return len(s) >= len(suf) && token.EqualFold(s[len(s)-len(suf):], suf) }
	for range 20000 {
		term := word(2 + rng.IntN(6))
		tf := newTmplFinder(term, false)
		s := 1 + rng.IntN(len(term)-1)
		p := word(rng.IntN(5))
		open, back := rng.IntN(2) == 0, rng.IntN(2) == 0
		want := false
		if back {
			for x := 1; x <= s; x++ {
				need := term[:x]
				want = want || hasSuffixFold(p, need) || open && hasSuffixFold(need, p)
			}
		} else {
			for x := s; x < len(term); x++ {
				rem := term[x:]
				want = want || hasPrefixFold(p, rem) || open && hasPrefixFold(rem, p)
			}
		}
		if got := tf.shortThrough(s, p, open, back); got != want {
			t.Fatalf("term %q split %d piece %q open %v back %v: got %v, want %v", term, s, p, open, back, got, want)
		}
	}
}

// junctionEvents makes events whose field values are pieces of the
// searched texts (starts, ends, middles, the whole), written next to
// literal text that goes on with them or not, so that junctions of a
// term with a value are decided both ways.
func junctionEvents(n int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 11))
	users := []string{"root", "admin", "inv", "invalid", "invalid user", "invalid user root", "in", "user", "alid us",
		"Failed", "ssword for", "d password", "ROOT", "user root", "x", "for inv", "nvalid"}
	shapes := []string{
		"%T host sshd[%P]: Failed password for invalid user %U from %I port %N ssh2",
		"%T host sshd[%P]: Failed password for %U from %I port %N ssh2",
		"%T host sshd[%P]: Failed password for invalid %U from %I port %N ssh2",
		"%T host sshd[%P]: Failed %U for invalid user %U from %I",
		"%T host sshd[%P]: %U password for invalid user x from %I",
		"%T host sshd[%P]: Failed pa%U user root from %I",
		"%T host app: %U user root %U",
		"%T host app: for %U user from %I",
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := make([]event.Event, n)
	for i := range evs {
		shape := shapes[rng.IntN(len(shapes))]
		user := users[rng.IntN(len(users))]
		ip := fmt.Sprintf("%d.0.113.%d", 1+rng.IntN(250), rng.IntN(250))
		raw := expandShape(shape, i, sshdFill(rng, user, ip))
		evs[i] = event.Event{Time: base + int64(i)*int64(time.Second), Host: "host", Source: "auth", Raw: raw,
			Fields: []event.Field{fieldOf("app", "sshd"), fieldOf("user", user), fieldOf("src_ip", ip)}}
	}
	return evs
}

// TestJunctionsSame runs phrase and regexp searches whose matches run
// into and out of field values on blocks with skeletons, against plain
// loads (full expansion).
func TestJunctionsSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	snap, ranges := skelSnapshot(t, junctionEvents(4000, 1))
	queries := []string{
		`"Failed password for invalid user" | count`,
		`"Failed password for invalid user root" | count`,
		`"password for invalid user root" | count by user`,
		`"invalid user root from" | count`,
		`"for invalid user" | count`,
		`"Failed password" | count`,
		`"user root" | count`,
		`"root user root" | count`,
		`"Failed password for user root" | count`,
		`"d password for" | count`,
		`"for inv" | count`,
		`"user from" | count`,
		`"Failed password for invalid user" app=sshd | count`,
		`"Failed password for invalid user" NOT root | count`,
		`_raw matches /Failed password for invalid user (root|admin) from 1[0-9]{2}\./ | count`,
		`_raw matches /Failed password for invalid user / | count`,
		`_raw matches /password for inv/ | count`,
		`_raw matches /ssword for invalid user root/ | count`,
		`_raw matches /d user root/ | count`,
		`_raw matches /Failed password for invalid user (root|admin)/ | limit 20`,
		`_raw matches /valid user r/ app=sshd | count`,
	}
	samePlain(t, snap, queries, ranges, "skeletons", func(text, want string) bool {
		return want == "" || want == "{\"_count\":\"0\"}\n"
	})
}

// farEvents makes events whose raw text holds two references side by
// side with a piece between them (`"{method} {path} HTTP/1.1"`), a
// reference after the stream's host, and values that are pieces of the
// searched texts, so that a match may run through a value and a piece
// into the next value (farEnds, farStarts, shortVia) or not.
func farEvents(n int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 13))
	pieces := []string{"Failed", "password", "for", "invalid", "user", "root", "admin", "GET", "/api/user", "Failed password",
		"for invalid", "invalid user", "d", "F", "user root", "password for", "x1", "ssword", "pass"}
	shapes := []string{
		`%T web - - [%N] "%M %Q HTTP/1.1" 200 %N`,
		`%T web sshd[%P]: %M %Q for invalid user %U from %I`,
		`%T web %M %Q %U from %I`,
		`%T web: %M password %Q invalid %U user from %I port %N`,
		`%T web: Failed %M for %Q user %U`,
		`%T %M %Q`,
		`%T web: %M%Q user %U`,
		`%T web: for invalid %U user from %I port %N ssh2`,
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := make([]event.Event, n)
	for i := range evs {
		shape := shapes[rng.IntN(len(shapes))]
		m, p, u := pieces[rng.IntN(len(pieces))], pieces[rng.IntN(len(pieces))], pieces[rng.IntN(len(pieces))]
		ip := fmt.Sprintf("1%d.0.113.%d", rng.IntN(30), rng.IntN(250))
		raw := expandShape(shape, i, func(c byte) string {
			switch c {
			case 'P':
				return fmt.Sprint(1000 + rng.IntN(50))
			case 'M':
				return m
			case 'Q':
				return p
			case 'U':
				return u
			case 'I':
				return ip
			case 'N':
				return fmt.Sprint(rng.IntN(100000))
			}
			return ""
		})
		evs[i] = event.Event{Time: base + int64(i)*int64(time.Second), Host: "web", Source: "auth", Raw: raw,
			Fields: []event.Field{fieldOf("method", m), fieldOf("path", p), fieldOf("user", u), fieldOf("src_ip", ip)}}
	}
	return evs
}

// TestFarJunctionsSame runs phrase and regexp searches whose matches run
// through one value and the piece after it into the next value, on
// blocks with skeletons, against plain loads (full expansion).
func TestFarJunctionsSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	for _, seed := range []uint64{1, 2} {
		snap, ranges := skelSnapshot(t, farEvents(3000, seed))
		queries := []string{
			`"Failed password for invalid user" | count`,
			`"Failed password for invalid user root" | count`,
			`"password for invalid" | count`,
			`"for invalid user root" | count`,
			`"invalid user" | count`,
			`"user root" | count`,
			`"Failed password" | count by method`,
			`"d password for" | count`,
			`"web Failed password" | count`,
			`"web Failed" | count`,
			`"web F" | count by path`,
			`_raw matches /web Failed/ | count`,
			`"password for invalid user" user=root | count`,
			`_raw matches /Failed password for invalid user (root|admin)/ | count`,
			`_raw matches /Failed password for invalid user / | count`,
			`_raw matches /password for inv/ | count`,
			`_raw matches /ssword for invalid user root/ | count`,
			`_raw matches /user [a-z]+ from 1[0-9]\./ | count`,
			`_raw matches /GET \/api\/user HTTP/ | count`,
			`_raw matches /d password/ | count`,
		}
		samePlain(t, snap, queries, ranges, "skeletons", func(text, want string) bool { return false })
	}
}

// sshdFill fills the placeholders of the sshd shapes: a random pid (P),
// user (U), address (I) and number (N), drawn from rng as they are met.
func sshdFill(rng *rand.Rand, user, ip string) func(c byte) string {
	return func(c byte) string {
		switch c {
		case 'P':
			return fmt.Sprint(1000 + rng.IntN(50))
		case 'U':
			return user
		case 'I':
			return ip
		case 'N':
			return fmt.Sprint(rng.IntN(100000))
		}
		return ""
	}
}
