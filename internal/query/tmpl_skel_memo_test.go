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
)

// TestSkelMemoSame decides every skeleton of pooled blocks in the
// literal's prepass with the memo of decisions across blocks
// (tmpl_skel_memo.go: one block view for all the blocks of a snapshot,
// in order, then backwards) and without it (a view per block), and
// compares the answers and the skeletons deferred to their rows,
// skeleton by skeleton. The blocks' columns, their names' order and
// their hosts differ from block to block (startEvents), so recorded
// facts often do not hold on the next block.
func TestSkelMemoSame(t *testing.T) {
	defer func() { skelMemoOff = false }()
	terms := []string{"Failed password for invalid user", "password for invalid", "invalid user root", "web Failed password",
		"d password for", "user root", "for invalid user root", "sshd Failed", "Failed", "x-ray", "F", "ssword for invalid user root",
		"Failed password for invalid user ", " from 10.", "host-1 app", "beta user", "invalid user admin from"}
	for _, h := range memoHosts {
		terms = append(terms, h, h+" app")
	}
	var tfs []*tmplFinder
	for _, s := range terms {
		tfs = append(tfs, newTmplFinder(s, false))
	}
	data := []struct {
		evs  []event.Event
		rows int
	}{
		{planEvents(startEvents(16, 400, 1), 1), 400},
		{planEvents(startEvents(16, 400, 2), 2), 400},
		{planEvents(startEvents(32, 400, 3), 3), 400},
		{planEvents(startEvents(24, 300, 4), 4), 300},
		{farEvents(4000, 1), 1000},
		{farEvents(4000, 2), 1000},
		{memoEvents(48, 300, 1), 300},
		{memoEvents(48, 300, 2), 300},
	}
	compared, hits, misses, pooled := 0, 0, 0, 0
	for di, d := range data {
		snap := storeSnapshot(t, d.evs, d.rows)
		refs, _, err := snap.Blocks(context.Background(), store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		var got blockView // kept across the blocks: the memo carries over
		order := make([]int, 0, 2*len(refs))
		for i := range refs {
			order = append(order, i)
		}
		for i := range refs {
			order = append(order, len(refs)-1-i)
		}
		for _, bi := range order {
			ref := refs[bi]
			b, err := ref.(store.ColumnLoader).LoadWith([]string{event.FieldRaw}, store.LoadOptions{RawTemplates: true})
			if err != nil || b.Raw == nil {
				t.Fatalf("load: %v", err)
			}
			rt := b.Raw
			if pid, _ := rt.SkeletonPool(); pid == 0 {
				rt.Release()
				continue
			}
			pooled++
			for _, tf := range tfs {
				var want blockView
				for j, bv := range []*blockView{&want, &got} {
					bv.reset(b, nil, map[string]int{})
					bv.ref = ref
					bv.setTemplates(rt, nil)
					skelMemoOff = j == 0
					bv.skelPrepass(tf, true)
				}
				wa, ga := want.tv.skelCache(tf, true).ans, got.tv.skelCache(tf, true).ans
				for id := range wa {
					wd := id < len(want.tv.want) && want.tv.want[id]
					gd := id < len(got.tv.want) && got.tv.want[id]
					if wa[id] != ga[id] || wd != gd {
						t.Fatalf("data %d block %d, %q, skeleton %d %q: answer %d deferred %v, want %d %v",
							di, bi, tf.term, id, rt.Skeleton(id), ga[id], gd, wa[id], wd)
					}
					compared++
				}
			}
			rt.Release()
		}
		for _, c := range got.tv.skels {
			if c.pmemo != nil {
				hits += c.pmemo.hits
				misses += c.pmemo.misses
			}
		}
	}
	// The memo must have been used, and found records that did not hold.
	if pooled < 40 || hits < compared/4 || misses < 100 {
		t.Fatalf("%d pooled blocks, %d decisions compared: %d from the memo, %d records that did not hold: the test checks little", pooled, compared, hits, misses)
	}
	t.Logf("%d pooled blocks, %d skeleton decisions compared, %d from the memo, %d records that did not hold", pooled, compared, hits, misses)
}

// TestFactMaskOr checks the set union the shared starts use.
func TestFactMaskOr(t *testing.T) {
	var a, b factMask
	a[0], b[0], b[3] = 1, 2, 1<<63
	a.or(&b)
	if !slices.Equal(a[:], []uint64{3, 0, 0, 1 << 63}) {
		t.Fatalf("or: %x", a)
	}
}

// memoHosts are memoEvents's hosts: some are the literals searched.
var memoHosts = []string{"web", "Failed password", "invalid user root", "x-ray", "user"}

// memoEvents returns runs of blockRows events (a block each) of a few
// skeletons with long shared tails (so the part pools them), whose host
// and column values are drawn per run: values with and without spaces
// (the coverage keys tell), IPv4 addresses or numbers (MayHoldAny
// tells), pieces of the searched literals; so the facts of a decision
// change from block to block.
func memoEvents(runs, blockRows int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 47))
	pools := [][]string{
		{"root", "admin", "kilo"},
		{"a b", "Failed password", "for invalid"},
		{"10.0.0.1", "192.0.2.7"},
		{"1234", "77"},
		{"user", "user root", "x-ray"},
		{"password for", "d", "F"},
	}
	shapes := []string{
		`%T %H app[%P]: Failed password for invalid user %U from %I port %P ssh2`,
		`%T %H app: %A %U from %I`,
		`%T %H %A user %U`,
		`%T %H: for invalid %U user from %I %A`,
		`%T %H app %U%A done`,
	}
	var tail strings.Builder
	for range 40 {
		fmt.Fprintf(&tail, " word%c", 'a'+rune(rng.IntN(26)))
	}
	tl := tail.String()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	var evs []event.Event
	for r := range runs {
		host := memoHosts[rng.IntN(len(memoHosts))]
		us, as, is := pools[rng.IntN(len(pools))], pools[rng.IntN(len(pools))], pools[2+rng.IntN(2)]
		for i := range blockRows {
			n := r*blockRows + i
			u, a, ip := us[rng.IntN(len(us))], as[rng.IntN(len(as))], is[rng.IntN(len(is))]
			raw := expandShape(shapes[rng.IntN(len(shapes))], n, func(c byte) string {
				switch c {
				case 'P':
					return fmt.Sprint(1000 + rng.IntN(50))
				case 'U':
					return u
				case 'A':
					return a
				case 'I':
					return ip
				case 'H':
					return host
				}
				return ""
			}) + tl
			evs = append(evs, event.Event{Time: base + int64(n)*int64(time.Second), Host: host, Source: "auth", Raw: raw,
				Fields: []event.Field{fieldOf("user", u), fieldOf("act", a), fieldOf("src_ip", ip)}})
		}
	}
	return evs
}

// TestSkelMemoBudget checks that the memo's records are charged to the
// query's memory budget, and that a pool whose records do not fit is not
// kept (the prepass decides its skeletons as without a memo) rather than
// failing the query.
func TestSkelMemoBudget(t *testing.T) {
	const entries = 1000
	b := &budget{maxBytes: 6000}
	m := &skelPoolMemo{budget: b}
	if !m.memoBlock(1, entries) {
		t.Fatal("a pool that fits the budget is not kept")
	}
	if got := b.used.Load(); got != entries*4 {
		t.Errorf("charged %d bytes, want %d", got, entries*4)
	}
	if !m.memoBlock(1, entries) || b.used.Load() != entries*4 {
		t.Errorf("the same pool charged again: %d bytes", b.used.Load())
	}
	if m.memoBlock(2, entries) {
		t.Error("a pool past the budget is kept")
	}
	if got := b.used.Load(); got != entries*4 {
		t.Errorf("a refused pool left %d bytes charged, want %d", got, entries*4)
	}
	if err := b.add(0); err != nil {
		t.Errorf("the memo failed the query's budget: %v", err)
	}
	if !(&skelPoolMemo{}).memoBlock(3, entries) {
		t.Error("a memo without a budget refuses a pool")
	}
}
