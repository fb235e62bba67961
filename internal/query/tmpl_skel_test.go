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
	"github.com/mamori/mamori/internal/token"
)

// skelEvents makes events whose blocks store _raw as skeletons: syslog
// lines of a few shapes with timestamps, counters and ids (variables),
// field values among them (references), digits next to values and to
// the searched text, and an escape now and then.
func skelEvents(n int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 9))
	users := []string{"root", "admin", "invalid user", "bob7", "x\x01y", "9lives", "Failed password"}
	ips := []string{"203.0.113.77", "203.0.113.7", "10.0.0.1"}
	shapes := []string{
		"%T host sshd[%P]: Failed password for invalid user %U from %I port %N ssh2",
		"%T host sshd[%P]: Failed password for %U from %I port %N ssh2",
		"%T host sshd[%P]: Accepted password for %U from %I port %N ssh2",
		"%T host cron[%P]: (%U) CMD (run-parts /etc/cron.hourly) id=a%Nb",
		"%T host kernel: eth0 rx=%N tx=%N user%N=%U",
		"%T host app: req %N%U done in %Nms by %U%N",
		"%T host app: \x01 escaped %N \x01%N",
		"%T host app: password for 7 invalid user%N 22",
		"",
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := make([]event.Event, n)
	for i := range evs {
		// Each shape has two users, so a skeleton's rows hold values
		// the other skeletons' rows lack.
		k := rng.IntN(len(shapes))
		shape := shapes[k]
		user, ip := users[(k+rng.IntN(2))%len(users)], ips[rng.IntN(len(ips))]
		pid := fmt.Sprint(1000 + rng.IntN(50))
		raw := expandShape(shape, i, func(c byte) string {
			switch c {
			case 'P':
				return pid
			case 'U':
				return user
			case 'I':
				return ip
			case 'N':
				return fmt.Sprint(rng.IntN(100000))
			}
			return ""
		})
		e := event.Event{Time: base + int64(i)*int64(time.Second), Host: "host", Source: "auth", Raw: raw,
			Fields: []event.Field{fieldOf("app", "sshd"), fieldOf("user", user), fieldOf("src_ip", ip)}}
		if i%3 == 0 {
			e.Fields = append(e.Fields, fieldOf("pid", pid))
		}
		evs[i] = e
	}
	return evs
}

// expandShape returns shape for event i with each %T replaced by a
// syslog timestamp and each other %c by fill(c).
func expandShape(shape string, i int, fill func(c byte) string) string {
	var sb strings.Builder
	for j := 0; j < len(shape); j++ {
		if shape[j] != '%' || j+1 == len(shape) {
			sb.WriteByte(shape[j])
			continue
		}
		j++
		if shape[j] == 'T' {
			fmt.Fprintf(&sb, "Jan %2d %02d:%02d:%02d", 1+i/5000, i/3600%24, i/60%60, i%60)
		} else {
			sb.WriteString(fill(shape[j]))
		}
	}
	return sb.String()
}

// skelSnapshot stores evs in blocks of 500 rows, checks that they store
// _raw as skeletons, and returns the snapshot and two time ranges to
// search: all, and one that cuts blocks.
func skelSnapshot(t *testing.T, evs []event.Event) (store.Snapshot, [][2]int64) {
	t.Helper()
	snap := storeSnapshot(t, evs, 500)
	refs, _, err := snap.Blocks(context.Background(), store.Query{})
	if err != nil || len(refs) == 0 {
		t.Fatalf("Blocks: %d, %v", len(refs), err)
	}
	b, err := refs[0].(store.ColumnLoader).LoadWith([]string{event.FieldRaw}, store.LoadOptions{RawTemplates: true})
	if err != nil || b.Raw == nil || b.Raw.Skeletons() == 0 {
		t.Fatalf("load with RawTemplates: %v, %v; want skeletons (else this test checks nothing)", b, err)
	}
	b.Raw.Release()
	base := evs[0].Time
	return snap, [][2]int64{{0, 0}, {base + int64(333*time.Second), base + int64(2222*time.Second)}}
}

// TestSkeletonsSame runs the template searches, and some on variables,
// on blocks with skeletons with the template path and with plain loads.
func TestSkeletonsSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	snap, ranges := skelSnapshot(t, skelEvents(4000, 1))
	queries := append([]string{
		`"00:10" | count`,
		`1007 | count`,
		`"[1007]:" | count`,
		`_raw matches /1007/ | count`,
		`"Jan  1" | count`,
		`"sshd[1007]" | count`,
		`"password for 7" | count`,
		`"7 invalid user" | count`,
		`"bob7 from" | count`,
		`"for 7 invalid" | count`,
		`ssh2 | count`,
		`"run-parts" | count`,
		`escaped | count`,
		`9lives | count by user`,
		`_raw matches /Failed password for invalid user (root|admin) from 20[0-9]\./ | count`,
		`_raw matches /id=a1[0-9]+b/ | count`,
		`_raw matches /ms by 9lives/ | count`,
		`_raw matches /user\d+=9lives/ | count`,
		`_raw matches /rx=1/ | count`,
		`nosuchword OR _raw matches /x\x01y/ | count`,
		`"Failed password" _raw matches /port [0-9]{4} / | count`,
	}, tmplQueries...)
	samePlain(t, snap, queries, ranges, "skeletons", func(text, want string) bool {
		// The template searches need not find rows here; these must.
		return (want == "" || want == "{\"_count\":\"0\"}\n") && !slices.Contains(tmplQueries, text) && !strings.Contains(text, "7 invalid user")
	})
}

