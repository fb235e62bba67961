package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
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
		// Counted from the codes alone (dictBlock), and the conjuncts
		// decided once for a block then scanned (worker.filter).
		"app=sshd | count by outcome",
		"outcome=failure | count by app",
		"app=sshd outcome=failure | count by outcome",
		"app=sshd outcome=failure | count by user",
		"outcome!=failure | count by outcome",
		"ip=10.0.1.7 | count by outcome",
		"ip=10.0.0.0/16 app=sshd | count by app",
		"outcome=failure | count_distinct(ip)",
		"app=sshd | count by nothing",
		// Minute counts from block metadata in an array (minuteTable).
		"* | timeslice 1m | count by _timeslice",
		"* | timeslice 3m | count by _timeslice",
	}
	samePlain(t, snap, queries, ranges, "column loader", func(text, want string) bool { return want == "" && !strings.Contains(text, "nothing") })
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

// ipEvents returns events with IPv4 columns: src_ip (absent in some
// rows, repeated values, a needle), dst_ip (one non-canonical value, so
// the blocks of one stream store it as text) and a few text fields.
func ipEvents(n int) []event.Event {
	r := rand.New(rand.NewPCG(11, 12))
	evs := manyEvents(n)
	pool := []string{"203.0.113.77", "0.0.0.0", "255.255.255.255", "10.0.0.5", "10.255.255.255", "11.0.0.0", "9.255.255.255"}
	for i := range evs {
		e := &evs[i]
		var src string
		switch k := r.IntN(10); {
		case k < 3:
			src = pool[r.IntN(len(pool))]
		case k < 6:
			src = fmt.Sprintf("10.%d.%d.%d", r.IntN(3), r.IntN(4), r.IntN(256))
		default:
			a := r.Uint32()
			src = fmt.Sprintf("%d.%d.%d.%d", a>>24, a>>16&255, a>>8&255, a&255)
		}
		dst := fmt.Sprintf("10.0.%d.%d", r.IntN(2), r.IntN(256))
		if e.Host == "h2" && i > n/2 && i%37 == 2 {
			dst = "10.0.0.01"
		}
		e.Fields = append(e.Fields, fieldOf("app", []string{"sshd", "nginx"}[r.IntN(2)]), fieldOf("dst_ip", dst))
		// gw_ip: a dictionary of addresses; with a word in h1's late blocks.
		gw := []string{"10.0.0.1", "192.168.1.1", "0.0.0.0"}[r.IntN(3)]
		if e.Host == "h1" && i > n*3/4 && i%13 == 1 {
			gw = "gateway"
		}
		if i%11 != 5 {
			e.Fields = append(e.Fields, fieldOf("gw_ip", gw))
		}
		if i%7 != 3 {
			e.Fields = append(e.Fields, fieldOf("src_ip", src))
			e.Raw += " from " + src
		}
		if i%3 != 0 {
			e.Fields = append(e.Fields, fieldOf("outcome", []string{"success", "failure"}[r.IntN(2)]))
		}
	}
	return evs
}

