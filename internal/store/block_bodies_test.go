package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestBlockBodiesSame runs a needle's loads (term dictionaries, addresses,
// address rows, the refs summary, a pruned load, row-wise loads) through one
// BlockBodies over the blocks of two parts in random order, so that it
// keeps and forgets blocks (same block index in another part too), and
// compares every answer with the same load without it.
func TestBlockBodiesSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	type blk struct {
		p      *part
		i      int
		events []*event.Event
	}
	var blocks []blk
	for _, shape := range []struct {
		n, per int
		wordy  bool
	}{{9000, 8192, false}, {3000, 1000, false}, {2000, 1000, true}} {
		rows := rowsOfKinds(shape.n, rng, shape.wordy)
		p := loadTestPart(t, rows, shape.per)
		first := 0
		for bi := range p.blocks {
			n := int(p.blocks[bi].rows)
			blocks = append(blocks, blk{p, bi, rows[first : first+n]})
			first += n
		}
	}
	var bb BlockBodies
	kept, checked, ipRows := 0, 0, 0
	for round := range 120 {
		b := blocks[rng.IntN(len(blocks))]
		plain := &partRef{p: b.p, i: b.i}
		ref := plain.WithBodies(&bb).(*partRef)
		n := len(b.events)
		e := b.events[rng.IntN(n)]
		user, _ := e.Get("user")
		ip, _ := e.Get("src_ip")
		noise, _ := e.Get("noise")
		names := append(b.p.blockColumns(&b.p.blocks[b.i]), event.FieldSource, "nope")
		steps := []func(r *partRef) (string, error){
			func(r *partRef) (string, error) {
				match := func(v string) bool { return strings.EqualFold(v, user) }
				var buf DictBuf
				cols, decided, err := r.LoadTermDicts([]string{"user", "user.name", "app", "rare", "noise", "nope"}, []string{user}, match, nil, nil, &buf)
				return fmt.Sprint(cols, decided), err
			},
			func(r *partRef) (string, error) {
				addr, _ := parseIPv4Addr(ip)
				var buf DictBuf
				rows, ok, err := r.IPv4EqualRows("src_ip", addr, nil, &buf)
				return fmt.Sprint(rows, ok), err
			},
			func(r *partRef) (string, error) {
				var buf IPv4RowsBuf
				rs, ok, err := r.LoadIPv4Rows("src_ip", &buf)
				if !ok || err != nil {
					return fmt.Sprint(ok), err
				}
				if r.bb != nil {
					ipRows++
				}
				// Other loads of the block leave the rows valid.
				if _, err := r.LoadRows([]string{"src_ip", "user"}, []int{rng.IntN(n)}); err != nil {
					return "", err
				}
				var out []string
				for range 4 {
					k := rng.IntN(n + 1) // n: past the rows
					a, ok := rs.At(k)
					out = append(out, fmt.Sprint(k, a, ok))
				}
				return fmt.Sprint(out), nil
			},
			func(r *partRef) (string, error) {
				ok, err := r.TermsOnlyInValues([]string{noise}, names)
				return fmt.Sprint(ok), err
			},
			func(r *partRef) (string, error) {
				lb, err := r.LoadWith([]string{"user", "noise", "src_ip", "msg", "app"},
					LoadOptions{PruneCols: []string{"noise", "msg", "user", "app"}, PruneTexts: []string{user}, NoTimes: round%2 == 0})
				if err != nil {
					return "", err
				}
				return fmt.Sprint(lb.Times, lb.Cols), nil
			},
			func(r *partRef) (string, error) {
				var sel []int
				for range 1 + rng.IntN(4) {
					sel = append(sel, rng.IntN(n))
				}
				slices.Sort(sel)
				sel = slices.Compact(sel)
				lb, err := r.LoadRowsTimes(names, sel, nil)
				if err != nil {
					return "", err
				}
				return fmt.Sprint(sel), checkRows(eventBlock(b.events, names), lb, sel)
			},
			func(r *partRef) (string, error) {
				// The rows through the templates of a search's load.
				lb, err := r.LoadWith([]string{event.FieldRaw, "user"}, LoadOptions{RawTemplates: true, PruneCols: []string{"noise", "msg"}, PruneTexts: []string{user}})
				if err != nil || lb.Raw == nil {
					return fmt.Sprint(lb == nil || lb.Raw == nil), err
				}
				defer lb.Raw.Release()
				sel := []int{rng.IntN(n)}
				rb, err := lb.Raw.LoadRowsTimes(names, sel, nil)
				if err != nil {
					return "", err
				}
				return fmt.Sprint(sel), checkRows(eventBlock(b.events, names), rb, sel)
			},
		}
		// The same steps in a random order, some twice.
		for range 8 {
			k := rng.IntN(len(steps))
			s := rng.Uint64()
			rng = rand.New(rand.NewPCG(s, 1))
			got, err := steps[k](ref)
			if err != nil {
				t.Fatalf("round %d block %d step %d through %v: %v", round, b.i, k, &bb, err)
			}
			rng = rand.New(rand.NewPCG(s, 1))
			want, err := steps[k](plain)
			if err != nil {
				t.Fatalf("round %d block %d step %d: %v", round, b.i, k, err)
			}
			if got != want {
				t.Fatalf("round %d block %d step %d through %v:\n got %.300s\nwant %.300s", round, b.i, k, &bb, got, want)
			}
		}
		kept, checked = max(kept, bb.n), max(checked, len(bb.checked))
	}
	if kept == 0 || checked == 0 || ipRows == 0 {
		t.Errorf("at most %d bodies kept and %d chunks checked, %d address rows loaded: the test reads nothing through the BlockBodies", kept, checked, ipRows)
	}
}

