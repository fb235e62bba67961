package query

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

func TestDigitShape(t *testing.T) {
	for _, c := range []struct {
		term, inner string
		texts       []string
		runs        []string
	}{
		{"203.0.113.77", "\x01\x00.\x01\x00.\x01\x00.\x01\x00", []string{"", ".", ".", ".", ""}, []string{"203", "0", "113", "77"}},
		{"9f86d0", "\x01\x00", []string{"", ""}, []string{"9f86d0"}},
		{"port 22", "\x01\x00", []string{"port ", ""}, []string{"22"}},
		{"sshd[1007]: x", "\x01\x00", []string{"sshd[", "]: x"}, []string{"1007"}},
		{"a_b1-c", "\x01\x00", []string{"", "-c"}, []string{"a_b1"}},
		{"1 to 2", "\x01\x00", []string{"", " to ", ""}, []string{"1", "2"}},
		{"1 - 2", "\x01\x00 - \x01\x00", []string{"", " - ", ""}, []string{"1", "2"}},
		{"no digits", "", []string{"no digits"}, nil},
	} {
		s := newDigitShape(c.term)
		if !slices.Equal(s.texts, c.texts) || !slices.Equal(s.runs, c.runs) {
			t.Errorf("newDigitShape(%q) = %q %q, want %q %q", c.term, s.texts, s.runs, c.texts, c.runs)
		}
		if got := s.innerPattern(); got != c.inner {
			t.Errorf("%q: innerPattern() = %q, want %q", c.term, got, c.inner)
		}
	}
}

// varsOf returns the variables of raw (no 0x01 bytes): its maximal runs
// of word bytes with a digit, as skeletonOf cuts them.
func varsOf(raw string) []string {
	var out []string
	for i := 0; i < len(raw); {
		if !token.IsWordByte(raw[i]) {
			i++
			continue
		}
		j := i
		for j < len(raw) && token.IsWordByte(raw[j]) {
			j++
		}
		if strings.ContainsAny(raw[i:j], "0123456789") {
			out = append(out, raw[i:j])
		}
		i = j
	}
	return out
}

// checkDigit compiles the skeleton of raw for term (with a digit) and
// checks the program's answers on raw and on texts of the same skeleton
// with other variables (some of them the term's runs) against
// token.Match.
func checkDigit(t *testing.T, rng *rand.Rand, term, raw string) {
	t.Helper()
	tf := newTmplFinder(term, true)
	if !tf.digit {
		return
	}
	sk := skeletonOf(raw)
	shape := newDigitShape(term)
	var bv blockView
	dp := &digitProgs{tf: tf, shape: shape}
	all, _ := bv.digitRefs(dp, sk)
	aligns := appendAligns(nil, tf, &shape, sk, &digitState{})
	for k := range 8 {
		text := raw
		if k > 0 {
			text = fillDigits(rng, sk, dp.shape.runs)
		}
		ans := all
		if ans == tmplNo {
			vars := varsOf(text)
			offs := []int32{0}
			for _, v := range vars {
				offs = append(offs, offs[len(offs)-1]+int32(len(v)))
			}
			ans = dp.checkVars(aligns, strings.Join(vars, ""), offs)
		}
		if in := token.Match(text, term); ans == tmplYes && !in || ans == tmplNo && in {
			t.Fatalf("skeleton %q, term %q: %v for %q, which matches: %v (program %+v)", sk, term, ans, text, in, aligns)
		}
	}
}

// fillDigits puts variables into skeleton sk: random ones or, half the
// time, one of runs.
func fillDigits(rng *rand.Rand, sk string, runs []string) string {
	var sb strings.Builder
	for {
		i := strings.Index(sk, "\x01\x00")
		if i < 0 {
			sb.WriteString(sk)
			return sb.String()
		}
		sb.WriteString(sk[:i])
		if len(runs) > 0 && rng.IntN(2) == 0 {
			sb.WriteString(runs[rng.IntN(len(runs))])
		} else {
			sb.WriteString(fillSkeleton(rng, "\x01\x00"))
		}
		sk = sk[i+2:]
	}
}