// TestIPv4Same checks that deciding and counting IPv4 columns by number
// (blocks with the ipv4 kind, store.IPv4Loader) gives exactly the rows of
// the plain load path, with absent rows, blocks where the column is text,
// time ranges that cut blocks, and predicates the fast path leaves alone.
func TestIPv4Same(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := ipEvents(4000)
	snap := storeSnapshot(t, evs, 250)
	// The store must have chosen the kind where it applies, and text
	// where it does not.
	wantBothKinds(t, snap, "src_ip", "dst_ip")
	base := evs[0].Time
	ranges := [][2]int64{{0, 0}, {base + int64(333*time.Second), base + int64(3222*time.Second)}}
	queries := []string{
		"* | count_distinct(src_ip)",
		"* | count_distinct(dst_ip)",
		"* | count by src_ip",
		"* | count by dst_ip | sort by _count desc | limit 5",
		"* | count by src_ip | sort by _count desc | limit 1",
		"* | count_distinct(gw_ip)",
		"app=sshd | count by gw_ip",
		"* | count by gw_ip | sort by _count desc | limit 1",
		"gw_ip=10.0.0.0/8 | count",
		"src_ip=10.0.0.0/8 | count_distinct(gw_ip)",
		"* | count by src_ip | sort by _count desc | limit 10",
		"* | count by src_ip | sort by _count | limit 12",
		"* | count by src_ip | sort by _count asc | limit 3",
		"* | count by src_ip | sort by _count desc, src_ip asc | limit 3",
		"* | count by src_ip | sort by _count desc | limit 100000",
		"app=nginx | count by dst_ip | sort by _count desc | limit 2",
		"app=sshd | count by src_ip",
		"app=sshd outcome=failure | count by src_ip | sort by _count desc | limit 5",
		"app=sshd outcome=failure | count_distinct(src_ip)",
		"src_ip=203.0.113.77",
		`src_ip="203.0.113.77" | count`,
		"src_ip=203.0.113.77 | count by app",
		"src_ip=10.0.0.0/8 | count by src_ip",
		"src_ip=10.0.0.0/8 | limit 10",
		"src_ip=10.1.0.0/16 app=nginx | count_distinct(src_ip)",
		"src_ip!=10.0.0.0/8 | count",
		"src_ip!=203.0.113.77 | count by app",
		"src_ip in (203.0.113.77, 10.0.0.5, 1.2.3.4, bogus, 010.0.0.5) | count by src_ip",
		"src_ip in (203.0.113.77, 0.0.0.0) | limit 20",
		"dst_ip=10.0.0.01",
		"dst_ip=10.0.0.1 | count",
		"dst_ip=10.0.0.0/24 | count by dst_ip",
		"src_ip=203.0.113.* | count",
		"src_ip=0.0.0.0/0 | count",
		"src_ip=203.0.113.77/32 | count",
		"src_ip=10.0.0.0/33 | count",
		"src_ip=::ffff:10.0.0.0/104 | count",
		"src_ip=0.0.0.0 | count",
		"src_ip=255.255.255.255 | count",
		"src_ip=10.0.0.0/8 src_ip!=10.0.0.5 | count",
		"NOT src_ip=10.0.0.0/8 | count",
		"src_ip=10.0.0.0/8 OR app=nginx | count",
		"src_ip=10.0.0.0/8 u4 | count by src_ip",
		"src_ip > 200.0.0.0 | count",
		"203.0.113.77 | count",
		`"203.0.113.77" | limit 3`,
	}
	samePlain(t, snap, queries, ranges, "ipv4 path", func(_, want string) bool { return want == "" })
}

// ipSpySnapshot counts how blocks are loaded: src_ip as numbers or as
// text.
type ipSpySnapshot struct {
	store.Snapshot
	field         string
	numbers, text *atomic.Int64
}

type ipSpyRef struct {
	store.BlockRef
	s *ipSpySnapshot
}

func (s ipSpySnapshot) Blocks(ctx context.Context, q store.Query) ([]store.BlockRef, store.Stats, error) {
	refs, st, err := s.Snapshot.Blocks(ctx, q)
	for i, r := range refs {
		refs[i] = ipSpyRef{r, &s}
	}
	return refs, st, err
}

func (r ipSpyRef) count(cols []string) {
	if cols == nil || slices.Contains(cols, r.s.field) {
		r.s.text.Add(1)
	}
}

func (r ipSpyRef) Load(cols []string) (*store.Block, error) {
	r.count(cols)
	return r.BlockRef.Load(cols)
}

func (r ipSpyRef) LoadWith(cols []string, o store.LoadOptions) (*store.Block, error) {
	r.count(cols)
	return r.BlockRef.(store.ColumnLoader).LoadWith(cols, o)
}

