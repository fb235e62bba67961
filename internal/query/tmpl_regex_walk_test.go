package query

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// walkRef reports whether re has a match in text starting at or before
// lim (the reference for rxAuto walks).
func walkRef(anchored *regexp.Regexp, text string, lim int) bool {
	for s := 0; s <= min(lim, len(text)); s++ {
		if anchored.MatchString(text[s:]) {
			return true
		}
	}
	return false
}

// walkText walks a over text cut at the given places, with starts up to
// lim; with anchorAt >= 0, starts are open until anchorAt and then
// limited there (a window around a hole). It returns the verdict at the
// text's end.
func walkText(a *rxAuto, text string, cuts []int, lim, anchorAt int) int {
	l := lim
	if anchorAt >= 0 {
		l = math.MaxInt
	}
	w, v := a.start(l)
	from := 0
	for _, c := range append(cuts, len(text)) {
		if v != walkOn {
			break
		}
		if anchorAt >= from && anchorAt <= c {
			if v = a.feed(&w, text[from:anchorAt]); v == walkOn {
				v = a.setLim(&w, w.pos)
			}
			from = anchorAt
			if v != walkOn {
				break
			}
		}
		v = a.feed(&w, text[from:c])
		from = c
	}
	if v == walkOn {
		v = walkNone
	}
	return v
}

// randRegexp returns a random regexp over a small alphabet: literals,
// classes, any byte, alternations with empty branches, case folding,
// bounded and unbounded repeats, and sometimes an assertion.
func randRegexp(rng *rand.Rand, depth int) string {
	atoms := []string{"a", "b", "ab", " ", "[a-c]", "[^a]", ".", "(?i:aB)", "x", "\\.", "[0-9]", "1"}
	var sb strings.Builder
	for range 1 + rng.IntN(4) {
		switch k := rng.IntN(10); {
		case k < 5 || depth > 2:
			sb.WriteString(atoms[rng.IntN(len(atoms))])
		case k < 7:
			fmt.Fprintf(&sb, "(%s|%s)", randRegexp(rng, depth+1), []string{"", "b", randRegexp(rng, depth+1)}[rng.IntN(3)])
		case k < 9:
			fmt.Fprintf(&sb, "(%s)%s", randRegexp(rng, depth+1), []string{"?", "*", "+", "{0,2}", "{2}", "{1,3}"}[rng.IntN(6)])
		default:
			sb.WriteString([]string{"^", "$", "\\b"}[rng.IntN(3)])
		}
	}
	return sb.String()
}

// TestRxAutoWalk checks walks of random regexps over random texts, cut
// into random pieces, against the regexp package: a match starting at
// or before the limit, found or ruled out; and assertions refused.
func TestRxAutoWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	checked := [4]int{}
	for range 1500 {
		pattern := randRegexp(rng, 0)
		checkWalk(t, rng, pattern, randWalkText(rng), &checked)
	}
	if checked[walkMatch] < 1000 || checked[walkNone] < 1000 || checked[walkBail] == 0 {
		t.Errorf("walks: %d matches, %d none, %d bailed: too few of a kind", checked[walkMatch], checked[walkNone], checked[walkBail])
	}
}

func randWalkText(rng *rand.Rand) string {
	alpha := "abAB x.1019\n"
	b := make([]byte, rng.IntN(14))
	for i := range b {
		b[i] = alpha[rng.IntN(len(alpha))]
	}
	if rng.IntN(40) == 0 {
		b = append(b, "é"...)
	}
	return string(b)
}