func TestDigitDecide(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	for _, c := range []struct{ term, raw string }{
		{"203.0.113.77", "Jan  1 00:00:03 sshd[28703]: Failed password for root from 203.0.113.77 port 22 ssh2"},
		{"203.0.113.77", "from 1203.0.113.77 to 203.0.113.771 and 203.0.113.77"},
		{"203.0.113.77", "x=203.0.113.77.5 y"},
		{"0.113.77", "from 203.0.113.77 port 22"},
		{"203.0.113", "from 203.0.113.77 port 22"},
		{"9f86d081884c7d659a2feaa0c55ad015", "hash=9F86D081884C7D659A2FEAA0C55AD015 ok"},
		{"9f86d081884c7d659a2feaa0c55ad015", "hash=9f86d081884c7d659a2feaa0c55ad015x ok"},
		{"port 22", "from 1.2.3.4 port 22 ssh2"},
		{"port 22 ssh2", "from 1.2.3.4 port 22 ssh2"},
		{"sshd[28703]:", "Jan  1 00:00:03 sshd[28703]: x"},
		{"[28703]", "sshd[28703]: x"},
		{"00:00", "Jan  1 00:00:03"},
		{"1 00", "Jan  1 00:00:03"},
		{".5", "x 1.5 y"},
		{"a1", "a1"},
		{"-a1-", "x-a1-y"},
		{"é1", "xé1 é1"},
	} {
		checkDigit(t, rng, c.term, c.raw)
	}
}

// FuzzDigitDecide checks the programs of skeletons against the texts:
// yes must match the text, no must not.
func FuzzDigitDecide(f *testing.F) {
	f.Add("203.0.113.77", "Jan  1 00:00:03 sshd[28703]: Failed password for root from 203.0.113.77 port 22 ssh2")
	f.Add("port 22", "from 1.2.3.4 port 22 ssh2")
	f.Add("a_b1 y", "x a_b1 y")
	f.Fuzz(func(t *testing.T, term, raw string) {
		if term == "" || strings.IndexByte(raw, 0x01) >= 0 || strings.IndexByte(term, 0x01) >= 0 || strings.Contains(term, "*") {
			return
		}
		rng := rand.New(rand.NewPCG(uint64(len(raw)), uint64(len(term))))
		checkDigit(t, rng, term, raw)
	})
}

// digitEvents makes events whose raw texts hold terms with digits in
// the literal text (addresses, hashes, ids, counters) and in referenced
// values, next to each other and to digits of the text.
func digitEvents(n int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 11))
	ips := []string{"203.0.113.77", "203.0.113.7", "10.0.0.1", "1203.0.113.77", "0.113.77", "203.0.113.770"}
	hashes := []string{"9f86d081884c7d65", "9F86D081884C7D65", "a9f86d081884c7d65", "9f86d081884c7d6"}
	users := []string{"root", "bob7", "77", "203.0", "x1y", "113.77"}
	shapes := []string{
		"%T host sshd[%P]: Failed password for %U from %I port %N ssh2",
		"%T host sshd[%P]: conn %I:%N -> %J:%N user=%U",
		"%T host app: sha=%H file=/tmp/%H.bin id=%N%U",
		"%T host app: peer %I%U addr=%J.%N",
		"%T host app: %U.%I %U-%N",
		"%T host kernel: [%N.%N] eth0 %I/%N",
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := make([]event.Event, n)
	for i := range evs {
		shape := shapes[rng.IntN(len(shapes))]
		user, ip, ip2 := users[rng.IntN(len(users))], ips[rng.IntN(len(ips))], ips[rng.IntN(len(ips))]
		pid := fmt.Sprint(1000 + rng.IntN(50))
		raw := expandShape(shape, i, func(c byte) string {
			switch c {
			case 'P':
				return pid
			case 'U':
				return user
			case 'I':
				return ip
			case 'J':
				return ip2
			case 'H':
				return hashes[rng.IntN(len(hashes))]
			case 'N':
				return fmt.Sprint(rng.IntN(300))
			}
			return ""
		})
		e := event.Event{Time: base + int64(i)*int64(time.Second), Host: "host", Source: "auth", Raw: raw,
			Fields: []event.Field{fieldOf("app", "sshd"), fieldOf("user", user)}}
		if i%2 == 0 {
			e.Fields = append(e.Fields, fieldOf("src_ip", ip))
		}
		if i%3 == 0 {
			e.Fields = append(e.Fields, fieldOf("pid", pid))
		}
		evs[i] = e
	}
	return evs
}