func (r ipSpyRef) LoadDict(name string) (*store.DictColumn, error) {
	c, err := r.BlockRef.(store.ColumnLoader).LoadDict(name)
	if c != nil && name == r.s.field && len(c.Dict) > 0 {
		r.s.numbers.Add(1)
	}
	return c, err
}

func (r ipSpyRef) LoadIPv4(name string) (*store.IPv4Column, error) {
	c, err := r.BlockRef.(store.IPv4Loader).LoadIPv4(name)
	if c != nil {
		r.s.numbers.Add(1)
	}
	return c, err
}

// TestIPv4NoText checks that the aggregations and filters on an IPv4
// column never load it as text where the blocks store numbers.
func TestIPv4NoText(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	evs := ipEvents(2000)
	snap := storeSnapshot(t, evs, 250)
	for _, c := range []struct{ text, field string }{
		{"* | count_distinct(src_ip)", "src_ip"},
		{"app=sshd outcome=failure | count by src_ip | sort by _count desc | limit 5", "src_ip"},
		{"src_ip=203.0.113.77 | count", "src_ip"},
		{"src_ip=10.0.0.0/8 | count by app", "src_ip"},
		{"* | count_distinct(gw_ip)", "gw_ip"}, // dictionaries of addresses
		{"app=nginx | count by gw_ip", "gw_ip"},
	} {
		text := c.text
		spy := ipSpySnapshot{Snapshot: snap, field: c.field, numbers: new(atomic.Int64), text: new(atomic.Int64)}
		// The first half: before the blocks where gw_ip has a word.
		_, err := Run(context.Background(), spy, MustParse(text), Options{Workers: 2, To: evs[1000].Time}, func(Row) error { return nil })
		if err != nil {
			t.Fatalf("Run(%q): %v", text, err)
		}
		if spy.numbers.Load() == 0 || spy.text.Load() != 0 {
			t.Errorf("%q: %s loaded %d times as numbers or codes, %d as text; want no text", text, c.field, spy.numbers.Load(), spy.text.Load())
		}
	}
}

// TestIPPred checks the number predicates against the text predicates
// they stand for, on addresses around the edges of the ranges.
func TestIPPred(t *testing.T) {
	exprs := []string{
		"ip=10.0.0.5", `ip="10.0.0.5"`, "ip!=10.0.0.5", "ip=10.0.0.0/8", "ip!=10.0.0.0/8", "ip=10.0.0.7/8",
		"ip=0.0.0.0/0", "ip=255.255.255.255/32", "ip=1.2.3.4/31", "ip=bogus", "ip=10.0.0.05", "ip=10.0.0.0/33",
		"ip in (10.0.0.5, 9.255.255.255, 1.2.3.4, x, 10.0.0.5)", "ip in (1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,7.7.7.7,8.8.8.8,9.9.9.9,10.0.0.5)",
	}
	addrs := []uint32{0, 1, 0xffffffff, 0xfffffffe, 10 << 24, 10<<24 - 1, 11 << 24, 11<<24 - 1, 10<<24 | 5, 1<<24 | 2<<16 | 3<<8 | 4,
		1<<24 | 2<<16 | 3<<8 | 5, 1<<24 | 2<<16 | 3<<8 | 3, 9<<24 | 9<<16 | 9<<8 | 9, 8<<24 | 8<<16 | 8<<8 | 8}
	r := rand.New(rand.NewPCG(1, 1))
	for range 200 {
		addrs = append(addrs, r.Uint32())
	}
	for _, text := range exprs {
		q := MustParse(text)
		pr := newIPPred(q.Search)
		if pr == nil {
			t.Errorf("%s: no number predicate", text)
			continue
		}
		m, err := newCompiler(&Options{}).compileMatcher(q.Search)
		if err != nil {
			t.Fatal(err)
		}
		f := m.(*fieldMatcher)
		for _, a := range addrs {
			v := string(store.AppendIPv4(nil, a))
			if got, want := pr.match(a), f.pred(v); got != want {
				t.Errorf("%s on %s: %v, text predicate says %v", text, v, got, want)
			}
		}
	}
	for _, text := range []string{"ip=10.0.*", "ip>10.0.0.1", "ip matches /10/", "ip=::1/128"} {
		if pr := newIPPred(MustParse(text).Search); pr != nil {
			t.Errorf("%s: number predicate %+v, want none", text, pr)
		}
	}
}

