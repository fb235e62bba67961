package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// TestPlansSame runs phrase and regexp searches on parts whose blocks
// share pooled skeleton texts whose column holes name other columns (of
// other values, stored bytes and coverage keys) from block to block
// (startEvents), with the prepass's plans (phrase_plan.go, for literals
// too) and without, against plain loads. It first checks that the data
// has what the plans must tell apart: a pool entry used by several blocks
// of a part whose holes name columns of different names.
func TestPlansSame(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test; -short skips it")
	}
	queries := []string{
		`"Failed password for invalid user" | count`,
		`"password for invalid" | count`,
		`"invalid user root" | count`,
		`"web Failed password" | count`,
		`"sshd Failed" | count`,
		`"user root" | count`,
		`"Failed" | count by app`,
		`"password" | count by path`,
		`"invalid web" | count`,
		`"d password for" | count`,
		`_raw matches /password for/ | count`,
		`_raw matches /Failed password for invalid user/ | count`,
		`_raw matches /d password for/ | count`,
		`_raw matches /user (root|admin) / | count`,
		`_raw matches /web invalid/ | count`,
	}
	defer func() { planOff, planLit = false, false }()
	shared := 0
	for _, seed := range []uint64{1, 2, 3, 4} {
		evs := planEvents(startEvents(16, 400, seed), seed)
		snap := storeSnapshot(t, evs, 400)
		shared += sharedEntries(t, snap)
		ranges := [][2]int64{{0, 0}, {evs[0].Time + int64(450*time.Second), evs[0].Time + int64(3900*time.Second)}}
		for _, mode := range []struct{ off, lit bool }{{false, false}, {false, true}, {true, false}} {
			planOff, planLit = mode.off, mode.lit
			samePlain(t, snap, queries, ranges, fmt.Sprintf("plans off=%v lit=%v", mode.off, mode.lit), func(string, string) bool { return false })
		}
	}
	// Junctions through a piece into the hole beyond it (farEvents), in
	// pooled blocks: a hole's window reaches past the next hole.
	far := []string{
		`"Failed password for invalid user" | count`,
		`"Failed password for invalid user root" | count`,
		`"password for invalid" | count`,
		`"for invalid user root" | count`,
		`"d password for" | count`,
		`"web Failed password" | count`,
		`"web F" | count by path`,
		`_raw matches /Failed password for invalid user (root|admin)/ | count`,
		`_raw matches /password for inv/ | count`,
		`_raw matches /ssword for invalid user root/ | count`,
		`_raw matches /d password/ | count`,
	}
	for _, seed := range []uint64{1, 2} {
		evs := farEvents(4000, seed)
		snap := storeSnapshot(t, evs, 1000) // pooled heads from ~700 rows on
		shared += sharedEntries(t, snap)
		ranges := [][2]int64{{0, 0}, {evs[0].Time + int64(333*time.Second), evs[0].Time + int64(2222*time.Second)}}
		for _, mode := range []struct{ off, lit bool }{{false, false}, {false, true}} {
			planOff, planLit = mode.off, mode.lit
			samePlain(t, snap, far, ranges, fmt.Sprintf("far junctions, plans lit=%v", mode.lit), func(string, string) bool { return false })
		}
	}
	t.Logf("pool entries naming other columns in another block: %d", shared)
	if shared == 0 {
		t.Fatal("no pool entry names columns of different names in two blocks: the test checks nothing")
	}
}

// planEvents gives the rows of evs long tails of words (no digits, so
// the skeletons' text), a few per block, so that their blocks' skeleton
// heads pass the size from which a writer pools them (8 KiB).
func planEvents(evs []event.Event, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, 43))
	words := []string{"session", "opened", "for", "user", "invalid", "password", "Failed", "closed", "by", "from", "web", "sshd"}
	tails := make([]string, 6)
	for j := range tails {
		var b strings.Builder
		for range 30 {
			b.WriteString(" ")
			b.WriteString(words[rng.IntN(len(words))])
		}
		tails[j] = b.String()
	}
	for i := range evs {
		evs[i].Raw += tails[rng.IntN(len(tails))]
	}
	return evs
}