// checkWalk checks a's walks over text for every limit and anchor.
func checkWalk(t *testing.T, rng *rand.Rand, pattern, text string, checked *[4]int) {
	t.Helper()
	a := newRxAuto(pattern)
	anchored, err := regexp.Compile(`^(?:` + pattern + `)`)
	if err != nil {
		if a != nil {
			t.Fatalf("%q: an automaton for a bad regexp", pattern)
		}
		return
	}
	if hasAssertion(pattern) {
		if a != nil {
			t.Fatalf("%q: an automaton for a regexp with an assertion", pattern)
		}
		return
	}
	if a == nil {
		return // too many states, or it matches nothing
	}
	var cuts []int
	for c := 0; c < len(text); c += 1 + rng.IntN(4) {
		cuts = append(cuts, c)
	}
	ascii := !strings.ContainsFunc(text, func(r rune) bool { return r >= 0x80 })
	for lim := 0; lim <= len(text)+1; lim++ {
		for _, anchorAt := range []int{-1, min(lim, len(text))} {
			got := walkText(a, text, cuts, lim, anchorAt)
			checked[got]++
			if got == walkBail {
				if ascii {
					t.Fatalf("%q on %q: bailed on ASCII text", pattern, text)
				}
				continue
			}
			want := walkNone
			if walkRef(anchored, text, lim) {
				want = walkMatch
			}
			if got != want {
				t.Fatalf("%q on %q (cuts %v) lim %d anchor %d: walk %d, want %d", pattern, text, cuts, lim, anchorAt, got, want)
			}
		}
	}
}

// hasAssertion reports whether pattern holds an empty-width assertion.
func hasAssertion(pattern string) bool {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return false
	}
	var has func(r *syntax.Regexp) bool
	has = func(r *syntax.Regexp) bool {
		switch r.Op {
		case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
			return true
		}
		return slices.ContainsFunc(r.Sub, has)
	}
	return has(re.Simplify())
}

// FuzzRxWalk fuzzes checkWalk with any pattern and text.
func FuzzRxWalk(f *testing.F) {
	f.Add(`Failed (root|admin) from 1[0-9]{2}\.`, "Failed root from 100.", uint64(1))
	f.Add(`(?i:ab)+x?`, "xaBab", uint64(2))
	f.Add(`[^a]{2}`, "a\nb", uint64(3))
	f.Fuzz(func(t *testing.T, pattern, text string, seed uint64) {
		if len(pattern) > 60 || len(text) > 40 {
			return
		}
		var checked [4]int
		checkWalk(t, rand.New(rand.NewPCG(seed, 1)), pattern, text, &checked)
	})
}

// walkEvents returns events whose raw texts put dictionary values (user,
// some empty, some pieces of the searched texts, some upper case) and
// IPv4 addresses (src_ip, some rows without the field) next to literal
// text, in blocks of 500 rows.
func walkEvents(n int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 3))
	users := []string{"root", "admin", "ro", "rootx", "Root", "ADMIN", "a.b", "invalid", "from", "1", "r", "adminroot", "9lives"}
	ips := []string{"100.0.0.1", "10.1.2.3", "199.9.9.9", "1.2.3.4", "200.1.1.1", "150.60.70.80", "19.100.1.1", "101.101.101.101"}
	shapes := []string{
		"%T host sshd[%P]: Failed password for invalid user %U from %I port %N ssh2",
		"%T host sshd[%P]: Invalid user %U from %I",
		"%T host app: user=%U ip=%I",
		"%T host app: user=%U%I end",
		"%T host app: from %I user %U from %I",
		"%T host app: for invalid user  from %I",
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := make([]event.Event, n)
	for i := range evs {
		shape := shapes[rng.IntN(len(shapes))]
		user, ip := users[rng.IntN(len(users))], ips[rng.IntN(len(ips))]
		if rng.IntN(4) != 0 {
			// Mostly distinct addresses: src_ip is stored as ipv4
			// numbers, not as a dictionary.
			ip = fmt.Sprintf("%s.%d.%d", ip[:strings.LastIndexByte(ip[:strings.LastIndexByte(ip, '.')], '.')], rng.IntN(256), rng.IntN(256))
		}
		if rng.IntN(15) == 0 {
			user = ""
		}
		raw := expandShape(shape, i, sshdFill(rng, user, ip))
		e := event.Event{Time: base + int64(i)*int64(time.Second), Host: "host", Source: "auth", Raw: raw,
			Fields: []event.Field{fieldOf("app", "sshd"), fieldOf("user", user)}}
		if i%7 != 3 {
			e.Fields = append(e.Fields, fieldOf("src_ip", ip))
		}
		evs[i] = e
	}
	return evs
}