func TestIPCounters(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	var set ipTable
	all := map[uint32]bool{}
	total := map[uint32]int64{}
	for round := range 4 {
		var batch []uint32
		for range 500 {
			a := r.Uint32() % 300
			if round >= 2 {
				a = r.Uint32()
			}
			if round == 3 {
				batch = append(batch, a, a, 0)
				continue
			}
			if set.add(a, 1) == all[a] {
				t.Fatalf("ipTable.add(%d) new = %v, seen before = %v", a, !all[a], all[a])
			}
			all[a] = true
			total[a]++
		}
		if round == 3 {
			seen := map[uint32]bool{}
			added := 0
			for _, a := range batch {
				if !all[a] && !seen[a] {
					added++
				}
				seen[a] = true
				total[a]++
			}
			if got := set.countEach(batch); got != added {
				t.Fatalf("countEach: %d new, want %d", got, added)
			}
			for a := range seen {
				all[a] = true
			}
		}
	}
	// Counts beyond 32 bits.
	big := uint32(7<<24 | 1)
	for _, n := range []int64{1 << 31, 1 << 31, 5, 1 << 33} {
		set.add(big, n)
		total[big] += n
	}
	set.countEach([]uint32{big, big})
	total[big] += 2
	all[big] = true
	got := map[uint32]int64{}
	set.each(func(a uint32, n int64) { got[a] = n })
	if len(got) != len(all) || set.len() != len(all) {
		t.Errorf("ipTable holds %d addresses (len %d), want %d", len(got), set.len(), len(all))
	}
	for _, a := range []uint32{0, 0xffffffff, 10<<24 | 9, 100<<24 | 99<<16 | 10<<8 | 255, r.Uint32(), r.Uint32()} {
		if got, want := ipTextLen(a), len(store.AppendIPv4(nil, a)); got != want {
			t.Errorf("ipTextLen(%#x) = %d, want %d", a, got, want)
		}
	}
	for _, k := range []int{1, 2, 5, 50, 10000} {
		var all []int64
		set.each(func(_ uint32, n int64) { all = append(all, n) })
		slices.Sort(all)
		want := int64(0)
		if len(all) > k {
			want = all[len(all)-k]
		}
		if got := set.topCount(k); got != want {
			t.Errorf("topCount(%d) = %d, want %d", k, got, want)
		}
	}
	for a, n := range total {
		if got[a] != n {
			t.Errorf("ipTable count of %d = %d, want %d", a, got[a], n)
		}
	}
}

var _ = event.FieldRaw

// FuzzIPPred checks the number predicate of field=value against its text
// predicate on any value and address.
func FuzzIPPred(f *testing.F) {
	f.Add("10.0.0.0/8", uint32(10<<24|5), false, false)
	f.Add("203.0.113.77", uint32(203<<24|113<<8|77), true, true)
	f.Add("1.2.3.4/33", uint32(0), false, false)
	f.Add("10.*", uint32(10<<24), false, false)
	f.Fuzz(func(t *testing.T, want string, a uint32, not, quoted bool) {
		op := "="
		if not {
			op = "!="
		}
		e := &Compare{Field: "ip", Op: op, Value: want, Quoted: quoted}
		pr := newIPPred(e)
		if pr == nil {
			return
		}
		m, err := newCompiler(&Options{}).compileMatcher(e)
		if err != nil {
			return
		}
		fm := m.(*fieldMatcher)
		addrs := []uint32{a}
		if x, ok := parseIPv4(want); ok {
			addrs = append(addrs, x, x+1, x-1)
		}
		for _, x := range addrs {
			v := string(store.AppendIPv4(nil, x))
			if got, want := pr.match(x), fm.pred(v); got != want {
				t.Fatalf("%s%s%q on %s: %v, text predicate says %v", e.Field, op, e.Value, v, got, want)
			}
		}
	})
}

