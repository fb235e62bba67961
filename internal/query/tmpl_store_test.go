package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// tmplEvents makes events whose raw texts exercise the templates: values
// next to literal text and to each other, values holding the searched
// text in other cases, the text split between a literal and a value,
// escapes, the host in the text.
func tmplEvents(n int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 7))
	users := []string{"root", "admin", "invalid user", "Invalid", "user", "ROOT", "passwd", "for", "x\x01y", "bob.smith", "Failed password"}
	ips := []string{"203.0.113.77", "203.0.113.7", "10.0.0.1", "1203.0.113.77", "203.0.113.771", "0.113.77"}
	lits := []string{"Failed password for ", "Failed password for invalid user ", "Accepted password for ", "failed PASSWORD FOR ", "Failed passwor", "d for invalid user ", "", " ", "\x01", "user=", "from 203.0.", "113.77 ", "port 22"}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := make([]event.Event, n)
	for i := range evs {
		host := fmt.Sprintf("web-%d.corp", i%3)
		user, ip := users[rng.IntN(len(users))], ips[rng.IntN(len(ips))]
		pid := fmt.Sprint(1000 + rng.IntN(50))
		var sb strings.Builder
		parts := []string{host, " sshd[", pid, "]: "}
		for range 2 + rng.IntN(5) {
			switch rng.IntN(4) {
			case 0:
				parts = append(parts, user)
			case 1:
				parts = append(parts, ip)
			default:
				parts = append(parts, lits[rng.IntN(len(lits))])
			}
		}
		for _, p := range parts {
			sb.WriteString(p)
		}
		e := event.Event{Time: base + int64(i)*int64(time.Second), Host: host, Source: "auth", Raw: sb.String(),
			Fields: []event.Field{fieldOf("app", "sshd"), fieldOf("pid", pid), fieldOf("user", user), fieldOf("src_ip", ip)}}
		if i%7 == 0 {
			e.Fields = append(e.Fields, fieldOf("msg", lits[rng.IntN(len(lits))]+user))
		}
		evs[i] = e
	}
	return evs
}

// TestTemplatesSame runs text searches on a store with the template path
// (the store's blocks) and with every block loaded plainly, and compares
// every output row.
func TestTemplatesSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := tmplEvents(4000, 1)
	snap := storeSnapshot(t, evs, 250)
	refs, _, err := snap.Blocks(context.Background(), store.Query{})
	if err != nil || len(refs) == 0 {
		t.Fatalf("Blocks: %d, %v", len(refs), err)
	}
	b, err := refs[0].(store.ColumnLoader).LoadWith([]string{event.FieldRaw}, store.LoadOptions{RawTemplates: true})
	if err != nil || b.Raw == nil {
		t.Fatalf("load with RawTemplates: %v, %v; want templates (else this test checks nothing)", b, err)
	}
	if b.Raw.Skeletons() != 0 {
		t.Fatal("blocks with skeletons: want templates of kind 5 here (TestSkeletonsSame checks skeletons)")
	}
	b.Raw.Release()
	base := evs[0].Time
	ranges := [][2]int64{{0, 0}, {base + int64(333*time.Second), base + int64(2222*time.Second)}}
	samePlain(t, snap, tmplQueries, ranges, "templates", func(_, want string) bool { return want == "" || want == "{\"_count\":\"0\"}\n" })
}

// tmplQueries are the searches the template tests compare with plain
// loads.
var tmplQueries = []string{
	`"Failed password for invalid user" | count`,
	`"failed password for invalid user root" | count`,
	`"password for root" | count`,
	`"invalid user" | count by user`,
	`"for invalid" | count`,
	`"203.0.113.77" | count`,
	`"203.0.113.77" | limit 20`,
	`203.0.113.77 | count by src_ip`,
	`"0.113.77" | count`,
	`"113.77 port" | count`,
	`"user root" | count`,
	`"]: root" | count`,
	`"corp sshd" | count`,
	`"web-1.corp sshd" | count`,
	`x | count`,
	`passwd | count`,
	`ROOT | limit 5`,
	`root OR admin | count`,
	`NOT root | count`,
	`root NOT invalid | count by user`,
	`fail* | count`,
	`"Failed password" user=root | count`,
	`_raw matches /Failed password for invalid user (root|admin)/ | count`,
	`_raw matches /for (root|admin|user)\S*/ | count`,
	`_raw matches /x\x01y/ | count`,
	// A term makes the search read templates; the regexps then use
	// their literals on them.
	`password _raw matches /for (root|admin|user)\S*/ | count`,
	`nosuchword OR _raw matches /Failed password for invalid user (root|admin)/ | count`,
	`nosuchword OR _raw matches /203\.0\.113\.77/ | limit 5`,
	`nosuchword OR _raw matches /x\x01y/ | count`,
	`nosuchword OR _raw=*passwd* | count`,
	`_raw matches /(?i)password/ | count`,
	`_raw=*passwd* | count`,
	`_raw=*root*root* | count`,
	`password | count by _raw | sort by _count desc | limit 3`,
	`"invalid user" | fields _raw, user | limit 10`,
	`"for invalid" | parse regex field=_raw "for (?<who>\S+)" | count by who`,
	`root | limit 15`,
	`"password for" | sort by user | limit 8`,
}

