package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestBodyCacheBound puts bodies of random sizes of several parts into a
// small cache, with lookups between, against a model LRU: the bytes held
// never pass the bound, every body served is the one put, and the entries
// kept are the model's (least recently used evicted first).
func TestBodyCacheBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const lim = 64 << 10
	c := newBodyCache(lim)
	parts := make([]*part, 4)
	for k := range parts {
		parts[k] = &part{}
		parts[k].refs.Store(1)
	}
	type key struct {
		p   int
		off uint64
	}
	bodyOf := func(k key) string {
		n := int(k.off*7919+uint64(k.p)*131) % 9000
		return strings.Repeat(string(rune('a'+k.p)), n) + strconv.FormatUint(k.off, 10)
	}
	var model []key // most recent last
	size := func() int64 {
		var n int64
		for _, k := range model {
			n += int64(len(bodyOf(k))) + bodyCacheEntryCost
		}
		return n
	}
	for step := range 5000 {
		k := key{rng.IntN(len(parts)), uint64(rng.IntN(60))}
		if rng.IntN(2) == 0 {
			_, body, ok := c.get(parts[k.p], k.off)
			j := slices.Index(model, k)
			if ok != (j >= 0) || ok && body != bodyOf(k) {
				t.Fatalf("step %d: get %v: %v (model %v), body right %v", step, k, ok, j >= 0, body == bodyOf(k))
			}
			if ok {
				model = append(slices.Delete(model, j, j+1), k)
			}
		} else {
			c.putAll(parts[k.p], []cachedBody{{off: k.off, kind: 3, body: bodyOf(k)}})
			if !slices.Contains(model, k) {
				model = append(model, k)
				for size() > lim {
					model = model[1:]
				}
			}
		}
		if c.size > lim || c.size != size() || len(c.m) != len(model) {
			t.Fatalf("step %d: %d bytes in %d entries, model %d in %d (bound %d)", step, c.size, len(c.m), size(), len(model), lim)
		}
	}
	st := c.stats()
	if st.Hits == 0 || st.Misses == 0 || st.Evictions == 0 {
		t.Fatalf("stats %+v: the test misses a case", st)
	}
	// A body larger than the bound is not kept; a bound of 0 empties the
	// cache and turns it off.
	c.putAll(parts[0], []cachedBody{{off: 999, body: strings.Repeat("x", lim)}})
	if _, _, ok := c.get(parts[0], 999); ok {
		t.Error("a body past the bound was kept")
	}
	c.setMax(0)
	c.putAll(parts[0], []cachedBody{{off: 1000, body: "x"}})
	if c.size != 0 || len(c.m) != 0 || len(c.parts) != 0 {
		t.Errorf("off: %d bytes in %d entries", c.size, len(c.m))
	}
}

// TestBodyCacheDroppedParts: the entries of a part whose last ref is gone
// are removed when another part enters the cache, and none is added for
// it; forgetPartBodies removes a part's entries.
func TestBodyCacheDroppedParts(t *testing.T) {
	c := newBodyCache(1 << 20)
	a, b, d := &part{}, &part{}, &part{}
	for _, p := range []*part{a, b, d} {
		p.refs.Store(1)
	}
	c.putAll(a, []cachedBody{{off: 1, body: "a1"}, {off: 2, body: "a2"}})
	c.putAll(b, []cachedBody{{off: 1, body: "b1"}})
	if _, body, ok := c.get(b, 1); !ok || body != "b1" {
		t.Fatalf("b1: %q %v", body, ok)
	}
	a.refs.Store(0) // released: merged away
	c.putAll(a, []cachedBody{{off: 3, body: "a3"}})
	c.putAll(d, []cachedBody{{off: 1, body: "d1"}}) // a new part: sweeps
	for off := range uint64(4) {
		if _, _, ok := c.get(a, off); ok {
			t.Errorf("entry %d of a dropped part served", off)
		}
	}
	if c.parts[a] != 0 || len(c.m) != 2 || c.size != int64(4+2*bodyCacheEntryCost) {
		t.Errorf("after the sweep: %d entries of a, %d in all, %d bytes", c.parts[a], len(c.m), c.size)
	}
	c.forgetLocked(b)
	if _, _, ok := c.get(b, 1); ok || len(c.m) != 1 {
		t.Errorf("forgotten part served (%v), %d entries", ok, len(c.m))
	}
	// The process's cache, as a part's release would.
	e := &part{}
	e.refs.Store(1)
	sharedBodies.putAll(e, []cachedBody{{off: 1, body: "e1"}})
	if _, _, ok := sharedBodies.get(e, 1); ok {
		t.Error("a body offered once was admitted: the doorkeeper admits on the second use")
	}
	sharedBodies.putAll(e, []cachedBody{{off: 1, body: "e1"}})
	if _, body, ok := sharedBodies.get(e, 1); !ok || body != "e1" {
		t.Fatalf("e1: %q %v", body, ok)
	}
	forgetPartBodies(e)
	if _, _, ok := sharedBodies.get(e, 1); ok {
		t.Error("forgotten part served")
	}
}

// storeRowsWithID are n rows of rowsOfKinds with a unique id field.
func storeRowsWithID(n int, rng *rand.Rand) []event.Event {
	rows := rowsOfKinds(n, rng, false)
	evs := make([]event.Event, n)
	for i, r := range rows {
		evs[i] = *r
		evs[i].Fields = append(slices.Clone(evs[i].Fields), event.Field{Name: "id", Value: strconv.Itoa(i)})
	}
	return evs
}