// TestDigitTermsSame searches terms with digits on blocks with skeletons
// with the template path and with plain loads.
func TestDigitTermsSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := digitEvents(3000, 3)
	snap := storeSnapshot(t, evs, 500)
	base := evs[0].Time
	ranges := [][2]int64{{0, 0}, {base + int64(333*time.Second), base + int64(2222*time.Second)}}
	queries := []string{
		`"203.0.113.77" | count`,
		`203.0.113.77 | count`,
		`"0.113.77" | count`,
		`"113.77" | count`,
		`"203.0" | count`,
		`9f86d081884c7d65 | count`,
		`"9f86d081884c7d65.bin" | count`,
		`"/tmp/9f86d081884c7d65" | count`,
		`"77 ssh2" | count`,
		`"for 77 from" | count`,
		`"bob7 from 203.0.113.77 port" | count`,
		`"peer 203.0.113.77root" | count`,
		`"203.0.113.77bob7" | count`,
		`"77.203.0.113.77" | count`,
		`"x1y-1" | count`,
		`"sshd[1007]" | count`,
		`"00:01" | count`,
		`"-> 10.0.0.1" | count`,
		`"203.0.113.77" | count by user`,
		// A variable next to a value (peer 203.0.113.7 + 113.77): the
		// general path once took the variable's edges for boundaries.
		`"7113" | count`,
		`"0.113.7113" | count`,
		`"7113.77" | count`,
	}
	samePlain(t, snap, queries, ranges, "skeletons", func(text, want string) bool {
		return false
	})
	sameRandomTerms(t, evs, 500, 240)
}

// TestDigitBadSkeletons feeds malformed skeletons and variables (a store
// written by other code, or damaged) to the programs: they leave the rows
// to the general path (tmplMaybe), which reports the error, and never
// panic.
func TestDigitBadSkeletons(t *testing.T) {
	tf := newTmplFinder("203.0.113.77", true)
	dp := &digitProgs{tf: tf, shape: newDigitShape(tf.term)}
	var bv blockView
	for _, c := range []struct {
		sk   string
		want tmplAnswer
		vars bool
	}{
		{"from \x01", tmplMaybe, false},                       // a cut reference
		{"a\x01\x01b \x01\x00", tmplMaybe, false},             // an escaped 0x01: the general path
		{"x \x01\x00\x01\x00 y", tmplMaybe, false},            // placeholders side by side
		{"x \x01\x05 y \x01\x00", tmplMaybe, false},           // a column the matcher does not search
		{"x \x01\xff y", tmplMaybe, false},                    // a column out of the block
		{"from \x01\x00.\x01\x00 port", tmplNo, true},         // no place for the term, but variables
		{"no placeholders at all", tmplNo, false},             // decided for every row
		{"", tmplNo, false},                                   // empty
		{"\x01\x00.\x01\x00.\x01\x00.\x01\x00", tmplNo, true}, // the checks decide
	} {
		dp.joins = dp.joins[:0]
		ans, vars := bv.digitRefs(dp, c.sk)
		if ans != c.want || vars != c.vars {
			t.Errorf("digitRefs(%q) = %v, %v; want %v, %v", c.sk, ans, vars, c.want, c.vars)
		}
		_ = appendAligns(nil, tf, &dp.shape, c.sk, &digitState{}) // must not panic
	}
	// Fewer variables than the checks need: tmplMaybe.
	ops := appendAligns(nil, tf, &dp.shape, "from \x01\x00.\x01\x00.\x01\x00.\x01\x00 port", &digitState{})
	if len(ops) != 1 {
		t.Fatalf("appendAligns: %v, want one check", ops)
	}
	if got := dp.checkVars(ops, "20301", []int32{0, 3, 4, 5}); got != tmplMaybe {
		t.Errorf("checkVars with 3 of 4 variables = %v, want tmplMaybe", got)
	}
	if got := dp.checkVars(ops, "203011377", []int32{0, 3, 4, 7, 9}); got != tmplYes {
		t.Errorf("checkVars on 203.0.113.77 = %v, want tmplYes", got)
	}
}
