package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// plainSnap hides the store's BlockSummer: every block is listed and
// aggregated one by one.
type plainSnap struct{ store.Snapshot }

// sumsEvents makes n random events over two partitions and two days, with
// a constant-per-stream field (host), coded fields with absent rows
// (lvl, app), numbers, addresses, a per-row unique text, a field only
// some streams have, and values that look like numbers.
func sumsEvents(r *rand.Rand, n int, base int64) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		st := r.IntN(6)
		e := event.Event{
			Time:      base + r.Int64N(int64(36*time.Hour)),
			Raw:       fmt.Sprintf("line %d of stream %d", i, st),
			Host:      fmt.Sprintf("s%d", st),
			Partition: []string{"main", "other"}[st%2],
		}
		e.Fields = append(e.Fields, fieldOf("host", fmt.Sprintf("web-%d.example", st)))
		if r.IntN(5) != 0 {
			e.Fields = append(e.Fields, fieldOf("lvl", []string{"info", "warn", "error", "10", "9"}[r.IntN(5)]))
		}
		if st < 3 {
			e.Fields = append(e.Fields, fieldOf("app", fmt.Sprintf("app%d", r.IntN(3+st))))
		}
		e.Fields = append(e.Fields,
			fieldOf("n", fmt.Sprint(r.IntN(1000))),
			fieldOf("ip", fmt.Sprintf("10.0.%d.%d", r.IntN(2), r.IntN(30))),
			fieldOf("msg", fmt.Sprintf("unique text %d %x", i, r.Uint64())))
		// Addresses coded as a dictionary (not every value is one).
		ipx := fmt.Sprintf("192.168.%d.%d", r.IntN(2), r.IntN(6))
		if r.IntN(9) == 0 {
			ipx = "-"
		}
		e.Fields = append(e.Fields, fieldOf("ipx", ipx))
		evs[i] = e
	}
	return evs
}

// TestSumsSameAsPlain checks, on random stores of several parts (flushed
// in rounds, some merged), that the aggregations answered from part sums
// give exactly the rows of the block-by-block way: whole and cut time
// ranges, filtered searches (which must not use the sums), partition
// scopes, and columns the sums cannot take (numbers, addresses, unique
// texts, absent fields).
func TestSumsSameAsPlain(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { sumsSameAsPlain(t, seed) })
	}
}

func sumsSameAsPlain(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 42))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	s, err := store.Open(store.Options{Dir: t.TempDir(), BlockRows: 37 + int(seed)*20, MaintainInterval: -1, Sync: store.SyncInterval, FullFlush: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for round := range 4 {
		if err := s.Append(ctx, sumsEvents(r, 400+r.IntN(400), base)); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if round == 2 && seed == 1 {
			if err := s.Merge(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Acknowledged rows not yet in a part: listed as in-memory blocks.
	if err := s.Append(ctx, sumsEvents(r, 50, base)); err != nil {
		t.Fatal(err)
	}
	queries := []string{
		"* | count",
		"* | count by host",
		"* | count by lvl",
		"* | count by app",
		"* | count by n",
		"* | count by ip",
		"* | count by ip | sort by _count desc | limit 3",
		"* | count by ipx",
		"* | count by ipx | sort by _count desc | limit 3",
		"* | count_distinct(ipx)",
		"* | count by msg | sort by _count desc | limit 5",
		"* | count by nosuch",
		"* | count by lvl | sort by _count desc | limit 2",
		"* | count as c by host",
		"* | timeslice 1m | count by _timeslice",
		"* | timeslice 1h | count by _timeslice",
		"* | count by _host",
		"lvl=warn | count by host",
		"s1 | count by lvl",
		"_partition=other | count by lvl",
		"_partition=main | count",
		"NOT lvl=info | count",
		"* | count, count_distinct(lvl) by host",
		"* | where lvl=\"warn\" | count by host",
	}
	type window struct{ from, to int64 }
	wins := []window{{0, 0}, {base, base + int64(48*time.Hour)}}
	for range 6 {
		a := base + r.Int64N(int64(36*time.Hour))
		wins = append(wins, window{a, a + r.Int64N(int64(20*time.Hour)) + 1})
	}
	wins = append(wins, window{base, base + int64(24*time.Hour)}, window{base + int64(24*time.Hour), 0})
	before := store.SumCacheStats()
	for _, q := range queries {
		for _, w := range wins {
			for _, scope := range [][]string{nil, {"main"}, {"other", "main"}} {
				o := Options{From: w.from, To: w.to, Partitions: scope, Workers: 1 + r.IntN(3)}
				snap := s.Snapshot()
				got := runRows(t, snap, q, o)
				want := runRows(t, plainSnap{snap}, q, o)
				snap.Release()
				if got != want {
					t.Fatalf("%q [%d, %d) scope %v:\nsums  %s\nplain %s", q, w.from, w.to, scope, got, want)
				}
			}
		}
	}
	if after := store.SumCacheStats(); after.Hits+after.Misses == before.Hits+before.Misses {
		t.Error("no query used the part sums")
	}
}

// runRows runs q and returns its rows as JSON lines.
func runRows(t *testing.T, snap store.Snapshot, q string, o Options) string {
	t.Helper()
	var b strings.Builder
	_, err := Run(context.Background(), snap, MustParse(q), o, func(r Row) error {
		b.Write(r.AppendJSON(nil))
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatalf("%q: %v", q, err)
	}
	return b.String()
}

// TestSumsUsed checks that a count by a coded field over whole parts
// visits no block, and that its stats count the summed blocks and rows.
func TestSumsUsed(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	r := rand.New(rand.NewPCG(5, 5))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	evs := sumsEvents(r, 2000, base)
	snap := storeSnapshot(t, evs, 50)
	for _, q := range []string{"* | count by host", "* | count", "* | timeslice 1m | count by _timeslice", "* | count by lvl"} {
		src := &loadSpy{Snapshot: snap}
		var st Stats
		var err error
		o := Options{From: base, To: base + int64(48*time.Hour)}
		if st, err = Run(context.Background(), src, MustParse(q), o, func(Row) error { return nil }); err != nil {
			t.Fatal(err)
		}
		// lvl: blocks of fewer than 16 rows store it plain, and are listed.
		if src.listed != 0 && (!strings.Contains(q, "lvl") || src.listed*4 > st.BlocksScanned) {
			t.Errorf("%q: %d of %d blocks listed, want the parts summed", q, src.listed, st.BlocksScanned)
		}
		if st.RowsScanned != int64(len(evs)) || st.BlocksScanned == 0 {
			t.Errorf("%q: stats %+v, want %d rows scanned", q, st, len(evs))
		}
		pst, err := Run(context.Background(), plainSnap{snap}, MustParse(q), o, func(Row) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if pst.RowsMatched != st.RowsMatched || pst.BlocksScanned != st.BlocksScanned || pst.BlocksTotal != st.BlocksTotal {
			t.Errorf("%q: stats %+v, block by block %+v", q, st, pst)
		}
	}
}

// loadSpy is a BlockSummer that counts the blocks listed besides the sums.
type loadSpy struct {
	store.Snapshot
	listed int
}

func (s *loadSpy) BlocksSummed(ctx context.Context, q store.Query, o store.SumOptions) ([]store.BlockRef, *store.PartsSum, store.Stats, error) {
	refs, sum, st, err := s.Snapshot.(store.BlockSummer).BlocksSummed(ctx, q, o)
	s.listed += len(refs)
	return refs, sum, st, err
}