// loadFewRows loads a few rows of every block of sn through bb (a
// needle's row load: it fills the body cache) and checks them against
// evs by their id. It returns the parts of the blocks.
func loadFewRows(t *testing.T, sn Snapshot, bb *BlockBodies, evs []event.Event, rng *rand.Rand) map[*part]bool {
	t.Helper()
	refs, _, err := sn.Blocks(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	parts := map[*part]bool{}
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		parts[pr.p] = true
		ref := pr.WithBodies(bb)
		sel := []int{rng.IntN(r.Rows())}
		for range 2 {
			b, err := ref.(RowLoader).LoadRows([]string{"id", "user", "src_ip", "app"}, sel)
			if err != nil {
				t.Fatal(err)
			}
			n, err := strconv.Atoi(b.Column("id").Values[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"user", "src_ip", "app"} {
				want, ok := evs[n].Get(name)
				if c := b.Column(name); c.Has(0) != ok || c.Values[0] != want {
					t.Fatalf("row %d %s = %q, want %q", n, name, c.Values[0], want)
				}
			}
		}
		bb.Release()
	}
	return parts
}

// TestBodyCacheMerge fills the cache from the parts of a store, merges
// them away and checks that their entries are dropped (never served: the
// new part's rows are right) once the parts are released.
func TestBodyCacheMerge(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(23, 24))
	opts := testOptions(t.TempDir())
	opts.BlockRows, opts.FullFlush = 1000, true // full parts (cheap ones have no kept bodies)
	opts.MergeMinParts, opts.MergeMaxParts = 2, 8
	s := openTest(t, opts)
	defer s.Close()
	evs := storeRowsWithID(4000, rng)
	for f := range 4 {
		if err := s.Append(ctx, evs[f*1000:(f+1)*1000]); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var bb BlockBodies
	sn := s.Snapshot()
	old := loadFewRows(t, sn, &bb, evs, rng)
	loadFewRows(t, sn, &bb, evs, rng) // the second use admits
	held := 0
	sharedBodies.mu.Lock()
	for p := range old {
		held += sharedBodies.parts[p]
	}
	sharedBodies.mu.Unlock()
	if len(old) < 2 || held == 0 {
		t.Fatalf("%d parts, %d entries of theirs in the cache", len(old), held)
	}
	hits := sharedBodies.hits.Load()
	loadFewRows(t, sn, &bb, evs, rng)
	if sharedBodies.hits.Load() == hits {
		t.Error("the second loads found nothing in the cache")
	}
	sn.Release()
	if err := s.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	// A part's release forgets its entries at once (no sweep has run yet:
	// no part entered the cache since the merge).
	sharedBodies.mu.Lock()
	for p := range old {
		if n := sharedBodies.parts[p]; n != 0 && p.refs.Load() <= 0 {
			t.Errorf("%d entries of a released part before any sweep", n)
		}
	}
	sharedBodies.mu.Unlock()
	sn = s.Snapshot()
	defer sn.Release()
	for p := range loadFewRows(t, sn, &bb, evs, rng) {
		if old[p] {
			t.Fatal("a part merged away is still in the store")
		}
	}
	sharedBodies.mu.Lock()
	defer sharedBodies.mu.Unlock()
	for p := range old {
		if n := sharedBodies.parts[p]; n != 0 {
			t.Errorf("%d entries of a part merged away (refs %d)", n, p.refs.Load())
		}
	}
	for k := range sharedBodies.m {
		if k.p.refs.Load() <= 0 {
			t.Errorf("an entry of a released part")
		}
	}
	for k := range sharedBodies.seen {
		if k.p.refs.Load() <= 0 {
			t.Errorf("a doorkeeper key of a released part")
		}
	}
}

// TestBodyCacheConcurrent loads few rows of random blocks of two parts on
// several goroutines, each through its own BlockBodies, with a cache so
// small that it evicts all the time, and checks every row (go test -race).
func TestBodyCacheConcurrent(t *testing.T) {
	defer SetBodyCacheBytes(DefaultBodyCacheBytes)
	const lim = 96 << 10
	SetBodyCacheBytes(lim)
	rng := rand.New(rand.NewPCG(25, 26))
	type blk struct {
		p      *part
		i      int
		events []*event.Event
	}
	var blocks []blk
	for _, per := range []int{2000, 1000} {
		rows := rowsOfKinds(6000, rng, false)
		p := loadTestPart(t, rows, per)
		first := 0
		for bi := range p.blocks {
			n := int(p.blocks[bi].rows)
			blocks = append(blocks, blk{p, bi, rows[first : first+n]})
			first += n
		}
	}
	names := []string{"user", "src_ip", "app", "noise", "msg"}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	h0 := sharedBodies.hits.Load()
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 27))
			var bb BlockBodies
			for round := range 150 {
				b := blocks[rng.IntN(len(blocks))]
				ref := (&partRef{p: b.p, i: b.i}).WithBodies(&bb).(*partRef)
				sel := []int{rng.IntN(len(b.events))}
				lb, err := ref.LoadRowsTimes(names, sel, nil)
				if err == nil {
					err = checkRows(eventBlock(b.events, names), lb, sel)
				}
				if err == nil && round%3 == 0 {
					user, _ := b.events[sel[0]].Get("user")
					var buf DictBuf
					var cols []Column
					cols, _, err = ref.LoadTermDicts([]string{"user"}, []string{user}, func(v string) bool { return v == user }, nil, nil, &buf)
					if err == nil && (len(cols) != 1 || cols[0].Values[sel[0]] != user) {
						err = fmt.Errorf("term dictionary of user %q: %d columns", user, len(cols))
					}
				}
				bb.Release()
				if err != nil {
					errs <- fmt.Errorf("goroutine %d round %d block %d: %w", g, round, b.i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := BodyCacheStats()
	if st.Bytes > lim || st.Hits == h0 || st.Evictions == 0 {
		t.Errorf("stats %+v (bound %d): bound passed, or no hit or eviction", st, lim)
	}
}