// TestSkeletonsRandomTerms searches random pieces of raw texts on blocks
// with skeletons.
func TestSkeletonsRandomTerms(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	sameRandomTerms(t, skelEvents(3000, 2), 300, 240)
}

// skeletonOf is the store's rule (enc_skel.go): each maximal run of word
// bytes with a digit becomes a placeholder. raw has no 0x01 bytes.
func skeletonOf(raw string) string {
	var sb strings.Builder
	for i := 0; i < len(raw); {
		if !token.IsWordByte(raw[i]) {
			sb.WriteByte(raw[i])
			i++
			continue
		}
		j := i
		for j < len(raw) && token.IsWordByte(raw[j]) {
			j++
		}
		if strings.ContainsAny(raw[i:j], "0123456789") {
			sb.WriteString("\x01\x00")
		} else {
			sb.WriteString(raw[i:j])
		}
		i = j
	}
	return sb.String()
}

// checkSkel decides term (or literal) on the skeleton of raw and checks
// the answer against raw and against raw with other variables.
func checkSkel(t *testing.T, rng *rand.Rand, term string, lit bool, raw string) {
	t.Helper()
	tf := newTmplFinder(term, !lit)
	sk := skeletonOf(raw)
	var bv blockView
	ans := bv.quickIn(tf, sk, -1, true, lit)
	for k := range 4 {
		text := raw
		if k > 0 {
			text = fillSkeleton(rng, sk)
		}
		var in bool
		if lit {
			in = hasFoldIn(text, term)
		} else {
			in = token.Match(text, term)
		}
		if ans == tmplYes && !in || ans == tmplNo && in {
			t.Fatalf("skeleton %q of %q: %v for %q (lit %v), but %q gives %v", sk, raw, ans, term, lit, text, in)
		}
	}
}

// fillSkeleton puts random variables into skeleton sk.
func fillSkeleton(rng *rand.Rand, sk string) string {
	const word = "abcXYZ_é0123456789"
	var sb strings.Builder
	for {
		i := strings.Index(sk, "\x01\x00")
		if i < 0 {
			sb.WriteString(sk)
			return sb.String()
		}
		sb.WriteString(sk[:i])
		n := rng.IntN(4)
		for range n {
			sb.WriteByte(word[rng.IntN(len(word))])
		}
		sb.WriteByte('0' + byte(rng.IntN(10)))
		for range rng.IntN(3) {
			sb.WriteByte(word[rng.IntN(len(word))])
		}
		sk = sk[i+2:]
	}
}

func TestSkelDecide(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		term, raw string
		lit       bool
	}{
		{"Failed password for invalid user", "Jan  1 00:00:03 sshd[28703]: Failed password for invalid user root from 1.2.3.4 port 22 ssh2", false},
		{"Failed password for invalid user ", "Jan  1 00:00:03 sshd[28703]: Failed password for invalid user root", true},
		{"sshd[28703]", "Jan  1 00:00:03 sshd[28703]: x", false},
		{"port 22", "from 1.2.3.4 port 22 ssh2", false},
		{"port", "from 1.2.3.4 port22 ssh2", false},
		{"ssh", "port 22 ssh2", false},
		{"ssh", "port 22 ssh2", true},
		{"ort 2", "port 22 ssh2", true},
		{"user ab", "user ab12", true},
		{"b12 x", "user ab12 x", true},
		{"00:00", "Jan  1 00:00:03", false},
		{"a_b", "x a_b1 y", true},
		{"a_b", "x a_b1 y", false},
		{"1 y", "x a_b1 y", false},
		{"y", "x a_b1 y", false},
	} {
		checkSkel(t, rng, c.term, c.lit, c.raw)
	}
}

// FuzzSkelDecide checks skeleton answers against the texts: yes must
// match every text of the skeleton, no none.
func FuzzSkelDecide(f *testing.F) {
	f.Add("Failed password for invalid user", false, "Jan  1 00:00:03 sshd[28703]: Failed password for invalid user root port 22")
	f.Add("user ab", true, "x user ab12 y")
	f.Add("00:0", true, "Jan  1 00:00:03")
	f.Fuzz(func(t *testing.T, term string, lit bool, raw string) {
		if term == "" || strings.IndexByte(raw, 0x01) >= 0 || strings.IndexByte(term, 0x01) >= 0 || strings.Contains(term, "*") {
			return
		}
		rng := rand.New(rand.NewPCG(uint64(len(raw)), uint64(len(term))))
		checkSkel(t, rng, term, lit, raw)
	})
}

// hasFoldIn reports whether s holds sub, ASCII case-insensitively: the
// oracle of a literal's match.
func hasFoldIn(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if token.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