// sharedEntries returns how many pool entries of the snapshot's parts
// name, in two blocks of their part, columns of different names.
func sharedEntries(t *testing.T, snap store.Snapshot) int {
	t.Helper()
	refs, _, err := snap.Blocks(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		pool  uint64
		entry int
	}
	seen := map[key]string{}
	n := 0
	for _, ref := range refs {
		cl, ok := ref.(store.ColumnLoader)
		if !ok {
			continue
		}
		b, err := cl.LoadWith([]string{event.FieldRaw}, store.LoadOptions{RawTemplates: true})
		if err != nil || b.Raw == nil {
			continue
		}
		rt := b.Raw
		pid, entries := rt.SkeletonPool()
		for id := range rt.Skeletons() {
			e := rt.SkeletonEntry(id)
			if pid == 0 || e < 0 || e >= entries {
				break
			}
			sk := rt.Skeleton(id)
			var names []string
			for q := strings.IndexByte(sk, store.TemplateEscape); q >= 0 && q+1 < len(sk); {
				if c := sk[q+1]; c >= store.TemplateColumn0 && int(c-store.TemplateColumn0) < rt.Columns() {
					names = append(names, rt.Name(int(c-store.TemplateColumn0)))
				}
				j := strings.IndexByte(sk[q+2:], store.TemplateEscape)
				if j < 0 {
					break
				}
				q += 2 + j
			}
			got := strings.Join(names, ",")
			if prev, ok := seen[key{pid, e}]; ok && prev != got {
				n++
			}
			seen[key{pid, e}] = got
		}
		rt.Release()
	}
	return n
}

// TestPlanWords builds plans of many skeletons with up to 450 holes into
// one part, past several chunks (a plan's word names its chunk, offset
// and number of holes) and past planMax, and reads each back against a
// fresh build of its text.
func TestPlanWords(t *testing.T) {
	for _, entries := range []int{40, 1500} {
		planWords(t, entries)
	}
}

// planWords is TestPlanWords on a part of the given number of entries
// (with few, the part's first chunk is smaller).
func planWords(t *testing.T, entries int) {
	rng := rand.New(rand.NewPCG(7, uint64(entries)))
	tf := newTmplFinder("Failed password for invalid user", true)
	pp := &partPlans{plans: make([]atomic.Uint64, entries), wins: map[string]int32{}}
	texts := make([]string, entries)
	var b strings.Builder
	for e := range texts {
		b.Reset()
		n := rng.IntN(20)
		if e%100 == 7 {
			n = 300 + rng.IntN(150)
		}
		for range n {
			b.WriteString([]string{"Failed ", "for ", "user ", " ", "invalid ", ": "}[rng.IntN(6)])
			b.WriteByte(store.TemplateEscape)
			b.WriteByte([]byte{store.TemplateColumn0, store.TemplateColumn0 + 1, store.TemplateHost, store.TemplateVar}[rng.IntN(4)])
		}
		b.WriteString(" end")
		texts[e] = b.String()
	}
	old := 0
	for _, e := range rng.Perm(entries) {
		w := pp.plan(tf, e, texts[e], false)
		ref := &partPlans{wins: pp.wins}
		end, items := ref.build(tf, texts[e], false)
		if len(items) > 2*planMax {
			if w != planOld {
				t.Fatalf("entry %d: %d holes, word %#x, want planOld", e, len(items)/2, w)
			}
			old++
			continue
		}
		n, off := int(w>>3&0xff), int(w>>11&0x1fff)
		got := (*pp.chunks[w>>24&0x3ff].Load())[off : off+2*n]
		if tmplAnswer(w>>1&3) != end || fmt.Sprint(got) != fmt.Sprint(items) {
			t.Fatalf("entry %d: word %#x: end %d holes %v, want %d %v", e, w, w>>1&3, got, end, items)
		}
		if pp.plan(tf, e, texts[e], false) != w {
			t.Fatalf("entry %d: a second look gives another word", e)
		}
	}
	if pp.nc < 2 || old == 0 {
		t.Fatalf("%d entries: %d chunks, %d plans past planMax: want several and some", entries, pp.nc, old)
	}
}

