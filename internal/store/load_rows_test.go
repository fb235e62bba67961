package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// rowsOfEveryKind returns events whose columns a block stores with every
// kind: const, int, dict, plain, ipv4, aliases and _raw templates, some
// fields absent in some rows, and bodies long enough for several zstd
// blocks per chunk.
func rowsOfEveryKind(n int, rng *rand.Rand) []*event.Event {
	return rowsOfKinds(n, rng, false)
}

// rowsOfKinds is rowsOfEveryKind; with wordy, each raw text has a random
// word of letters, so the rows share no skeleton (_raw as kindTemplate
// rather than kindSkeleton).
func rowsOfKinds(n int, rng *rand.Rand, wordy bool) []*event.Event {
	rows := make([]*event.Event, n)
	for i := range rows {
		user := fmt.Sprintf("user%d", i%17)
		ip := fmt.Sprintf("10.%d.%d.%d", i%7, rng.IntN(256), i%13)
		port := strconv.Itoa(1000 + rng.IntN(5000))
		noise := fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()) // plain, incompressible
		e := &event.Event{Time: int64(i) * 1e9, Host: "h1", Source: "sshd",
			Raw: fmt.Sprintf("Accepted password for %s from %s port %s id=%s on h1", user, ip, port, noise),
			Fields: []event.Field{{Name: "app", Value: "sshd"}, {Name: "user", Value: user}, {Name: "src_ip", Value: ip},
				{Name: "port", Value: port}, {Name: "noise", Value: noise}, {Name: "user.name", Value: strings.Clone(user)}}}
		if i%5 == 0 {
			e.Fields = append(e.Fields, event.Field{Name: "rare", Value: "only-here"})
		}
		if i%3 == 0 {
			e.Fields = append(e.Fields, event.Field{Name: "dst_ip", Value: ip})
			e.Fields = append(e.Fields, event.Field{Name: "msg", Value: fmt.Sprintf("m%d-%x", i, rng.Uint32())})
		}
		if wordy {
			word := make([]byte, 6)
			for j := range word {
				word[j] = byte('a' + rng.IntN(26))
			}
			e.Raw += " " + string(word)
		}
		if i == 11 {
			e.Raw = ""
		}
		rows[i] = e
	}
	return rows
}

// TestLoadRowsEveryKind checks that LoadRows gives, for random sets of
// rows, exactly what a full load gives in those rows, for every column
// kind, metadata columns and absent columns.
func TestLoadRowsEveryKind(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	kinds := map[byte]bool{}
	for _, wordy := range []bool{false, true} {
		rows := rowsOfKinds(9000, rng, wordy)
		p := loadTestPart(t, rows, 8192)
		for bi := range p.blocks {
			for _, k := range blockKinds(p, bi) {
				kinds[k] = true
			}
		}
		testLoadRows(t, p, rows, rng)
	}
	for _, k := range []byte{kindConst, kindInt, kindDict, kindPlain, kindIPv4, kindAlias, kindTemplate, kindSkeleton} {
		if !kinds[k] {
			t.Errorf("no column of kind %d in the test parts (kinds %v)", k, kinds)
		}
	}
}

func testLoadRows(t *testing.T, p *part, events []*event.Event, rng *rand.Rand) {
	t.Helper()
	ref := func(bi int) RowLoader { return &partRef{p: p, i: bi} }
	first := 0
	for bi := range p.blocks {
		names := append(p.blockColumns(&p.blocks[bi]), event.FieldSource, event.FieldHost, event.FieldPartition, "nope")
		n := int(p.blocks[bi].rows)
		full := eventBlock(events[first:first+n], names)
		first += n
		sets := [][]int{{0}, {n - 1}, {0, n - 1}, {}}
		for range 20 {
			var sel []int
			for r := range n {
				if rng.IntN(n) < 1+rng.IntN(40) {
					sel = append(sel, r)
				}
			}
			sets = append(sets, sel)
		}
		for si, sel := range sets {
			var rl RowLoader = ref(bi)
			var tmpl *RawTemplates
			if si%2 == 1 {
				// Through the templates of a search's load, which reuse
				// its columns and the bodies of the columns it pruned.
				pb, err := p.loadBlockWith(bi, []string{event.FieldRaw, "user", "noise", "src_ip", "msg"},
					LoadOptions{RawTemplates: true, PruneCols: []string{"noise", "src_ip", "msg"}, PruneTexts: []string{"user1"}})
				if err != nil {
					t.Fatal(err)
				}
				if tmpl = pb.Raw; tmpl != nil {
					rl = tmpl
				}
			}
			var b *Block
			var err error
			switch si % 4 {
			case 2:
				// Given the block's times (a search's), or
				b, err = rl.(TimesRowLoader).LoadRowsTimes(names, sel, full.Times)
			case 3:
				// times of another length: ignored.
				b, err = rl.(TimesRowLoader).LoadRowsTimes(names, sel, full.Times[:n/2])
			default:
				b, err = rl.LoadRows(names, sel)
			}
			if tmpl != nil {
				tmpl.Release()
			}
			if err != nil {
				t.Fatalf("block %d rows %v: %v", bi, sel, err)
			}
			if b.Rows() != len(sel) || len(b.Cols) != len(names) {
				t.Fatalf("block %d: %d rows, %d columns, want %d and %d", bi, b.Rows(), len(b.Cols), len(sel), len(names))
			}
			if err := checkRows(full, b, sel); err != nil {
				t.Fatalf("block %d rows %v: %v", bi, sel, err)
			}
		}
		// The times given are the ones used.
		shifted := make([]int64, n)
		for i, ts := range full.Times {
			shifted[i] = ts + 7
		}
		if b, err := ref(bi).(TimesRowLoader).LoadRowsTimes(names, []int{0, n - 1}, shifted); err != nil || b.Times[0] != shifted[0] || b.Times[1] != shifted[n-1] {
			t.Errorf("block %d: times given %d, %d: loaded %v, %v", bi, shifted[0], shifted[n-1], b.Times, err)
		}
		for _, bad := range [][]int{{-1}, {n}, {5, 2}, {3, 3}} {
			if _, err := ref(bi).LoadRows(names, bad); err == nil {
				t.Errorf("block %d: rows %v loaded without an error", bi, bad)
			}
		}
	}
}

