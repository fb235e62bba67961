package query

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// plainSnapshot hides store.ColumnLoader from the blocks of a snapshot, so
// a query runs on the plain Load path.
type plainSnapshot struct{ store.Snapshot }

type plainRef struct{ store.BlockRef }

func (s plainSnapshot) Blocks(ctx context.Context, q store.Query) ([]store.BlockRef, store.Stats, error) {
	refs, st, err := s.Snapshot.Blocks(ctx, q)
	for i, r := range refs {
		refs[i] = plainRef{r}
	}
	return refs, st, err
}

// TestColumnLoaderSame checks that the shortcuts taken on blocks that
// implement store.ColumnLoader (decisions and counts by dictionary code,
// skipped columns and times, partial _raw loads) give exactly the rows of
// the plain load path, on constant, dictionary, plain and partly absent
// columns, with time ranges that cut blocks.
func TestColumnLoaderSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := manyEvents(3000)
	for i := range evs {
		e := &evs[i]
		e.Fields = append(e.Fields, fieldOf("app", []string{"sshd", "nginx"}[i%4/3]), fieldOf("host", e.Host),
			fieldOf("ip", fmt.Sprintf("10.0.%d.%d", i%3, i%251)))
		if i%5 != 0 {
			e.Fields = append(e.Fields, fieldOf("outcome", []string{"success", "failure", "Failure"}[i%3]))
		}
		if i%11 == 0 {
			e.Raw += " Failed password for invalid user root"
		}
	}
	snap := storeSnapshot(t, evs, 200)
	base := evs[0].Time
	ranges := [][2]int64{{0, 0}, {base, base + int64(3000*time.Second)}, {base + int64(333*time.Second), base + int64(2222*time.Second)}}
	queries := []string{
		"* | count by host",
		"* | count by outcome",
		"* | count by app",
		"* | count by ip | sort by _count desc | limit 7",
		"* | count_distinct(ip)",
		"* | count_distinct(outcome)",
		"| count",
		"app=sshd outcome=failure | count by ip | sort by _count desc | limit 5",
		"app=sshd outcome=failure | count",
		"outcome=failure | count by host",
		"outcome!=failure | count by app",
		"app=nothing | count",
		"app=sshd | limit 7",
		"outcome=Failure user=u3 | count by _host",
		`"Failed password for invalid user" | count`,
		`"failed PASSWORD" | count by app`,
		"failure | count",
		"failure u2 | limit 9",
		"10.0.1.7 | limit 5",
		"ip=10.0.2.9",
		`_raw matches /invalid user (root|admin)/ | count`,
		"NOT sshd | count by outcome",
		"(sshd OR u1) failure | count",
		"u4 | timeslice 5m | count by _timeslice",
		"* | count by user, app",
	}
	for _, text := range queries {
		q := MustParse(text)
		for _, tr := range ranges {
			run := func(src store.Snapshot) string {
				var b strings.Builder
				_, err := Run(context.Background(), src, q, Options{From: tr[0], To: tr[1], Workers: 2}, func(r Row) error {
					b.Write(r.AppendJSON(nil))
					b.WriteByte('\n')
					return nil
				})
				if err != nil {
					t.Fatalf("Run(%q): %v", text, err)
				}
				return b.String()
			}
			want, got := run(plainSnapshot{snap}), run(snap)
			if got != want {
				t.Errorf("%q from %d to %d:\ncolumn loader:\n%s\nplain load:\n%s", text, tr[0], tr[1], got, want)
			}
			if want == "" && !strings.Contains(text, "nothing") {
				t.Errorf("%q: no rows (a test that checks nothing)", text)
			}
		}
	}
}

func TestLocalCounter(t *testing.T) {
	var lc localCounter
	for round := range 3 {
		lc.reset(50)
		want := map[string]int64{}
		for i := range 50 {
			v := fmt.Sprintf("v%d", (i*7+round)%13)
			lc.add(v)
			want[v]++
		}
		if len(lc.keys) != len(want) {
			t.Fatalf("round %d: %d keys, want %d", round, len(lc.keys), len(want))
		}
		for k, v := range lc.keys {
			if lc.counts[k] != want[v] {
				t.Errorf("round %d: count of %s = %d, want %d", round, v, lc.counts[k], want[v])
			}
		}
	}
}

var _ = event.FieldRaw
