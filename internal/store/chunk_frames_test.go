package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// plainBody returns a kindPlain body of rows values (some absent) that
// compresses like log fields: words from a small set and numbers.
func plainBody(rows int, rng *rand.Rand) ([]string, []bool, []byte) {
	words := []string{"GET", "/index.html", "Mozilla/5.0", "session", "user", "error", "ok"}
	vals, absent := make([]string, rows), make([]bool, rows)
	for i := range vals {
		if rng.IntN(17) == 0 {
			absent[i] = true
			continue
		}
		var sb strings.Builder
		for range 1 + rng.IntN(6) {
			fmt.Fprintf(&sb, "%s=%d ", words[rng.IntN(len(words))], rng.IntN(100000))
		}
		vals[i] = sb.String()
	}
	return vals, absent, encodePlain(vals, absent)
}

// framedOf returns chunk's body as framedChunk writes it, failing when
// it is not framed.
func framedOf(t testing.TB, kind byte, body []byte, lv level) []byte {
	t.Helper()
	initCodecs()
	ch, ok := framedChunk(nil, kind, body, lv)
	if !ok {
		t.Fatalf("body of %d bytes (kind %d) not framed", len(body), kind)
	}
	if ch[1] != codecFramed {
		t.Fatalf("codec %d", ch[1])
	}
	return ch
}

// TestFramedRoundTrip checks that framed bodies decode byte-equal, whole
// and by ranges (the reads of row-wise loads), at every level.
func TestFramedRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rows := range []int{2000, 8192, 30000} {
		vals, absent, body := plainBody(rows, rng)
		for _, lv := range []level{levelFast, levelBetter, levelDefault} {
			ch := encodeChunk(nil, kindPlain, body, lv)
			if len(body) >= frameMinBody && ch[1] != codecFramed {
				t.Fatalf("%d rows: codec %d, want framed", rows, ch[1])
			}
			kind, got, err := chunkBody(ch)
			if err != nil || kind != kindPlain || got != string(body) {
				t.Fatalf("%d rows level %d: whole decode: kind %d err %v equal %v", rows, lv, kind, err, got == string(body))
			}
			dv, da, err := decodeColumn(ch, rows)
			if err != nil {
				t.Fatal(err)
			}
			for i := range vals {
				if da != nil && da[i] != absent[i] || dv[i] != vals[i] {
					t.Fatalf("row %d: %q (absent %v), want %q (%v)", i, dv[i], da != nil && da[i], vals[i], absent[i])
				}
			}
			checkSpans(t, ch, body, rng)
		}
	}
}