// TestTemplatesRandomTerms searches random pieces of the raw texts (in
// changed case, as phrases and as regexp literals) with the template
// path and with plain loads, and compares the counts.
func TestTemplatesRandomTerms(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	sameRandomTerms(t, tmplEvents(3000, 2), 300, 240)
}

// sameRandomTerms runs tries searches of random pieces of evs' raw texts
// on a store of them with the template path and with plain loads.
func sameRandomTerms(t *testing.T, evs []event.Event, blockRows, tries int) {
	t.Helper()
	snap := storeSnapshot(t, evs, blockRows)
	rng := rand.New(rand.NewPCG(5, 6))
	count := func(src store.Snapshot, q *Query) string {
		var out string
		if _, err := Run(context.Background(), src, q, Options{Workers: 2}, func(r Row) error {
			out, _ = r.Get("_count")
			return nil
		}); err != nil {
			t.Fatalf("Run(%s): %v", q, err)
		}
		return out
	}
	tried, hits := 0, 0
	for tried < tries {
		raw := evs[rng.IntN(len(evs))].Raw
		if raw == "" {
			continue
		}
		a := rng.IntN(len(raw))
		b := min(len(raw), a+1+rng.IntN(24))
		sub := raw[a:b]
		if strings.ContainsAny(sub, "\"\\\x01/") {
			continue
		}
		phrase := []byte(sub)
		for j := range phrase {
			if rng.IntN(3) == 0 {
				phrase[j] ^= 0x20 * byte(boolInt(isLetter(phrase[j])))
			}
		}
		for _, text := range []string{
			fmt.Sprintf("%q | count", phrase),
			fmt.Sprintf("_raw matches /%s/ | count", regexpQuote(sub)),
			fmt.Sprintf("nosuchword OR _raw matches /%s/ | count", regexpQuote(sub)),
		} {
			q, err := Parse(text)
			if err != nil {
				continue
			}
			tried++
			want, got := count(plainSnapshot{snap}, q), count(snap, q)
			if got != want {
				t.Errorf("%s: templates count %s, plain load %s", text, got, want)
			}
			if want != "0" {
				hits++
			}
		}
	}
	if hits < tried/2 {
		t.Errorf("%d of %d searches found rows: want most (else the test checks little)", hits, tried)
	}
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// regexpQuote quotes s for a regexp between slashes.
func regexpQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`\.+*?()|[]{}^$`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestTemplatesSameOnStore compares the template path with plain loads
// on an existing store directory (opt-in, like TestBenchStore):
//
//	MAMORI_BENCH_STORE=/tmp/x/store go test ./internal/query -run TestTemplatesSameOnStore -v
func TestTemplatesSameOnStore(t *testing.T) {
	dir := os.Getenv("MAMORI_BENCH_STORE")
	if dir == "" {
		t.Skip("set MAMORI_BENCH_STORE to a copy of a benchmark store directory to compare the template path on it")
	}
	s, err := store.Open(store.Options{Dir: dir, MaintainInterval: -1, Sync: store.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap := s.Snapshot()
	defer snap.Release()
	for _, text := range []string{
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		`"203.0.113.77"`,
		`"Failed password for invalid user" | count`,
		`"invalid user admin from" | limit 200`,
		`"password for root from 10" | count by host`,
		`sshd "port 22" | count`,
	} {
		q, o := MustParse(text), Options{Limit: 100_000}
		want, got := runText(t, plainSnapshot{snap}, q, o), runText(t, snap, q, o)
		if got != want {
			t.Errorf("%q: the template path differs from plain loads (%d and %d bytes)", text, len(got), len(want))
		}
		t.Logf("%q: %d bytes of rows, same", text, len(want))
	}
}