// samePlain runs each query over each time range on snap and on the same
// data through plain loads (plainSnapshot: no fast path), and reports a
// difference (what names the fast path) and a query whose answer makes
// the comparison check nothing (empty reports it).
func samePlain(t *testing.T, snap store.Snapshot, queries []string, ranges [][2]int64, what string, empty func(text, want string) bool) {
	t.Helper()
	for _, text := range queries {
		q := MustParse(text)
		for _, tr := range ranges {
			o := Options{From: tr[0], To: tr[1], Workers: 2}
			want, got := runText(t, plainSnapshot{snap}, q, o), runText(t, snap, q, o)
			if got != want {
				t.Errorf("%q from %d to %d:\n%s:\n%s\nplain load:\n%s", text, tr[0], tr[1], what, got, want)
			}
			if empty(text, want) {
				t.Errorf("%q: no rows (a test that checks nothing)", text)
			}
		}
	}
}

// runText runs q on src and returns its rows as JSON lines.
func runText(t *testing.T, src store.Snapshot, q *Query, o Options) string {
	t.Helper()
	var b strings.Builder
	if _, err := Run(context.Background(), src, q, o, func(r Row) error {
		b.Write(r.AppendJSON(nil))
		b.WriteByte('\n')
		return nil
	}); err != nil {
		t.Fatalf("Run(%s): %v", q, err)
	}
	return b.String()
}

// TestTopSums checks the top addresses of tables summed without merging
// them against the merged counts, on skewed and flat counts with ties,
// for one to three tables.
func TestTopSums(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 60 {
		nt := 1 + round%3
		k := []int{1, 3, 10, 50}[round%4]
		tables := make([]*ipTable, nt)
		merged := map[uint32]int64{}
		distinct := 1 + r.IntN(3000)
		flat := round%5 == 0
		for i := range tables {
			tables[i] = &ipTable{}
			for range r.IntN(20000) {
				x := r.IntN(distinct)
				if !flat {
					x = int(float64(distinct) * r.Float64() * r.Float64() * r.Float64())
				}
				a := uint32(x) * 2654435761 // 0 included
				tables[i].add(a, 1)
				merged[a]++
			}
		}
		if !checkTopSums(t, round, tables, merged, k) {
			if len(merged) <= maxTopCandidates && !flat {
				t.Logf("round %d: gave up (%d distinct)", round, len(merged))
			}
		}
	}
}

// checkTopSums checks topSums(tables, k) against the counts of the
// merged tables: the addresses at or above the k-th largest count, with
// their sums. It reports false when topSums gave up.
func checkTopSums(t *testing.T, round int, tables []*ipTable, merged map[uint32]int64, k int) bool {
	t.Helper()
	var counts []int64
	for _, n := range merged {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	least := int64(0)
	if len(counts) > k {
		least = counts[len(counts)-k]
	}
	var want []uint32
	for a, n := range merged {
		if n >= least {
			want = append(want, a)
		}
	}
	slices.Sort(want)
	keys, sums, ok := topSums(tables, k)
	if !ok {
		return false
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("round %d (%d tables, k %d): %d addresses, want %d", round, len(tables), k, len(keys), len(want))
	}
	for _, a := range keys {
		if sums[a] != merged[a] {
			t.Fatalf("round %d: sum of %d = %d, want %d", round, a, sums[a], merged[a])
		}
	}
	return true
}