// TestPlanPrepassSame decides every skeleton of pooled blocks in the
// prepass with plans (one plan store per finder for all blocks, so
// windows and plans are shared) and with skelScan, and compares the
// answers and the skeletons deferred to their rows, skeleton by
// skeleton: a finer check than the counts, where a wrong answer of one
// hole is often hidden by another hole of the skeleton.
func TestPlanPrepassSame(t *testing.T) {
	defer func() { planOff, planLit = false, false }()
	terms := []string{"Failed password for invalid user", "password for invalid", "invalid user root", "web Failed password",
		"d password for", "user root", "for invalid user root", "sshd Failed", "Failed", "x-ray", "F", "ssword for invalid user root"}
	type finder struct {
		tf  *tmplFinder
		lit bool
	}
	var fs []finder
	for _, s := range terms {
		fs = append(fs, finder{newTmplFinder(s, true), false}, finder{newTmplFinder(s, false), true})
	}
	data := []struct {
		evs  []event.Event
		rows int
	}{
		{planEvents(startEvents(16, 400, 1), 1), 400},
		{planEvents(startEvents(16, 400, 2), 2), 400},
		{farEvents(4000, 1), 1000},
		{farEvents(4000, 2), 1000},
	}
	planned, compared := 0, 0
	for _, d := range data {
		snap := storeSnapshot(t, d.evs, d.rows)
		refs, _, err := snap.Blocks(context.Background(), store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		for bi, ref := range refs {
			b, err := ref.(store.ColumnLoader).LoadWith([]string{event.FieldRaw}, store.LoadOptions{RawTemplates: true})
			if err != nil || b.Raw == nil {
				t.Fatalf("load: %v", err)
			}
			rt := b.Raw
			if pid, _ := rt.SkeletonPool(); pid == 0 {
				rt.Release()
				continue
			}
			planned++
			// Columns the term matcher reads (covered) differ per block.
			var pruned []string
			for k := range rt.Columns() {
				if (bi+k)%3 != 0 {
					pruned = append(pruned, rt.Name(k))
				}
			}
			for _, f := range fs {
				var want, got blockView
				for j, bv := range []*blockView{&want, &got} {
					bv.reset(b, nil, map[string]int{})
					bv.ref = ref
					bv.setTemplates(rt, pruned)
					planOff, planLit = j == 0, true
					bv.skelPrepass(f.tf, f.lit)
				}
				wa, ga := want.tv.skelCache(f.tf, f.lit).ans, got.tv.skelCache(f.tf, f.lit).ans
				for id := range wa {
					wd := id < len(want.tv.want) && want.tv.want[id]
					gd := id < len(got.tv.want) && got.tv.want[id]
					if wa[id] != ga[id] || wd != gd {
						t.Fatalf("block %d, %q (literal %v), skeleton %d %q: answer %d deferred %v, want %d %v",
							bi, f.tf.term, f.lit, id, rt.Skeleton(id), ga[id], gd, wa[id], wd)
					}
					compared++
				}
			}
			rt.Release()
		}
	}
	if planned < 8 {
		t.Fatalf("%d pooled blocks: the test checks little", planned)
	}
	t.Logf("%d pooled blocks, %d skeleton decisions compared", planned, compared)
}

// TestPlanLists checks the plans' lists (planList): two plans of a part
// have the same list exactly when their ends and their holes' codes and
// windows are the same, so that the prepass may keep one answer a block
// for all of them; with two workers building at once (-race).
func TestPlanLists(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	tf := newTmplFinder("Failed password for invalid user", true)
	texts := make([]string, 800)
	var b strings.Builder
	for e := range texts {
		b.Reset()
		for range rng.IntN(12) {
			b.WriteString([]string{"Failed ", "for ", "user ", " ", "invalid ", ": ", "password "}[rng.IntN(7)])
			b.WriteByte(store.TemplateEscape)
			b.WriteByte([]byte{store.TemplateColumn0, store.TemplateColumn0 + 1, store.TemplateHost, store.TemplateVar}[rng.IntN(4)])
		}
		b.WriteString(" end")
		texts[e] = b.String()
	}
	var ps planStore
	pp := ps.part(1, len(texts))
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range texts {
				if w == 1 {
					e = len(texts) - 1 - e
				}
				pp.plan(tf, e, texts[e], false)
			}
		}()
	}
	wg.Wait()
	type plan struct {
		end   tmplAnswer
		codes string
		list  uint32
	}
	var plans []plan
	for e := range texts {
		w := pp.plan(tf, e, texts[e], false)
		if w == planOld {
			continue
		}
		n, off := int(w>>3&0xff), int(w>>11&0x1fff)
		items := (*pp.chunks[w>>24&0x3ff].Load())[off : off+2*n]
		var codes []int32
		for j := 0; j < len(items); j += 2 {
			codes = append(codes, items[j])
		}
		plans = append(plans, plan{tmplAnswer(w >> 1 & 3), fmt.Sprint(codes), uint32(w >> 34)})
	}
	lists := 0
	for i := range plans {
		if plans[i].list == 0 {
			t.Fatalf("plan %d: no list", i)
		}
		lists = max(lists, int(plans[i].list))
		for j := range i {
			same := plans[i].end == plans[j].end && plans[i].codes == plans[j].codes
			if same != (plans[i].list == plans[j].list) {
				t.Fatalf("plans %v and %v: lists %d and %d", plans[i], plans[j], plans[i].list, plans[j].list)
			}
		}
	}
	if lists < 5 || lists >= len(plans) {
		t.Fatalf("%d lists for %d plans: want several shared", lists, len(plans))
	}
}