// parseIPv4Addr is a dotted quad as a number (test helper).
func parseIPv4Addr(s string) (uint32, bool) {
	var a [4]uint32
	if _, err := fmt.Sscanf(s, "%d.%d.%d.%d", &a[0], &a[1], &a[2], &a[3]); err != nil {
		return 0, false
	}
	return a[0]<<24 | a[1]<<16 | a[2]<<8 | a[3], true
}

// TestBlockBodiesDamaged damages each chunk of a block in turn: every
// load through a BlockBodies reports the checksum mismatch, also after an
// earlier load of another block and when asked again (a failed check is
// not remembered), and the block's other columns still load.
func TestBlockBodiesDamaged(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	rows := rowsOfKinds(1200, rng, false)
	good := loadTestPart(t, rows, 600).data
	p0, err := parsePart(bytes.Clone(good))
	if err != nil {
		t.Fatal(err)
	}
	for k, c := range p0.blocks[0].cols {
		name := p0.names[c.name]
		t.Run(name, func(t *testing.T) {
			p, err := parsePart(bytes.Clone(good))
			if err != nil {
				t.Fatal(err)
			}
			c := p.blocks[0].cols[k]
			p.data[c.off+uint64(c.size)-1] ^= 0x5a
			var bb BlockBodies
			other := (&partRef{p: p, i: 1}).WithBodies(&bb).(*partRef)
			if _, err := other.LoadRows(nil, []int{3}); err != nil {
				t.Fatalf("other block: %v", err)
			}
			ref := (&partRef{p: p, i: 0}).WithBodies(&bb).(*partRef)
			user, _ := rows[7].Get("user")
			loads := map[string]func() error{
				"rows": func() error { _, err := ref.LoadRows([]string{name}, []int{7}); return err },
				"with": func() error { _, err := ref.LoadWith([]string{name}, LoadOptions{}); return err },
			}
			switch p.data[c.off] {
			case kindDict, kindConst, kindPlain:
				if event.IsMeta(name) {
					break
				}
				// Pruning reads the body (a text is in it or not).
				loads["pruned"] = func() error {
					_, err := ref.LoadWith([]string{name}, LoadOptions{PruneCols: []string{name}, PruneTexts: []string{"nowhere"}})
					return err
				}
				if p.data[c.off] == kindPlain {
					break
				}
				loads["dicts"] = func() error {
					_, _, err := ref.LoadTermDicts([]string{name}, []string{user}, func(string) bool { return true }, nil, nil, nil)
					return err
				}
			case kindIPv4:
				loads["addresses"] = func() error { _, _, err := ref.IPv4EqualRows(name, 1, nil, nil); return err }
				loads["address rows"] = func() error { _, _, err := ref.LoadIPv4Rows(name, new(IPv4RowsBuf)); return err }
			}
			for what, load := range loads {
				for range 2 {
					if err := load(); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
						t.Errorf("%s: err = %v, want a checksum mismatch", what, err)
					}
				}
			}
			// The other columns of the block still load.
			for _, o := range p.blockColumns(&p.blocks[0]) {
				if o == name || o == event.FieldRaw {
					continue // _raw refers to the damaged column
				}
				if oc := p.blocks[0].cols; slices.ContainsFunc(oc, func(c colMeta) bool {
					return p.names[c.name] == o && p.data[c.off] == kindAlias
				}) {
					continue // maybe an alias of the damaged column
				}
				if _, err := ref.LoadRows([]string{o}, []int{7}); err != nil {
					t.Errorf("column %s: %v", o, err)
				}
			}
		})
	}
}