// checkSpans reads random ranges and prefixes of a chunk through a
// bodyStream and compares them with body.
func checkSpans(t *testing.T, ch, body []byte, rng *rand.Rand) {
	t.Helper()
	sc := getRowScratch()
	defer putRowScratch(sc)
	bs, err := newBodyStream(ch, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer bs.close()
	for range 50 {
		from := rng.IntN(len(body))
		to := min(len(body), from+1+rng.IntN(40000))
		v, err := bs.span(from, to)
		if err != nil {
			t.Fatal(err)
		}
		if v[from:to] != string(body[from:to]) {
			t.Fatalf("span %d-%d differs", from, to)
		}
	}
	for _, n := range []int{1, 100, frameBytes, len(body) / 2, len(body)} {
		v, err := bs.prefix(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) < n || v != string(body[:len(v)]) {
			t.Fatalf("prefix %d: %d bytes, equal %v", n, len(v), v == string(body[:min(len(v), len(body))]))
		}
	}
}

// TestFramedPolicy checks which bodies a writer frames.
func TestFramedPolicy(t *testing.T) {
	initCodecs()
	rng := rand.New(rand.NewPCG(5, 6))
	_, _, plain := plainBody(8192, rng)
	small := plain[:frameMinBody-1]
	noise := make([]byte, 200<<10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	// Skeleton variables: lengths then bytes.
	var lens, vb []byte
	for i := range 30000 {
		v := fmt.Sprintf("%d", i*7919)
		lens = binary.AppendUvarint(lens, uint64(len(v)))
		vb = append(vb, v...)
	}
	vars := append(lens, vb...)
	head := append([]byte{3, 4, 'a', 1, 0, 'b'}, vars...) // not variables: a zero length
	for _, c := range []struct {
		name string
		kind byte
		body []byte
		want bool
	}{
		{"plain", kindPlain, plain, true},
		{"template", kindTemplate, plain, true},
		{"small", kindPlain, small, false},
		{"dict", kindDict, plain, false},
		{"int", kindInt, plain, false},
		{"incompressible", kindPlain, noise, false},
		{"skeleton vars", kindSkeleton, vars, true},
		{"skeleton head", kindSkeleton, head, false},
	} {
		_, ok := framedChunk(nil, c.kind, c.body, levelFast)
		if ok != c.want {
			t.Errorf("%s: framed %v, want %v", c.name, ok, c.want)
		}
		// encodeChunk agrees, and the chunk decodes.
		ch := encodeChunk(nil, c.kind, c.body, levelFast)
		if (ch[1] == codecFramed) != c.want {
			t.Errorf("%s: encodeChunk codec %d", c.name, ch[1])
		}
		if _, got, err := chunkBody(ch); err != nil || got != string(c.body) {
			t.Errorf("%s: decode: %v", c.name, err)
		}
	}
}

// TestFramedInParts checks that written parts frame their large plain,
// template and skeleton-variable bodies, that verify accepts them, and
// that row-wise loads of them equal full loads.
func TestFramedInParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, wordy := range []bool{false, true} {
		rows := rowsOfKinds(9000, rng, wordy)
		for _, e := range rows {
			if e.Raw != "" {
				e.Raw += fmt.Sprintf(" tx=%x", rng.Uint64()) // a long variable
			}
		}
		p := loadTestPart(t, rows, 8192)
		framed := map[string]bool{}
		for bi := range p.blocks {
			for _, c := range p.blocks[bi].cols {
				ch, err := p.chunk(c)
				if err != nil {
					t.Fatal(err)
				}
				if err := checkChunkFrames(ch); err != nil {
					t.Fatalf("block %d column %s: %v", bi, p.names[c.name], err)
				}
				name := p.names[c.name]
				switch {
				case ch[1] == codecFramed:
					framed[name] = true
				case ch[0] == kindSkeleton:
					if subChunkFramed(ch) {
						framed[name+" vars"] = true
					}
				}
			}
		}
		want := []string{"noise", event.FieldRaw + " vars"}
		if wordy {
			want = []string{"noise", event.FieldRaw}
		}
		for _, n := range want {
			if !framed[n] {
				t.Errorf("wordy %v: %s not framed (framed: %v)", wordy, n, framed)
			}
		}
		testLoadRows(t, p, rows, rng)
	}
}

// subChunkFramed reports whether the variables of kindSkeleton chunk ch
// are framed.
func subChunkFramed(ch []byte) bool {
	_, k := binary.Uvarint(ch[2:])
	body := ch[2+k:]
	hl, k := binary.Uvarint(body)
	vars := body[k+int(hl):]
	return len(vars) > 1 && vars[1] == codecFramed
}

// TestFramedBad checks that damaged tables and frames give precise
// errors from every reader (whole decode, ranges, verify), never a panic.
func TestFramedBad(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	_, _, body := plainBody(8192, rng)
	good := framedOf(t, kindPlain, body, levelFast)
	n, k := binary.Uvarint(good[2:])
	data := good[2+k:]
	var ft frameTable
	if err := ft.parse(data, n); err != nil {
		t.Fatal(err)
	}
	groups, nf := len(ft.itemEnds), len(ft.ends)
	if groups < 3 || nf != 2*groups {
		t.Fatalf("%d groups, %d frames", groups, nf)
	}
	rebuild := func(n uint64, items, raws, zs []uint64, frames []byte) []byte {
		ch := []byte{kindPlain, codecFramed}
		ch = binary.AppendUvarint(ch, n)
		ch = binary.AppendUvarint(ch, uint64(len(items)))
		for _, c := range items {
			ch = binary.AppendUvarint(ch, c)
		}
		for _, r := range raws {
			ch = binary.AppendUvarint(ch, r)
		}
		for _, z := range zs {
			ch = binary.AppendUvarint(ch, z)
		}
		return append(ch, frames...)
	}
	items, raws, zs := make([]uint64, groups), make([]uint64, nf), make([]uint64, nf)
	for g := range groups {
		items[g] = uint64(ft.itemEnds[g])
		if g > 0 {
			items[g] -= uint64(ft.itemEnds[g-1])
		}
	}
	for i := range nf {
		raws[i] = uint64(ft.ends[i] - ft.start(i))
		zs[i] = uint64(len(ft.frame(i)))
	}
	frames := ft.frames
	mod := func(f func(c, r, z []uint64)) []byte {
		c, r, z := slices.Clone(items), slices.Clone(raws), slices.Clone(zs)
		f(c, r, z)
		return rebuild(n, c, r, z, frames)
	}
	flipped := slices.Clone(frames)
	flipped[len(flipped)/2] ^= 0xff
	cases := []struct {
		name, want string
		ch         []byte
		verify     bool // verify (tables and frame headers) sees it too
	}{
		{"no groups", "0 groups", rebuild(n, nil, nil, nil, frames), true},
		{"too many groups", "groups for a body", append([]byte{kindPlain, codecFramed, 10, 200, 1}, make([]byte, 8)...), true},
		{"no items", "0 items", mod(func(c, r, z []uint64) { c[1] = 0 }), true},
		{"short table", "bad framed body", good[:2+k+1+groups+3], true},
		{"sizes moved", "frame 0", mod(func(c, r, z []uint64) { r[0]++; r[1]-- }), true},
		{"sizes past body", "length", mod(func(c, r, z []uint64) { r[nf-1]++ }), true},
		{"body longer", "frames hold", rebuild(n+1, items, raws, zs, frames), true},
		{"compressed moved", "frame 0", mod(func(c, r, z []uint64) { z[0]++; z[1]-- }), false},
		{"frames past chunk", "left", mod(func(c, r, z []uint64) { z[nf-1] += 5 }), true},
		{"empty lengths frame", "frame 0: length 0", mod(func(c, r, z []uint64) { r[0] = 0 }), true},
		{"empty compressed frame", "compressed", mod(func(c, r, z []uint64) { z[0] = 0 }), true},
		{"huge frame", "frame 0", mod(func(c, r, z []uint64) { r[0] += 1 << 30 }), true},
		{"damaged frame", "frame", rebuild(n, items, raws, zs, flipped), false},
		{"cut", "left", good[:len(good)-3], true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := chunkBody(c.ch)
			if err == nil {
				t.Fatalf("decoded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want %q in it", err, c.want)
			}
			readAllSpans(c.ch)
			if verr := checkChunkFrames(c.ch); c.verify && verr == nil {
				t.Errorf("verify accepts it")
			}
		})
	}
	if err := checkChunkFrames(good); err != nil {
		t.Fatal(err)
	}
	if _, _, err := chunkBody(mod(func(c, r, z []uint64) { r[0] = 0 })); !errors.Is(err, errFrames) {
		t.Errorf("table errors do not wrap errFrames: %v", err)
	}
	// Items moved between groups: the table is consistent, the lengths
	// are not where it says; row-wise reads report it.
	moved := mod(func(c, r, z []uint64) { c[0]++; c[1]-- })
	if readAllItems(moved, int(items[0])+int(items[1])) {
		t.Error("items moved between groups: every row read")
	}
}