// eventBlock is the block a full load of names should give for evs
// (written as one block of stream sshd/h1 in partition main).
func eventBlock(evs []*event.Event, names []string) *Block {
	b := &Block{Partition: "main", Source: "sshd", Host: "h1"}
	for _, e := range evs {
		b.Times = append(b.Times, e.Time)
	}
	for _, name := range names {
		col := Column{Name: name}
		switch name {
		case event.FieldTime:
			col = timeColumn(b.Times)
		case event.FieldSource, event.FieldHost, event.FieldPartition:
			col = metaColumn(name, "main", streamKey{"sshd", "h1"}, len(evs))
		default:
			col.Values, col.Absent = wantColumn(evs, name)
		}
		b.Cols = append(b.Cols, col)
	}
	return b
}

// checkRows compares block b of rows sel with the full load.
func checkRows(full, b *Block, sel []int) error {
	if b.Partition != full.Partition || b.Source != full.Source || b.Host != full.Host {
		return fmt.Errorf("stream %s/%s/%s, want %s/%s/%s", b.Partition, b.Source, b.Host, full.Partition, full.Source, full.Host)
	}
	for j, r := range sel {
		if b.Times[j] != full.Times[r] {
			return fmt.Errorf("row %d: time %d, want %d", r, b.Times[j], full.Times[r])
		}
		for c := range full.Cols {
			want, got := &full.Cols[c], &b.Cols[c]
			if got.Name != want.Name || len(got.Values) != len(sel) || (got.Absent != nil && len(got.Absent) != len(sel)) {
				return fmt.Errorf("column %d: %s with %d values, want %s with %d", c, got.Name, len(got.Values), want.Name, len(sel))
			}
			if got.Values[j] != want.Values[r] || got.Has(j) != want.Has(r) {
				return fmt.Errorf("row %d column %s = %q (%v), want %q (%v)", r, want.Name, got.Values[j], got.Has(j), want.Values[r], want.Has(r))
			}
		}
	}
	return nil
}

// TestLoadRowsCorrupt checks that a damaged chunk body fails the load with
// an error instead of a panic, whatever the rows asked.
func TestLoadRowsCorrupt(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, wordy := range []bool{true, false} { // _raw as templates, as skeletons
		rows := rowsOfKinds(600, rng, wordy)
		p := loadTestPart(t, rows, 600)
		bm := &p.blocks[0]
		names := p.blockColumns(bm)
		for k, c := range bm.cols {
			ch, err := p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			kind, body, err := chunkBody(ch)
			if err != nil {
				t.Fatal(err)
			}
			for _, cut := range []int{0, 1, len(body) / 2, len(body) - 1} {
				if cut < 0 || cut >= len(body) {
					continue
				}
				bad := encodeChunk(nil, kind, []byte(body[:cut]), levelFast)
				all := make([]int, bm.rows)
				for r := range all {
					all[r] = r
				}
				l := &rowLoader{p: p, bm: bm, rows: all, cols: make([]Column, len(bm.cols))}
				_, err := l.decode(bad)
				l.release()
				if err == nil && kind != kindConst {
					t.Errorf("column %s (kind %d) cut at %d of %d: no error", names[k+1], kind, cut, len(body))
				}
			}
		}
	}
}

// FuzzLoadRowsBody feeds arbitrary bodies of every kind to the row-wise
// decoder: errors are fine, panics are not.
func FuzzLoadRowsBody(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	rows := rowsOfEveryKind(64, rng)
	dir := f.TempDir()
	path := dir + "/p.part"
	w, err := createPart(path, "main", 0, levelFast)
	if err != nil {
		f.Fatal(err)
	}
	if err := w.writeBlock("sshd", "h1", rows); err != nil {
		f.Fatal(err)
	}
	info, err := w.finish()
	if err != nil {
		f.Fatal(err)
	}
	p, err := openPart(path, info)
	if err != nil {
		f.Fatal(err)
	}
	defer p.release()
	bm := &p.blocks[0]
	if blockKinds(p, 0)[event.FieldRaw] != kindSkeleton {
		f.Fatal("no skeleton chunk among the seeds")
	}
	for _, c := range bm.cols {
		ch, err := p.chunk(c)
		if err != nil {
			f.Fatal(err)
		}
		if kind, body, err := chunkBody(ch); err == nil {
			f.Add(kind, []byte(body), uint8(3))
		}
	}
	f.Fuzz(func(t *testing.T, kind byte, body []byte, pick uint8) {
		var sel []int
		for r := range 64 {
			if (r*7+int(pick))%5 == 0 {
				sel = append(sel, r)
			}
		}
		if len(sel) == 0 {
			sel = []int{0}
		}
		l := &rowLoader{p: p, bm: bm, rows: sel, cols: make([]Column, len(bm.cols))}
		defer l.release()
		for _, lv := range []level{levelFast} {
			_, _ = l.decode(encodeChunk(nil, kind, body, lv)) // errors are expected
		}
		if slices.Contains(sel, -1) {
			t.Fatal("unreachable")
		}
	})
}