// TestBlockBodiesKeys checks that kept bodies and checked chunks belong
// to one block of one part: the same offset in another block or part is
// not theirs, and a block once left is forgotten.
func TestBlockBodiesKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	rows := rowsOfKinds(1200, rng, false)
	pa := loadTestPart(t, rows, 600)
	pb := loadTestPart(t, rows, 600)
	bm := &pa.blocks[0]
	k := slices.IndexFunc(bm.cols, func(c colMeta) bool { return pa.names[c.name] == "user" })
	c := bm.cols[k]
	ch, err := pa.chunk(c)
	if err != nil {
		t.Fatal(err)
	}
	var bb BlockBodies
	if !bb.keeps(ch) {
		t.Fatalf("the user column (codec %d) is not kept", ch[1])
	}
	_, want, err := chunkBodyTo(ch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, body, err := bb.decodeBody(pa, 0, c, ch, nil); err != nil || body != want {
		t.Fatalf("decodeBody: %v, body equal %v", err, body == want)
	}
	if _, err := bb.chunk(pa, 0, c); err != nil {
		t.Fatal(err)
	}
	if _, body, ok := bb.body(pa, 0, c.off); !ok || body != want {
		t.Fatalf("kept body: %v", ok)
	}
	for _, o := range []struct {
		p *part
		i int
	}{{pb, 0}, {pa, 1}} {
		if _, _, ok := bb.body(o.p, o.i, c.off); ok {
			t.Errorf("block %d of part %p has the body of block 0 of part %p", o.i, o.p, pa)
		}
		if len(bb.checked) != 0 {
			t.Errorf("block %d of part %p has chunks checked in another block", o.i, o.p)
		}
	}
	if _, _, ok := bb.body(pa, 0, c.off); ok {
		t.Error("a block left is remembered")
	}
}

// TestKeptScratches checks the buffers of kept bodies: each has room
// for any body a BlockBodies keeps, which it decodes without growing,
// and buffers of other sizes do not enter their pool.
func TestKeptScratches(t *testing.T) {
	body := bytes.Repeat([]byte("a kept body "), keptBodyMax/12+1)[:keptBodyMax]
	ch := encodeChunk(nil, kindDict, body, levelFast)
	var bb BlockBodies
	if ch[1] != codecZstd || !bb.keeps(ch) {
		t.Fatalf("codec %d: a zstd body of %d bytes is not kept", ch[1], keptBodyMax)
	}
	for i := range 50 {
		// A buffer of another size given back is not taken in: the
		// next one taken (from an emptied slot) has the room.
		first := getKeptScratch()
		putKeptScratch(&colScratch{body: make([]byte, 0, 100)})
		putKeptScratch(&colScratch{body: make([]byte, 0, 4*keptBodyMax)})
		sc := getKeptScratch()
		if cap(first.body) < keptBodyMax+frameSlack || cap(sc.body) < keptBodyMax+frameSlack || cap(sc.body) > 2*keptBodyMax {
			t.Fatalf("round %d: buffers of %d and %d bytes", i, cap(first.body), cap(sc.body))
		}
		at := &sc.body[:1][0]
		if _, got, err := chunkBodyTo(ch, sc); err != nil || got != string(body) {
			t.Fatalf("round %d: %d bytes, %v", i, len(got), err)
		}
		if &sc.body[0] != at {
			t.Fatalf("round %d: the buffer grew", i)
		}
		putKeptScratch(first)
		putKeptScratch(sc)
	}
	// A small body kept by a BlockBodies is in such a buffer.
	small := encodeChunk(nil, kindDict, body[:2000], levelFast)
	p := &part{}
	if _, got, err := bb.decodeBody(p, 0, colMeta{off: 1}, small, nil); err != nil || got != string(body[:2000]) || bb.n != 1 {
		t.Fatalf("%d bytes, %v, %d kept", len(got), err, bb.n)
	}
	if c := cap(bb.bodies[0].sc.body); c < keptBodyMax+frameSlack {
		t.Fatalf("a kept body in a buffer of %d bytes", c)
	}
	bb.Release()
}

// TestBigBody checks that a pooled buffer too small for a body is not
// given back to the pool, and that a new one has a quarter more room.
func TestBigBody(t *testing.T) {
	for i := range 20 {
		small := make([]byte, 0, bigBodyMin)
		bigBodies.Put(&small)
		n := bigBodyMin*2 + i
		b := bigBody(n)
		if cap(b) < n+n/4 {
			t.Fatalf("round %d: capacity %d for %d bytes", i, cap(b), n)
		}
		if g, ok := bigBodies.Get().(*[]byte); ok && cap(*g) < n {
			t.Fatalf("round %d: the buffer of %d bytes went back to the pool", i, cap(*g))
		}
		b = b[:0]
		bigBodies.Put(&b)
		if got := bigBody(n); cap(got) < n {
			t.Fatalf("round %d: capacity %d for %d bytes", i, cap(got), n)
		}
	}
}