// readAllItems reads items 0..n-1 of a framed plain chunk as row-wise
// loads do; it reports whether every read succeeded.
func readAllItems(ch []byte, n int) bool {
	sc := getRowScratch()
	defer putRowScratch(sc)
	bs, err := newBodyStream(ch, sc)
	if err != nil || !bs.framed() {
		return false
	}
	defer bs.close()
	for k := range n {
		pos, at, err := bs.item(k, true)
		if err != nil {
			return false
		}
		l, err := bs.length(&pos)
		if err != nil {
			return false
		}
		if l > 0 {
			if _, err := bs.span(at, at+int(l)-1); err != nil {
				return false
			}
		}
	}
	return true
}

// readAllSpans reads a chunk by ranges as row-wise loads do, ignoring
// errors; it reports whether every read succeeded.
func readAllSpans(ch []byte) bool {
	sc := getRowScratch()
	defer putRowScratch(sc)
	bs, err := newBodyStream(ch, sc)
	if err != nil {
		return false
	}
	defer bs.close()
	ok := true
	for from := 0; from < bs.size; from += 7919 {
		if _, err := bs.span(from, min(bs.size, from+100)); err != nil {
			ok = false
		}
	}
	if _, err := bs.prefix(bs.size); err != nil {
		ok = false
	}
	return ok
}

// FuzzFramedChunk feeds damaged framed chunks to every reader: errors,
// never a panic, and what decodes agrees between whole and ranged reads.
func FuzzFramedChunk(f *testing.F) {
	rng := rand.New(rand.NewPCG(13, 14))
	initCodecs()
	for _, rows := range []int{200, 600} {
		_, _, body := plainBody(rows, rng)
		for _, size := range []int{1024, 4096} {
			ch, ok := appendFramed(nil, kindPlain, body, levelFast, size)
			if !ok {
				f.Fatalf("%d rows not framed", rows)
			}
			f.Add(ch)
		}
	}
	f.Add([]byte{kindPlain, codecFramed, 5, 1, 2, 2, 3, 1, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		ch := slices.Clone(in) // the fuzzer's input is not ours to change
		if len(ch) > 2 {
			ch[1] = codecFramed
		}
		_, whole, err := chunkBody(ch)
		_ = checkChunkFrames(ch) // errors are expected
		sc := getRowScratch()
		defer putRowScratch(sc)
		bs, berr := newBodyStream(ch, sc)
		if berr != nil {
			return
		}
		defer bs.close()
		if bs.framed() {
			readAllItems(ch, min(bs.ft.itemEnds[len(bs.ft.itemEnds)-1], 2000))
		}
		for from := 0; from < bs.size; from += 1 + bs.size/7 {
			to := min(bs.size, from+1000)
			v, serr := bs.span(from, to)
			if err == nil && serr != nil {
				t.Fatalf("whole decode worked, span %d-%d: %v", from, to, serr)
			}
			if err == nil && v[from:to] != whole[from:to] {
				t.Fatalf("span %d-%d differs from the whole body", from, to)
			}
		}
	})
}

