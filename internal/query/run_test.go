package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

func TestParseTimeArg(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f := func(in string, want time.Time) {
		t.Helper()
		got, err := ParseTimeArg(in, now)
		if err != nil {
			t.Fatalf("ParseTimeArg(%q): %v", in, err)
		}
		if got != want.UnixNano() {
			t.Errorf("ParseTimeArg(%q) = %v, want %v", in, time.Unix(0, got).UTC(), want)
		}
	}
	f("now", now)
	f("NOW", now)
	f("-15m", now.Add(-15*time.Minute))
	f("-24h", now.Add(-24*time.Hour))
	f("-7d", now.Add(-7*24*time.Hour))
	f("-1w", now.Add(-7*24*time.Hour))
	f("now-1h", now.Add(-time.Hour))
	f("+30s", now.Add(30*time.Second))
	f("2026-01-01T00:00:00Z", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f("2026-01-01T01:00:00.5+01:00", time.Date(2026, 1, 1, 0, 0, 0, 5e8, time.UTC))
	f("2026-01-02", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	f("1767225600", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f("1767225600000", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, bad := range []string{"", "yesterday", "-15x", "-", "2026-13-01"} {
		if _, err := ParseTimeArg(bad, now); err == nil {
			t.Errorf("ParseTimeArg(%q) = nil error, want one", bad)
		}
	}
}

func TestMatchEvent(t *testing.T) {
	e := &event.Event{Time: 1, Raw: "Failed password for root from 10.1.2.3", Host: "h1", Source: "auth",
		Fields: []event.Field{{Name: "user", Value: "root"}, {Name: "port", Value: "22"}, {Name: "note", Value: "MARKER"}}}
	f := func(q string, want bool) {
		t.Helper()
		if got := MustParse(q).MatchEvent(e); got != want {
			t.Errorf("Parse(%q).MatchEvent = %v, want %v", q, got, want)
		}
	}
	f("", true)
	f("failed", true)
	f("fail", false)
	f("marker", true)
	f(`"password for root"`, true)
	f("user=root port>20", true)
	f("user=root port>22", false)
	f("_host=h1 _source=auth", true)
	f("_host=h2", false)
	f("NOT user=root", false)
	f("user!=admin", true)
	f("missing!=x", true)
	f("10.1.2.3", true)
	f("10.1.2.3 OR nothing", true)
	f("fa* pass?ord", true)
}

func TestBuildFilter(t *testing.T) {
	f := func(q, want string) {
		t.Helper()
		got := FilterString(buildFilter(MustParse(q).Search))
		if got != want {
			t.Errorf("buildFilter(%q) = %s, want %s", q, got, want)
		}
	}
	f("", "")
	f("sha256hash", `token("sha256hash")`)
	f(`"203.0.113.77"`, `and(token("203"), token("0"), token("113"), token("77"), token("203.0.113.77"))`)
	f("user=zack.hill", `and(equal(user:"zack.hill"), token(user:"zack"), token(user:"hill"))`)
	f("_host=h1", `equal(_host:"h1")`)
	f("a OR b", `or(token("a"), token("b"))`)
	f("a OR NOT b", "")
	f("a NOT b", `token("a")`)
	f("fail*", "")
	f("src_ip=10.0.0.0/8", "")
	f("status>500", "")
	f("x in (a, b)", `or(equal(x:"a"), equal(x:"b"))`)
	f(`_raw matches /Failed password (root|admin)/`, `token(_raw:"password")`)
}

func TestStoreQueryPushdown(t *testing.T) {
	p, err := newPlan(MustParse("_host=h1 _source=auth _partition=main x"), &Options{From: 5, To: 10, Partitions: []string{"main", "wallet"}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(p.sq.Hosts, p.sq.Sources, p.sq.Partitions, p.sq.MinTime, p.sq.MaxTime) != "[h1] [auth] [main] 5 10" {
		t.Errorf("store query = %+v", p.sq)
	}
	p, _ = newPlan(MustParse("_partition=wallet"), &Options{Partitions: []string{"main"}})
	if !p.empty {
		t.Errorf("partition outside the scope: plan not empty")
	}
	nested := &Query{Search: &And{Kids: []Expr{&Not{Kid: &Compare{Field: "_partition", Op: "=", Value: "_audit"}}, MustParse("_host=h1 x").Search}}}
	p, _ = newPlan(nested, &Options{})
	if fmt.Sprint(p.sq.Hosts) != "[h1]" {
		t.Errorf("nested AND: hosts %v, want [h1]", p.sq.Hosts)
	}
	p, _ = newPlan(MustParse("_host=a OR _host=b"), &Options{})
	if p.sq.Hosts != nil {
		t.Errorf("OR of hosts pushed as a conjunct: %v", p.sq.Hosts)
	}
}

// countingSource wraps a snapshot and counts Load calls; each waits
// delay first (0: none).
type countingSource struct {
	store.Snapshot
	loads atomic.Int64
	delay time.Duration
}

type countingRef struct {
	store.BlockRef
	s *countingSource
}

func (c *countingSource) Blocks(ctx context.Context, q store.Query) ([]store.BlockRef, store.Stats, error) {
	refs, st, err := c.Snapshot.Blocks(ctx, q)
	for i := range refs {
		refs[i] = countingRef{refs[i], c}
	}
	return refs, st, err
}

func (r countingRef) Load(cols []string) (*store.Block, error) {
	r.s.loads.Add(1)
	if r.s.delay > 0 {
		time.Sleep(r.s.delay)
	}
	return r.BlockRef.Load(cols)
}

func manyEvents(n int) []event.Event {
	evs := make([]event.Event, n)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range evs {
		evs[i] = event.Event{Time: base + int64(i)*int64(time.Second), Raw: fmt.Sprintf("line %d user u%d", i, i%7),
			Host: fmt.Sprintf("h%d", i%4), Fields: []event.Field{{Name: "user", Value: fmt.Sprintf("u%d", i%7)}, {Name: "n", Value: fmt.Sprint(i)}}}
	}
	return evs
}

func TestStreamEarlyStop(t *testing.T) {
	src := &countingSource{Snapshot: NewMemSource(manyEvents(10000), MemOptions{BlockRows: 100})}
	var got []string
	st, err := Run(context.Background(), src, MustParse("user | limit 5 | fields n"), Options{Workers: 2}, func(r Row) error {
		v, _ := r.Get("n")
		got = append(got, v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[9999 9998 9997 9996 9995]" {
		t.Errorf("rows = %v, want the newest 5", got)
	}
	// 4 streams of 25 blocks each: the newest block of each stream, plus
	// the look-ahead window, not all 100.
	if n := src.loads.Load(); n > 20 {
		t.Errorf("%d block loads for limit 5, want early stop", n)
	}
	if st.RowsEmitted != 5 {
		t.Errorf("RowsEmitted = %d", st.RowsEmitted)
	}
}

func TestStreamOrderAllRows(t *testing.T) {
	src := NewMemSource(manyEvents(3000), MemOptions{BlockRows: 64})
	for _, asc := range []bool{false, true} {
		q := "user=u3"
		if asc {
			q += " | sort by _time asc"
		}
		var prev int64 = -1
		n := 0
		_, err := Run(context.Background(), src, MustParse(q), Options{Workers: 3}, func(r Row) error {
			v, _ := r.Get("_time")
			ts, _ := event.ParseTime(v)
			if prev >= 0 && ((asc && ts < prev) || (!asc && ts > prev)) {
				return fmt.Errorf("out of order: %d after %d", ts, prev)
			}
			prev = ts
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 3000/7+1 {
			t.Errorf("asc=%v: %d rows, want %d", asc, n, 3000/7+1)
		}
	}
}

func TestRunErrors(t *testing.T) {
	src := NewMemSource(manyEvents(2000), MemOptions{BlockRows: 50})
	stop := errors.New("stop")
	_, err := Run(context.Background(), src, MustParse("*"), Options{}, func(Row) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("emit error: Run = %v, want %v", err, stop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, src, MustParse("| count by n"), Options{}, func(Row) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: Run = %v, want context.Canceled", err)
	}
	_, err = Run(context.Background(), src, MustParse("| count by n"), Options{MaxMemoryBytes: 1000}, func(Row) error { return nil })
	if !errors.Is(err, ErrBudget) {
		t.Errorf("memory budget: Run = %v, want ErrBudget", err)
	}
	_, err = Run(context.Background(), src, MustParse("| count by n"), Options{Timeout: time.Nanosecond}, func(Row) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: Run = %v, want DeadlineExceeded", err)
	}
}

func TestExplain(t *testing.T) {
	src := NewMemSource(manyEvents(1000), MemOptions{BlockRows: 100})
	p, err := Explain(context.Background(), src, MustParse("_host=h1 user=u2 | count by user"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != "aggregate" || fmt.Sprint(p.Hosts) != "[h1]" || p.Store.BlocksTotal != 12 || p.Store.BlocksScanned != 3 {
		t.Errorf("Explain = %+v", p)
	}
	p, err = Explain(context.Background(), src, MustParse("| timeslice 1m | count by _timeslice"), Options{})
	if err != nil || p.Mode != "metadata" {
		t.Errorf("Explain timeslice count: %+v, %v", p, err)
	}
	p, err = Explain(context.Background(), src, MustParse("x | limit 3"), Options{})
	if err != nil || p.Mode != "rows" || p.Limit != 3 || p.Order != "newest first" {
		t.Errorf("Explain rows: %+v, %v", p, err)
	}
}

func TestSortTopNMatchesFullSort(t *testing.T) {
	evs := manyEvents(5000)
	src := NewMemSource(evs, MemOptions{BlockRows: 100})
	collect := func(q string) []string {
		var out []string
		if _, err := Run(context.Background(), src, MustParse(q), Options{Workers: 2}, func(r Row) error {
			b, _ := r.MarshalJSON()
			out = append(out, string(b))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Heap selection (limit 7 of 5000 groups) against a full sort.
	for _, q := range []string{"| m = n % 13 | count by m, user | sort by _count desc, m asc", "| count by n | sort by n desc"} {
		full := collect(q)
		top := collect(q + " | limit 7")
		if fmt.Sprint(full[:7]) != fmt.Sprint(top) {
			t.Errorf("%s: top 7 = %v, want %v", q, top, full[:7])
		}
	}
}

func fieldOf(name, value string) event.Field { return event.Field{Name: name, Value: value} }

// badSource returns blocks whose columns are shorter than their times.
type badSource struct{ store.Snapshot }

type badRef struct{ store.BlockRef }

func (s badSource) Blocks(ctx context.Context, q store.Query) ([]store.BlockRef, store.Stats, error) {
	refs, st, err := s.Snapshot.Blocks(ctx, q)
	for i := range refs {
		refs[i] = badRef{refs[i]}
	}
	return refs, st, err
}

func (r badRef) Load(cols []string) (*store.Block, error) {
	b, err := r.BlockRef.Load(cols)
	if err != nil || len(b.Cols) == 0 {
		return b, err
	}
	c := b.Cols[0]
	c.Values = c.Values[:len(c.Values)-1]
	b.Cols[0] = c
	return b, nil
}

func TestMalformedBlock(t *testing.T) {
	src := badSource{NewMemSource(manyEvents(100), MemOptions{BlockRows: 10})}
	for _, q := range []string{"user | count", "user", "| count by user"} {
		_, err := Run(context.Background(), src, MustParse(q), Options{}, func(Row) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "malformed block") {
			t.Errorf("Run(%q) = %v, want a malformed block error", q, err)
		}
	}
}

func TestTail(t *testing.T) {
	e := &event.Event{Time: 1767225600e9, Raw: `login user=bob src=1.2.3.4`, Host: "h1", Fields: []event.Field{{Name: "app", Value: "auth"}}}
	tl, err := MustParse(`login | kv | where user = "bob" | x = concat(user, "@", _host) | fields x, src`).Tail(Options{})
	if err != nil {
		t.Fatal(err)
	}
	row, ok := tl.Process(e)
	b, _ := row.MarshalJSON()
	if !ok || string(b) != `{"x":"bob@h1","src":"1.2.3.4"}` {
		t.Errorf("Tail.Process = %s, %v", b, ok)
	}
	if _, ok := tl.Process(&event.Event{Raw: "logout user=bob"}); ok {
		t.Errorf("Tail.Process of a non-matching event = true")
	}
	if _, err := MustParse("x | count").Tail(Options{}); err == nil {
		t.Errorf("Tail of an aggregation: no error")
	}
}

func TestLookup(t *testing.T) {
	src := NewMemSource(manyEvents(20), MemOptions{})
	tables := func(name string) (*LookupTable, error) {
		if name != "owners" {
			return nil, ErrNoLookup
		}
		return &LookupTable{Columns: []string{"login", "owner", "team"}, Rows: [][]string{{"u1", "Ann", "red"}, {"u2", "Bo", "blue"}}}, nil
	}
	var got []string
	_, err := Run(context.Background(), src, MustParse("| lookup owner, team from owners on user=login | count by team"), Options{Lookup: tables}, func(r Row) error {
		b, _ := r.MarshalJSON()
		got = append(got, string(b))
		return nil
	})
	if err != nil || fmt.Sprint(got) != `[{"team":"blue","_count":"3"} {"team":"red","_count":"3"}]` {
		t.Errorf("lookup: %v, %v", got, err)
	}
	_, err = Run(context.Background(), src, MustParse("| lookup * from nope on user"), Options{Lookup: tables}, func(Row) error { return nil })
	if !errors.Is(err, ErrNoLookup) {
		t.Errorf("unknown table: %v, want ErrNoLookup", err)
	}
	q := MustParse(`| lookup * from path://"/x/y.csv" on user=login, host`)
	if q.String() != `* | lookup * from "/x/y.csv" on user=login, host=host` {
		t.Errorf("String = %s", q)
	}
}

func TestSortLimitEventRows(t *testing.T) {
	src := NewMemSource(manyEvents(4000), MemOptions{BlockRows: 64})
	collect := func(q string, workers int) string {
		var out []string
		if _, err := Run(context.Background(), src, MustParse(q), Options{Workers: workers}, func(r Row) error {
			v, _ := r.Get("n")
			out = append(out, v)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(out)
	}
	// user sorts text-wise; ties are broken newest first.
	want := collect("| sort by user | fields n, user", 1)
	want = "[" + strings.Join(strings.Fields(strings.Trim(want, "[]"))[:5], " ") + "]"
	for _, w := range []int{1, 3} {
		if got := collect("| sort by user | limit 5 | fields n, user", w); got != want {
			t.Errorf("workers=%d: %s, want %s", w, got, want)
		}
	}
}