// TestRegexWalksOnStore runs regexps whose windows reach dictionary and
// IPv4 holes (alternations, case folding, classes that span a value's
// end, empty values, anchors) with the walks and with plain loads.
func TestRegexWalksOnStore(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	snap, ranges := skelSnapshot(t, walkEvents(4000, 1))
	queries := []string{
		`_raw matches /Failed password for invalid user (root|admin) from 1[0-9]{2}\./ | count`,
		`_raw matches /invalid user (?i:root|admin) from [12][0-9]{0,2}\.[0-9]/ | count`,
		`_raw matches /user=(ro|root)[a-z]{0,1}ip=1/ | count`,
		`_raw matches /user=[a-z.]{0,3}[0-9]/ | count`,
		`_raw matches /user  from 1/ | count`,
		`_raw matches /user (|r|ro) from/ | count`,
		`_raw matches /from 1[0-9]{2}\.[0-9]+\. user/ | count`,
		`_raw matches /^Jan.{0,20}user=admin/ | count`,
		`_raw matches /user (admin|adminroot) from 1/ | count`,
		`_raw matches /Invalid user [^ ]{1,2} from 1.?0/ | count`,
	}
	samePlain(t, snap, queries, ranges, "regexp walks", func(_, want string) bool { return false })
	// Random regexps around the literals next to the holes.
	rng := rand.New(rand.NewPCG(5, 5))
	lits := []string{"invalid user ", "user=", " from ", "Invalid user ", "ip="}
	mids := []string{"(root|admin)", "(?i:ROOT)", "[a-z]{0,4}", "(ro|root|)", "[^ ]{1,3}", ".?", "a(dmin)?", "[a-z.]{1,5}[0-9]"}
	posts := []string{` from 1[0-9]{2}\.`, ` from [0-9]{1,3}\.[0-9]`, "( from|x)", "", `ip=1`, `[0-9]{2}`, ` (port|end)`}
	var random []string
	for len(random) < 40 {
		pre := []string{"", "[a-z]", "(for|user) ", ".{0,2}"}[rng.IntN(4)]
		random = append(random, fmt.Sprintf("_raw matches /%s%s%s%s/ | count", pre, regexp.QuoteMeta(lits[rng.IntN(len(lits))]),
			mids[rng.IntN(len(mids))], posts[rng.IntN(len(posts))]))
	}
	samePlain(t, snap, random, ranges, "random regexp walks", func(_, want string) bool { return false })
}

// TestWalkRows decides regexps row by row with windowMatch (walks) and
// with the expanded text, and checks that the walks decide rows by the
// codes of a dictionary column.
func TestWalkRows(t *testing.T) {
	snap, _ := skelSnapshot(t, walkEvents(3000, 2))
	refs, _, err := snap.Blocks(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	patterns := []string{
		`Failed password for invalid user (root|admin) from 1[0-9]{2}\.`,
		`invalid user (?i:root|admin) from [12][0-9]{0,2}\.[0-9]`,
		`user=(ro|root)[a-z]{0,1}ip=1`,
		`(root|admin) from 1`,
		`Invalid user [^ ]{1,2} from 1.?0`,
	}
	settled := 0 // skeletons that selectBySkeletons settles by code (codeVerdict)
	for _, pattern := range patterns {
		re := regexp.MustCompile(pattern)
		lit := requiredLiteral(pattern)
		f := &fieldMatcher{slot: slotRaw, name: event.FieldRaw, lit: newTmplFinder(lit, false), win: newRegexWindow(pattern, lit),
			pred: re.MatchString}
		if f.win == nil || f.win.auto == nil {
			t.Fatalf("%q: no window or automaton", pattern)
		}
		keyed := 0
		used, rows := windowRows(t, refs, f, re, func(bv *blockView) {
			for id, p := range bv.tv.winPlan {
				for _, ow := range p.walks {
					if p.state == 1 && ow.state == walkOn && ow.key != nil {
						keyed += len(ow.ents)
					}
				}
				if bv.codeVerdict(id) == 3 {
					settled++
				}
			}
		})
		if used < rows/2 || keyed == 0 {
			t.Errorf("%q: windows decided %d of %d rows, %d walks by code", pattern, used, rows, keyed)
		}
	}
	if settled == 0 {
		t.Error("no skeleton settled by code")
	}
}