// BenchmarkFramedEncode compares a plain body of 8,192 rows written as
// one zstd frame (codec 1) and framed (codec 3), at the flush and merge
// levels: the writer's cost of framing.
func BenchmarkFramedEncode(b *testing.B) {
	initCodecs()
	rng := rand.New(rand.NewPCG(15, 16))
	_, _, body := plainBody(8192, rng)
	for _, lv := range []struct {
		name string
		lv   level
	}{{"fast", levelFast}, {"better", levelBetter}} {
		b.Run("whole/"+lv.name, func(b *testing.B) {
			var dst []byte
			for b.Loop() {
				dst = append(dst[:0], kindPlain, codecZstd)
				dst = binary.AppendUvarint(dst, uint64(len(body)))
				dst = encoders[lv.lv].EncodeAll(body, dst)
			}
			b.ReportMetric(float64(len(dst))/8192, "bytes/row")
		})
		b.Run("framed/"+lv.name, func(b *testing.B) {
			var dst []byte
			for b.Loop() {
				dst, _ = framedChunk(dst[:0], kindPlain, body, lv.lv)
			}
			b.ReportMetric(float64(len(dst))/8192, "bytes/row")
		})
	}
}

// TestFramedMutations runs randomly damaged framed chunks (bytes changed,
// cut) through every reader, as FuzzFramedChunk does, deterministically:
// errors, never a panic, and what decodes whole reads the same by ranges.
func TestFramedMutations(t *testing.T) {
	initCodecs()
	rng := rand.New(rand.NewPCG(17, 18))
	_, _, body := plainBody(300, rng)
	seed, ok := appendFramed(nil, kindPlain, body, levelFast, 1024)
	if !ok {
		t.Fatal("not framed")
	}
	for range 3000 {
		ch := slices.Clone(seed)
		for range 1 + rng.IntN(4) {
			ch[rng.IntN(len(ch))] = byte(rng.Uint32())
		}
		if rng.IntN(4) == 0 {
			ch = ch[:2+rng.IntN(len(ch)-2)]
		}
		_, whole, err := chunkBody(ch)
		_ = checkChunkFrames(ch) // errors are expected
		sc := getRowScratch()
		if bs, berr := newBodyStream(ch, sc); berr == nil {
			for from := 0; from < bs.size; from += 1 + bs.size/5 {
				to := min(bs.size, from+200)
				v, serr := bs.span(from, to)
				if err == nil && (serr != nil || v[from:to] != whole[from:to]) {
					t.Fatalf("whole decode worked, span %d-%d: %v", from, to, serr)
				}
			}
			bs.close()
			readAllItems(ch, 300)
		}
		putRowScratch(sc)
	}
}

// TestFramedWholeAllocs: a framed body decoded whole into a buffer
// large enough stays in that buffer: decodeFrame keeps the capacity past
// each frame for the next. It returned a slice capped at the frame's
// slack, and each next frame grew a copy (76 allocations for 54 frames).
func TestFramedWholeAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	_, _, body := plainBody(20000, rng)
	ch := framedOf(t, kindPlain, body, levelFast)
	var ft frameTable
	n, k := binary.Uvarint(ch[2:])
	if err := ft.parse(ch[2+k:], n); err != nil || len(ft.ends) < 6 {
		t.Fatalf("%d frames, %v", len(ft.ends), err)
	}
	buf := make([]byte, 0, len(body)+frameSlack)
	sc := colScratch{body: buf}
	_, got, err := chunkBodyTo(ch, &sc)
	if err != nil || got != string(body) {
		t.Fatalf("body differs (%v)", err)
	}
	if &sc.body[:1][0] != &buf[:1][0] {
		t.Errorf("%d frames: the body was decoded into a grown copy", len(ft.ends))
	}
	// And frame by frame: each decodeFrame keeps dst's capacity.
	dst := make([]byte, 0, len(body)+frameSlack)
	for i := range ft.ends {
		c := cap(dst)
		if dst, err = decodeFrame(ft.frame(i), dst, ft.ends[i]-ft.start(i)); err != nil {
			t.Fatal(err)
		}
		if cap(dst) != c {
			t.Fatalf("frame %d: capacity %d, was %d", i, cap(dst), c)
		}
	}
	if string(dst) != string(body) {
		t.Fatal("frames differ")
	}
}
