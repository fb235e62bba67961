package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/mamori/mamori/internal/event"
)

// poolRows returns n rows of about shapes skeletons (heads of blocks of
// a few hundred rows pass headGroupMin).
func poolRows(n, shapes int, seed uint64) []*event.Event {
	rng := rand.New(rand.NewPCG(seed, 4))
	rows := make([]*event.Event, n)
	for i, raw := range manySkeletonTemplates(n, shapes, rng) {
		user := fmt.Sprintf("user%d", i%30)
		rows[i] = &event.Event{Time: int64(i) * 1e9, Host: "h1", Source: "sshd", Raw: raw + " " + user,
			Fields: []event.Field{{Name: "user", Value: user}}}
	}
	return rows
}

// writePoolPart writes rows in blocks of blockRows to a part file, with
// skeleton pools unless off; it returns the path and its manifest info.
func writePoolPart(t testing.TB, rows []*event.Event, blockRows int, off bool) (string, partInfo) {
	t.Helper()
	poolsOff = off
	defer func() { poolsOff = false }()
	path := filepath.Join(t.TempDir(), "p.part")
	w, err := createPart(path, "main", 0, levelFast)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(rows); i += blockRows {
		if err := w.writeBlock("sshd", "h1", rows[i:min(i+blockRows, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	info, err := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	return path, info
}

// openTestPart opens a part file, released at the test's end.
func openTestPart(t testing.TB, path string, info partInfo) *part {
	t.Helper()
	p, err := openPart(path, info)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.release(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// sameBlocks fails unless every block of a and b loads to the same
// columns, whole and as RawTemplates.
func sameBlocks(t *testing.T, a, b *part) {
	t.Helper()
	if len(a.blocks) != len(b.blocks) {
		t.Fatalf("%d blocks, want %d", len(a.blocks), len(b.blocks))
	}
	for bi := range a.blocks {
		ga, err := a.loadBlock(bi, nil)
		if err != nil {
			t.Fatal(err)
		}
		gb, err := b.loadBlock(bi, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ga.Cols) != len(gb.Cols) {
			t.Fatalf("block %d: %d columns, want %d", bi, len(ga.Cols), len(gb.Cols))
		}
		for k := range ga.Cols {
			ca, cb := ga.Cols[k], gb.Cols[k]
			if ca.Name != cb.Name || !slices.Equal(ca.Values, cb.Values) || !slices.Equal(ca.Absent, cb.Absent) {
				t.Fatalf("block %d column %s differs", bi, ca.Name)
			}
		}
		ta, err := a.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
		if err != nil {
			t.Fatal(err)
		}
		tb, err := b.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
		if err != nil {
			t.Fatal(err)
		}
		ra, rb := ta.Raw, tb.Raw
		if ra.Skeletons() != rb.Skeletons() {
			t.Fatalf("block %d: %d skeletons, want %d", bi, ra.Skeletons(), rb.Skeletons())
		}
		for id := range ra.Skeletons() {
			if ra.Skeleton(id) != rb.Skeleton(id) {
				t.Fatalf("block %d skeleton %d differs", bi, id)
			}
		}
		for r := range ra.Rows() {
			if ra.SkeletonOf(r) != rb.SkeletonOf(r) || ra.Template(r) != rb.Template(r) {
				t.Fatalf("block %d row %d differs", bi, r)
			}
		}
		ra.Release()
		rb.Release()
	}
}

// TestSkeletonPoolRoundTrip checks that parts written with pools load
// like the same rows written without (whole, by rows, as RawTemplates),
// are smaller, and give each skeleton one key and one string per part.
func TestSkeletonPoolRoundTrip(t *testing.T) {
	rows := poolRows(4000, 150, 21)
	pp, pinfo := writePoolPart(t, rows, 800, false)
	tp, tinfo := writePoolPart(t, rows, 800, true)
	pooled, plain := openTestPart(t, pp, pinfo), openTestPart(t, tp, tinfo)
	if pooled.pool == nil || pooled.pool.entries() == 0 {
		t.Fatal("no pool written")
	}
	if plain.pool != nil {
		t.Fatal("a pool written with pools off")
	}
	if pinfo.Size >= tinfo.Size {
		t.Errorf("pooled part of %d bytes, %d without", pinfo.Size, tinfo.Size)
	}
	for bi := range pooled.blocks {
		ch, err := pooled.chunk(pooled.blocks[bi].cols[0])
		if err != nil {
			t.Fatal(err)
		}
		if h, _, ok := groupedHeadOf(ch); !ok || h[1] != codecPooled {
			t.Fatalf("block %d: head not pooled", bi)
		}
	}
	sameBlocks(t, pooled, plain)
	testLoadRows(t, pooled, rows, rand.New(rand.NewPCG(7, 8)))

	// One key and one string per skeleton text in the part.
	keys := map[string]uint64{}
	data := map[uint64]*byte{}
	for bi := range pooled.blocks {
		b, err := pooled.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
		if err != nil {
			t.Fatal(err)
		}
		for id := range b.Raw.Skeletons() {
			sk, key := b.Raw.Skeleton(id), b.Raw.SkeletonKey(id)
			if key == 0 {
				t.Fatalf("block %d skeleton %d: no key", bi, id)
			}
			if k, ok := keys[sk]; ok && k != key {
				t.Fatalf("skeleton %q: keys %x and %x", sk, k, key)
			}
			keys[sk] = key
			if sk == "" {
				continue
			}
			if d, ok := data[key]; ok && d != unsafe.StringData(sk) {
				t.Fatalf("skeleton %q: two strings", sk)
			}
			data[key] = unsafe.StringData(sk)
		}
		b.Raw.Release()
	}
	if len(keys) != pooled.pool.entries() {
		t.Errorf("%d distinct skeletons, pool of %d", len(keys), pooled.pool.entries())
	}
	b, err := plain.loadBlockWith(0, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.Raw.SkeletonKey(0) != 0 {
		t.Error("a key for a head without a pool")
	}
	b.Raw.Release()
	rep := &Report{}
	verifyPart(pp, pinfo, rep)
	if !rep.OK() {
		t.Fatalf("verify: %v", rep.Problems)
	}
}

// TestSkeletonPoolCacheBudget reads a pool past a zero cache budget:
// frames are decoded per use and nothing stays counted.
func TestSkeletonPoolCacheBudget(t *testing.T) {
	rows := poolRows(2000, 150, 22)
	pp, pinfo := writePoolPart(t, rows, 400, false)
	tp, tinfo := writePoolPart(t, rows, 400, true)
	old := poolCacheBudget
	poolCacheBudget = 0
	defer func() { poolCacheBudget = old }()
	pooled := openTestPart(t, pp, pinfo)
	sameBlocks(t, pooled, openTestPart(t, tp, tinfo))
	if n := pooled.pool.cached.Load(); n != 0 {
		t.Errorf("%d bytes cached past a zero budget", n)
	}
}

// TestSkeletonPoolCopy copies pooled blocks into parts whose pools number
// entries differently (renumbered heads) and into one whose pool is full
// (heads get their texts back); both load like the source.
func TestSkeletonPoolCopy(t *testing.T) {
	rows := poolRows(3000, 150, 23)
	sp, sinfo := writePoolPart(t, rows, 500, false)
	src := openTestPart(t, sp, sinfo)
	for _, full := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "c.part")
		w, err := createPart(path, "main", 0, levelFast)
		if err != nil {
			t.Fatal(err)
		}
		// Other skeletons first: the copies' entries move.
		w.pool.off = false
		for i := range 50 {
			w.pool.add(fmt.Sprintf("other skeleton %d", i))
		}
		w.pool.off = full
		for bi := range src.blocks {
			if err := w.copyBlock(src, bi); err != nil {
				t.Fatal(err)
			}
		}
		info, err := w.finish()
		if err != nil {
			t.Fatal(err)
		}
		dst := openTestPart(t, path, info)
		sameBlocks(t, dst, src)
		ch, err := dst.chunk(dst.blocks[0].cols[0])
		if err != nil {
			t.Fatal(err)
		}
		head, vars, _ := splitSkeletonChunk(ch)
		if pooled := head[1] == codecPooled; pooled == full {
			t.Errorf("full pool %v: copied head of codec %d", full, head[1])
		}
		sch, err := src.chunk(src.blocks[0].cols[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, svars, _ := splitSkeletonChunk(sch); !bytes.Equal(vars, svars) {
			t.Error("copied variables differ")
		}
		rep := &Report{}
		verifyPart(path, info, rep)
		if !rep.OK() {
			t.Fatalf("verify: %v", rep.Problems)
		}
	}
}

// poolSection returns the offset of the pool's table in part data.
func poolSection(t *testing.T, data []byte) (table, end int) {
	t.Helper()
	foot := data[len(data)-footerSize:]
	end = int(binary.LittleEndian.Uint64(foot))
	tl := int(binary.LittleEndian.Uint32(data[end-poolTrailer:]))
	return end - poolTrailer - tl, end
}

// TestSkeletonPoolDamage checks that a damaged pool frame, table or head
// entry gives errors naming it, from loads and verify, and no panic.
func TestSkeletonPoolDamage(t *testing.T) {
	rows := poolRows(2000, 150, 24)
	path, info := writePoolPart(t, rows, 400, false)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	table, _ := poolSection(t, good)
	write := func(data []byte) (string, partInfo) {
		p := filepath.Join(t.TempDir(), "d.part")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		in := info
		in.CRC = crc32.Checksum(data, castagnoli)
		return p, in
	}
	t.Run("frame", func(t *testing.T) {
		p := openTestPart(t, path, info)
		data := bytes.Clone(good)
		data[p.pool.frames[0].off+3] ^= 0x40
		dp, din := write(data)
		d := openTestPart(t, dp, din)
		if _, err := d.loadBlock(0, nil); err == nil || !strings.Contains(err.Error(), "skeleton pool: frame 0") {
			t.Fatalf("load: %v, want a skeleton pool frame 0 error", err)
		}
		rep := &Report{}
		verifyPart(dp, din, rep)
		if rep.OK() || !strings.Contains(fmt.Sprint(rep.Problems), "skeleton pool: bad skeleton pool: frame 0") {
			t.Fatalf("verify: %v", rep.Problems)
		}
	})
	t.Run("table", func(t *testing.T) {
		data := bytes.Clone(good)
		data[table] ^= 1
		dp, din := write(data)
		if _, err := openPart(dp, din); err == nil || !strings.Contains(err.Error(), "skeleton pool: table") {
			t.Fatalf("open: %v, want a pool table error", err)
		}
		rep := &Report{}
		verifyPart(dp, din, rep)
		if rep.OK() || !strings.Contains(fmt.Sprint(rep.Problems), "bad skeleton pool") {
			t.Fatalf("verify: %v", rep.Problems)
		}
	})
	t.Run("entry", func(t *testing.T) {
		// A head naming an entry past the pool.
		p := openTestPart(t, path, info)
		ch, err := p.chunk(p.blocks[0].cols[0])
		if err != nil {
			t.Fatal(err)
		}
		head := headWithEntry(t, ch, uint32(p.pool.entries()))
		n, k := binary.Uvarint(head[2:])
		sb := skelPool.Get().(*skelBlock)
		defer sb.release()
		err = sb.decodePooled(head[2+k:], n, int(p.blocks[0].rows), p.pool)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("entry %d out of %d", p.pool.entries(), p.pool.entries())) {
			t.Fatalf("decode: %v, want an entry out of range", err)
		}
		if err := sb.decodePooled(head[2+k:], n, int(p.blocks[0].rows), nil); err == nil || !strings.Contains(err.Error(), "without a pool") {
			t.Fatalf("decode without a pool: %v", err)
		}
	})
}

// headWithEntry returns the pooled head of kindSkeleton chunk ch with
// every entry set to e.
func headWithEntry(t *testing.T, ch []byte, e uint32) []byte {
	t.Helper()
	head, _, ok := splitSkeletonChunk(ch)
	if !ok || head[1] != codecPooled {
		t.Fatal("not a pooled head")
	}
	n, k := binary.Uvarint(head[2:])
	var ht headTable
	if err := ht.parse(head[2+k:], n); err != nil {
		t.Fatal(err)
	}
	idx, _, err := pooledIndexes(&ht, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	list := binary.AppendUvarint(nil, uint64(len(idx)))
	for range idx {
		list = binary.AppendUvarint(list, uint64(e))
	}
	initCodecs()
	return appendRepooled(nil, &ht, list, encoders[levelFast].EncodeAll(list, nil))
}

// FuzzSkeletonPool reads pool sections: errors, never a panic; the
// entries of a pool that parses resolve or fail cleanly.
func FuzzSkeletonPool(f *testing.F) {
	rows := poolRows(1200, 150, 25)
	path, _ := writePoolPart(f, rows, 600, false)
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	end := int(binary.LittleEndian.Uint64(data[len(data)-footerSize:]))
	f.Add(data[:end])
	f.Add([]byte(partMagic + "\x00\x01\x00\x00\x00" + "\x00\x00\x00\x00" + poolMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		sp, err := readPool(data, uint64(len(data)))
		if err != nil || sp == nil {
			return
		}
		idx := []uint32{0, uint32(sp.entries() - 1), uint32(sp.entries()), 1 << 30}
		out := make([]string, 1)
		for _, i := range idx {
			_ = sp.resolve([]uint32{i}, out)
		}
		_, _ = sp.check()
		sp.drop()
	})
}

// FuzzPooledHead decodes pooled heads against a valid pool: errors,
// never a panic.
func FuzzPooledHead(f *testing.F) {
	rows := poolRows(1200, 150, 26)
	path, info := writePoolPart(f, rows, 600, false)
	p, err := openPart(path, info)
	if err != nil {
		f.Fatal(err)
	}
	defer p.release()
	for bi := range p.blocks {
		ch, err := p.chunk(p.blocks[bi].cols[0])
		if err != nil {
			f.Fatal(err)
		}
		head, _, _ := splitSkeletonChunk(ch)
		f.Add(bytes.Clone(head), uint16(p.blocks[bi].rows))
	}
	f.Fuzz(func(t *testing.T, head []byte, rows uint16) {
		if len(head) < 3 {
			return
		}
		n, k := binary.Uvarint(head[2:])
		if k <= 0 || n > maxChunkBytes {
			return
		}
		sb := skelPool.Get().(*skelBlock)
		defer sb.release()
		if sb.decodePooled(head[2+k:], n, int(rows), p.pool) == nil {
			_ = sb.count()
		}
		var ht headTable
		if ht.parse(head[2+k:], n) == nil {
			if idx, _, err := pooledIndexes(&ht, nil, nil); err == nil {
				_, _, _ = repool(nil, appendSkeletonChunk(nil, head, []byte{kindSkeleton, 0, 0}), p.pool, &poolBuilder{}, levelFast)
				_ = idx
			}
		}
	})
}

// TestSkeletonPoolConcurrent reads one pool from several workers (run
// with -race): every worker sees the same skeletons.
func TestSkeletonPoolConcurrent(t *testing.T) {
	rows := poolRows(2400, 150, 27)
	pp, pinfo := writePoolPart(t, rows, 600, false)
	p := openTestPart(t, pp, pinfo)
	want := make([][]string, len(p.blocks))
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			var err error
			defer func() { errs <- err }()
			for bi := range p.blocks {
				var b *Block
				if b, err = p.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true}); err != nil {
					return
				}
				var got []string
				for id := range b.Raw.Skeletons() {
					got = append(got, b.Raw.Skeleton(id))
				}
				b.Raw.Release()
				if w == 0 {
					want[bi] = got
				}
			}
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for bi := range p.blocks {
		b, err := p.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
		if err != nil {
			t.Fatal(err)
		}
		for id := range b.Raw.Skeletons() {
			if b.Raw.Skeleton(id) != want[bi][id] {
				t.Fatalf("block %d skeleton %d differs between workers", bi, id)
			}
		}
		b.Raw.Release()
	}
}

// TestSkeletonPoolMerge merges parts with pools (full blocks copied, their
// heads renumbered into the new pool; the others written again) and
// checks every row's raw text, verify, and the texts after reopening.
func TestSkeletonPoolMerge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.BlockRows, opts.MergeMinParts, opts.MergeMaxParts, opts.FullFlush = 1000, 2, 8, true
	s := openTest(t, opts)
	rows := poolRows(8000, 150, 28)
	evs := make([]event.Event, len(rows))
	want := map[string]string{}
	for i, e := range rows {
		evs[i] = *e
		id := strconv.Itoa(i)
		evs[i].Fields = append(evs[i].Fields, event.Field{Name: "id", Value: id})
		want[id] = e.Raw
	}
	// Flushes in time order (full blocks copied) but for the last 300
	// rows of flushes 1 and 3, flushed last (their blocks overlap).
	for f := range 4 {
		appendFlushEvents(t, s, evs[f*2000:(f+1)*2000-300*(f%2)])
	}
	appendFlushEvents(t, s, evs[2000-300:2000])
	appendFlushEvents(t, s, evs[6000-300:6000])
	check := func(s *Store) {
		t.Helper()
		sn := s.Snapshot()
		defer sn.Release()
		refs, _, err := sn.Blocks(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range refs {
			b, err := r.Load([]string{"id", event.FieldRaw})
			if err != nil {
				t.Fatal(err)
			}
			ids, raws := b.Column("id"), b.Column(event.FieldRaw)
			for i := range b.Rows() {
				if raws.Values[i] != want[ids.Values[i]] {
					t.Fatalf("row %s: raw %q, want %q", ids.Values[i], raws.Values[i], want[ids.Values[i]])
				}
				n++
			}
		}
		if n != len(rows) {
			t.Fatalf("%d rows, want %d", n, len(rows))
		}
	}
	check(s)
	if err := s.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	if m := s.Metrics(); m.MergesDone == 0 || m.MergeBlocksCopied == 0 {
		t.Fatalf("merges %d, blocks copied %d: want both", m.MergesDone, m.MergeBlocksCopied)
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, dir)
	s = openTest(t, opts)
	defer s.Close()
	check(s)
}

// TestSkeletonPoolUpgrade commits a part of version 5 (no pool) to a
// store and upgrades it: the new part has a pool, pooled heads and the
// same rows.
func TestSkeletonPoolUpgrade(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.BlockRows = 1000 // heads large enough to pool
	s := openTest(t, opts)
	defer s.Close()
	rows := poolRows(3000, 150, 29)
	name := partName("main", 0, s.man.nextID())
	w, err := createPart(filepath.Join(dir, partsDir, filepath.FromSlash(name)), "main", 0, levelFast)
	if err != nil {
		t.Fatal(err)
	}
	w.version = 5
	for i := 0; i < len(rows); i += 1000 {
		if err := w.writeBlock("sshd", "h1", rows[i:i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	info, err := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	info.Name = name
	if err := s.commitParts(commit{Op: "flush", Add: []partInfo{info}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	raws := func() []string {
		sn := s.Snapshot()
		defer sn.Release()
		refs, _, err := sn.Blocks(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range refs {
			b, err := r.Load([]string{event.FieldRaw})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b.Column(event.FieldRaw).Values...)
		}
		return out
	}
	before := raws()
	if n, err := s.Upgrade(ctx); err != nil || n != 1 {
		t.Fatalf("Upgrade = %d, %v; want 1, nil", n, err)
	}
	s.mu.Lock()
	var p *part
	for _, q := range s.parts {
		p = q
	}
	s.mu.Unlock()
	if p.version != partVersion || p.pool == nil {
		t.Fatalf("upgraded part of version %d, pool %v", p.version, p.pool != nil)
	}
	if after := raws(); !slices.Equal(before, after) || len(after) != len(rows) {
		t.Fatal("rows differ after the upgrade")
	}
	verifyOK(t, dir)
}
