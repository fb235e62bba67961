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
	"github.com/mamori/mamori/internal/token"
)

// filterRows returns events whose raw texts have many short variables
// and, in some rows, long ones (hex ids of 20 and 32 bytes, some
// upper-case); dense puts three long variables in every row, so the
// writer must raise the filters' minimum length.
func filterRows(n int, rng *rand.Rand, dense bool) []*event.Event {
	rows := make([]*event.Event, n)
	hex := func(k int) string {
		b := make([]byte, k)
		for i := range b {
			b[i] = "0123456789abcdef"[rng.IntN(16)]
		}
		return string(b)
	}
	for i := range rows {
		sess := fmt.Sprintf("s%d", rng.IntN(50))
		switch {
		case dense:
			sess = hex(16) + " " + hex(20+i%8) + " " + hex(40)
		case i%40 == 3:
			sess = hex(32)
		case i%25 == 7:
			sess = strings.ToUpper(hex(20))
		}
		user := fmt.Sprintf("user%d", i%7)
		e := &event.Event{Time: int64(i) * 1e9, Host: "h1", Source: "sshd",
			Raw: fmt.Sprintf("conn from 10.%d.%d.%d port %d pid %d user %s session %s took %dms",
				rng.IntN(4), rng.IntN(256), rng.IntN(256), 1024+rng.IntN(60000), 100+i, user, sess, rng.IntN(1000)),
			Fields: []event.Field{{Name: "user", Value: user}}}
		if i%97 == 5 {
			e.Raw = ""
		}
		rows[i] = e
	}
	return rows
}

// skelVarsOf returns the vars sub-chunk of kindSkeleton chunk ch.
func skelVarsOf(ch []byte) []byte {
	_, k := binary.Uvarint(ch[2:])
	body := ch[2+k:]
	hl, k := binary.Uvarint(body)
	return body[k+int(hl):]
}

// withVars returns kindSkeleton chunk ch with vars as its vars sub-chunk.
func withVars(ch, vars []byte) []byte {
	_, k := binary.Uvarint(ch[2:])
	body := ch[2+k:]
	hl, k := binary.Uvarint(body)
	nb := append(slices.Clone(body[:k+int(hl)]), vars...)
	out := []byte{kindSkeleton, codecNone}
	out = binary.AppendUvarint(out, uint64(len(nb)))
	return append(out, nb...)
}

// hasVarsFilter reports whether kindSkeleton chunk ch of rows rows has
// filtered variables.
func hasVarsFilter(t *testing.T, ch []byte, rows int, pool *partPool) bool {
	t.Helper()
	sb, err := decodeSkeletonHead(ch, rows, pool)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.release()
	vg, err := openVarGroups(sb)
	if err != nil {
		t.Fatal(err)
	}
	if vg == nil {
		return false
	}
	defer vg.release()
	return vg.filter
}

// rawChunk returns the _raw chunk of block bi of p.
func rawChunk(t *testing.T, p *part, bi int) []byte {
	t.Helper()
	for _, c := range p.blocks[bi].cols {
		if p.names[c.name] == event.FieldRaw {
			ch, err := p.chunk(c)
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}
	}
	t.Fatalf("block %d: no _raw", bi)
	return nil
}

// TestVarsFilterSame checks that blocks whose variables carry filters
// give the same answers as blocks written without them: RowsWithVar for
// every long variable (and short ones, upper-cased ones and absent ones)
// on a fresh block, then the rows' variables, raw texts, templates and
// row-wise loads read by groups; and that the filters let a search skip
// groups.
func TestVarsFilterSame(t *testing.T) {
	for _, dense := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(21, 22))
		rows := filterRows(12000, rng, dense)
		varsFilterOff = true
		plain := loadTestPart(t, rows, 8192)
		varsFilterOff = false
		p := loadTestPart(t, rows, 8192)
		if err := checkVarsFilter(rawChunk(t, p, 0), int(p.blocks[0].rows), p.pool); err != nil {
			t.Fatal(err)
		}
		if !hasVarsFilter(t, rawChunk(t, p, 0), int(p.blocks[0].rows), p.pool) || hasVarsFilter(t, rawChunk(t, plain, 0), int(plain.blocks[0].rows), plain.pool) {
			t.Fatalf("dense %v: filters where not expected (or none where expected)", dense)
		}
		for bi := range p.blocks {
			base := bi * 8192
			n := int(p.blocks[bi].rows)
			var probes []string
			for _, e := range rows[base : base+n] {
				for _, w := range strings.Fields(e.Raw) {
					if len(w) >= 16 || rng.IntN(200) == 0 {
						probes = append(probes, w, strings.ToUpper(w))
					}
				}
			}
			probes = append(probes, "", "0123456789abcdef0123", strings.Repeat("f", 200), "s1", "10")
			rng.Shuffle(len(probes)-5, func(i, j int) { probes[i], probes[j] = probes[j], probes[i] })
			probes = append(probes[:24], probes[len(probes)-5:]...)
			index := varRows(t, plain, bi)
			skipped := 0
			for _, v := range probes {
				want := index[strings.ToLower(v)]
				b, err := p.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
				if err != nil {
					t.Fatal(err)
				}
				tm := b.Raw
				var got []int
				if err := tm.RowsWithVar(v, func(r int) { got = append(got, r) }); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("dense %v block %d: RowsWithVar(%q) = %v, want %v", dense, bi, v, got, want)
				}
				if tm.vg != nil && tm.vg.loaded < tm.vg.groups {
					skipped++
				}
				// The rows read by groups: the found ones and a few more.
				check := append(slices.Clone(got), rng.IntN(n), rng.IntN(n))
				for _, r := range check {
					checkRowByGroups(t, tm, rows[base+r], r)
				}
				lb, err := tm.LoadRows([]string{event.FieldRaw}, []int{check[len(check)-1]})
				if err != nil {
					t.Fatal(err)
				}
				if gotRaw := lb.Column(event.FieldRaw).Values[0]; gotRaw != rows[base+check[len(check)-1]].Raw {
					t.Fatalf("LoadRows after group reads: %q, want %q", gotRaw, rows[base+check[len(check)-1]].Raw)
				}
				tm.Release()
			}
			if !dense && skipped == 0 {
				t.Errorf("block %d: no search skipped a group", bi)
			}
		}
	}
}

// varRows returns the rows of block bi of p by variable (lower-cased),
// from the whole variables.
func varRows(t *testing.T, p *part, bi int) map[string][]int {
	t.Helper()
	b, err := p.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
	if err != nil {
		t.Fatal(err)
	}
	tm := b.Raw
	defer tm.Release()
	index := map[string][]int{}
	for r := range tm.Rows() {
		if tm.SkeletonOf(r) < 0 {
			continue
		}
		vb, offs, err := tm.RowVars(r)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j+1 < len(offs); j++ {
			v := strings.ToLower(strings.Clone(vb[offs[j]:offs[j+1]])) // not a view of the block's buffers
			if rs := index[v]; len(rs) == 0 || rs[len(rs)-1] != r {
				index[v] = append(rs, r)
			}
		}
	}
	return index
}

// checkRowByGroups checks row r of tm against its event: raw text,
// template, and every variable a word of the text.
func checkRowByGroups(t *testing.T, tm *RawTemplates, e *event.Event, r int) {
	t.Helper()
	got, err := tm.AppendRaw(nil, r)
	if err != nil || string(got) != e.Raw {
		t.Fatalf("row %d: AppendRaw = %q, %v, want %q", r, got, err, e.Raw)
	}
	if tm.SkeletonOf(r) < 0 {
		return
	}
	if tm.Template(r) == "" != (e.Raw == "") || tm.Err() != nil {
		t.Fatalf("row %d: template %q, %v", r, tm.Template(r), tm.Err())
	}
	vb, offs, err := tm.RowVars(r)
	if err != nil {
		t.Fatal(err)
	}
	for j := range len(offs) - 1 {
		v, err := tm.Var(r, j)
		if err != nil || v != vb[offs[j]:offs[j+1]] || !strings.Contains(e.Raw, v) {
			t.Fatalf("row %d: variable %d = %q (%v), RowVars %q, raw %q", r, j, v, err, vb[offs[j]:offs[j+1]], e.Raw)
		}
	}
}

// skeletonsOf returns the kindSkeleton chunk of the raw texts of rows
// and its variables' body.
func skeletonsOf(t testing.TB, rows []*event.Event, lv level) ([]byte, string) {
	t.Helper()
	var s skeletoner
	var data []byte
	var ends []int
	for _, e := range rows {
		data = append(data, e.Raw...)
		ends = append(ends, len(data))
	}
	ch, ok := s.encode(nil, data, ends, lv)
	if !ok {
		t.Fatal("no skeletons")
	}
	_, vars, err := chunkBodyTo(skelVarsOf(ch), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ch, vars
}

// smallFilteredChunk returns a kindSkeleton chunk of rows whose
// variables are framed in small groups (about size bytes) with a filter
// item, edit changing it (nil: as built), and its rows.
func smallFilteredChunk(t testing.TB, rows []*event.Event, size int, edit func([]byte) []byte) []byte {
	t.Helper()
	ch, vars := skeletonsOf(t, rows, levelFast)
	fv, ok := appendVarsFiltered(nil, []byte(vars), nil, levelFast, size, edit)
	if !ok {
		t.Fatal("variables not framed")
	}
	return withVars(ch, fv)
}

// smallRows returns n rows of short and long variables.
func smallRows(n int, rng *rand.Rand) []*event.Event {
	ids := make([]string, 16)
	for i := range ids {
		ids[i] = fmt.Sprintf("%016x", rng.Uint64())
		if i%3 == 0 {
			ids[i] += fmt.Sprintf("%016x", rng.Uint64())
		}
	}
	rows := make([]*event.Event, n)
	for i := range rows {
		id := fmt.Sprintf("s%d", rng.IntN(9))
		if i%8 == 0 {
			id = ids[rng.IntN(len(ids))]
		}
		rows[i] = &event.Event{Raw: fmt.Sprintf("x %d y %s z %d a %d b %d c %d d %d e %d f %d g %d", i, id, rng.IntN(100),
			rng.IntN(9), rng.IntN(9), rng.IntN(9), rng.IntN(9), rng.IntN(9), rng.IntN(9), i%10)}
	}
	return rows
}

// filterReads runs every reader of a filtered chunk: whole loads, group
// reads and searches, verify. It returns the first error; a panic fails
// the test.
func filterReads(ch []byte, rows int, probes []string) error {
	var errs []error
	if sb, err := decodeSkeletonHead(ch, rows, nil); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, sb.loadVars())
		sb.release()
	}
	if sb, err := decodeSkeletonHead(ch, rows, nil); err == nil {
		vg, err := openVarGroups(sb)
		errs = append(errs, err)
		if vg != nil {
			for _, v := range probes {
				_, err := vg.rowsWith(sb, v, func(int) {})
				errs = append(errs, err)
			}
			errs = append(errs, vg.ensure(sb, 0, int(sb.vstart[len(sb.vstart)-1])))
			vg.release()
		}
		sb.release()
	}
	errs = append(errs, checkVarsFilter(ch, rows, nil))
	return errors.Join(errs...)
}

// TestVarsFilterBad checks that damaged filters give precise errors from
// every reader (whole loads, group reads, verify), never a panic, and
// that a filter missing a variable is found by verify.
func TestVarsFilterBad(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	rows := smallRows(300, rng)
	probes := []string{"0123456789abcdef", "1", strings.Repeat("a", 40)}
	good := smallFilteredChunk(t, rows, 256, nil)
	if err := filterReads(good, len(rows), probes); err != nil {
		t.Fatal(err)
	}
	set := func(i int, b byte) func([]byte) []byte {
		return func(f []byte) []byte { f = slices.Clone(f); f[i] = b; return f }
	}
	for _, c := range []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{"min length 0", set(0, 0), "minimum length 0"},
		{"no hashes", set(1, 0), "0 hashes"},
		{"too many hashes", set(1, 17), "17 hashes"},
		{"longest 0", set(2, 0), "longest variable 0"},
		{"short", func(f []byte) []byte { return f[:1] }, "1 bytes"},
		{"trailing", func(f []byte) []byte { return append(slices.Clone(f), 0) }, "left"},
		{"truncated words", func(f []byte) []byte { return f[:len(f)-8] }, "left"},
		{"longest too short", set(2, 1), "lacks variable"},
		{"bits cleared", func(f []byte) []byte {
			f = slices.Clone(f)
			clear(f[len(f)-16:])
			return f
		}, "lacks variable"},
	} {
		ch := smallFilteredChunk(t, rows, 256, c.edit)
		err := filterReads(ch, len(rows), probes)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, errVarsFilter) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// Two items in the filter's group, and a filter length that is not
	// the filter's: the table's items do not match the variables.
	_, vars, _ := chunkBodyTo(skelVarsOf(good), nil)
	nv, _ := countLens(vars)
	extra := binary.AppendUvarint(nil, 3)
	body := append([]byte(vars[:nv.lensEnd]), extra...)
	body = append(body, extra...)
	body = append(body, vars[nv.lensEnd:]...)
	body = append(body, "abcdef"...)
	var fw frameWriter
	fw.items = []int{nv.items, 2}
	cuts := []int{0, nv.lensEnd, nv.lensEnd + 2, nv.lensEnd + 2 + len(vars) - nv.lensEnd, len(body)}
	var raws [][]byte
	for i := range 4 {
		raws = append(raws, body[cuts[i]:cuts[i+1]])
	}
	bad, ok := fw.appendChunk(nil, kindSkeleton, raws, len(body), levelFast)
	if !ok {
		t.Fatal("not framed")
	}
	if err := filterReads(withVars(good, bad), len(rows), probes); err == nil || !strings.Contains(err.Error(), "items for") {
		t.Errorf("two filter items: %v", err)
	}
}

// lensOf is where the lengths of a vars body end and how many items
// they hold.
type lensOf struct{ lensEnd, items int }

// countLens parses a vars body (lengths, then bytes).
func countLens(vars string) (lensOf, error) {
	pos, sum, n := 0, 0, 0
	for pos+sum < len(vars) {
		l, k := binary.Uvarint([]byte(vars[pos:]))
		if k <= 0 {
			return lensOf{}, errors.New("bad length")
		}
		pos += k
		sum += int(l)
		n++
	}
	return lensOf{lensEnd: pos, items: n}, nil
}

// FuzzVarsFilter runs every reader on chunks whose filter item is the
// fuzzer's bytes: no panic, and when verify accepts the filter, searches
// by groups find exactly the rows the whole variables hold.
func FuzzVarsFilter(f *testing.F) {
	rng := rand.New(rand.NewPCG(25, 26))
	rows := smallRows(120, rng)
	var good []byte
	smallFilteredChunk(f, rows, 200, func(b []byte) []byte { good = slices.Clone(b); return b })
	f.Add(good)
	f.Add([]byte{16, 5, 1, 0})
	f.Add(append([]byte{1, 1}, make([]byte, 40)...))
	probes := []string{"0123456789abcdef", "7", "abcdefabcdefabcdef12"}
	for _, e := range rows[:20] {
		probes = append(probes, strings.Fields(e.Raw)[3])
	}
	f.Fuzz(func(t *testing.T, filter []byte) {
		if len(filter) == 0 || len(filter) > 4096 {
			return
		}
		ch := smallFilteredChunk(t, rows, 200, func([]byte) []byte { return filter })
		if err := filterReads(ch, len(rows), probes); err != nil {
			return
		}
		sb, err := decodeSkeletonHead(ch, len(rows), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer sb.release()
		vg, err := openVarGroups(sb)
		if err != nil || vg == nil {
			t.Fatalf("group reads: %v", err)
		}
		defer vg.release()
		for _, v := range probes {
			var got []int
			if _, err := vg.rowsWith(sb, v, func(r int) { got = append(got, r) }); err != nil {
				t.Fatal(err)
			}
			var want []int
			for r, e := range rows {
				for _, w := range strings.Fields(e.Raw) {
					if token.EqualFold(w, v) && strings.ContainsAny(w, "0123456789") {
						want = append(want, r)
						break
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("rows with %q: %v, want %v", v, got, want)
			}
		}
	})
}

// BenchmarkVarsChunk writes the vars sub-chunk of an 8,192-row block
// with and without filters (the writer's cost of the filters; count
// instructions with cachegrind, one sub-benchmark at a time).
func BenchmarkVarsChunk(b *testing.B) {
	rows := filterRows(8192, rand.New(rand.NewPCG(27, 28)), false)
	_, vars := skeletonsOf(b, rows, levelBetter)
	var s skeletoner
	for _, off := range []bool{true, false} {
		b.Run(fmt.Sprintf("filters=%v", !off), func(b *testing.B) {
			defer func(old bool) { varsFilterOff = old }(varsFilterOff)
			varsFilterOff = off
			var dst []byte
			b.SetBytes(int64(len(vars)))
			for b.Loop() {
				dst = s.varsChunk(dst[:0], []byte(vars), levelBetter)
			}
			b.ReportMetric(float64(len(dst)), "bytes")
		})
	}
}

// TestVarsFilterBuild checks the filters built for random variables
// (lengths of one and two varint bytes, runs of short ones for the
// eight-at-a-time step) against the variables: each group's longest
// variable, and every variable of minLen bytes or more in its filter.
func TestVarsFilterBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	for range 200 {
		n := 1 + rng.IntN(3000)
		var lens, bytes []byte
		var vs []string
		for range n {
			l := 1 + rng.IntN(15)
			switch rng.IntN(20) {
			case 0:
				l = 16 + rng.IntN(30)
			case 1:
				l = 120 + rng.IntN(20)
			}
			v := make([]byte, l)
			for i := range v {
				v[i] = "0123456789abcdefABCDEF"[rng.IntN(22)]
			}
			lens = binary.AppendUvarint(lens, uint64(l))
			bytes = append(bytes, v...)
			vs = append(vs, string(v))
		}
		vars := append(lens, bytes...)
		var vw varsFilterWriter
		if !vw.fw.group(vars, false, 64+rng.IntN(2000)) {
			t.Fatal("not items")
		}
		items := vw.fw.items
		fb := vw.buildFilter(nil, vars, len(lens), items)
		var f varsFilter
		if err := f.parse(string(fb), len(items)); err != nil {
			t.Fatal(err)
		}
		j := 0
		for g, k := range items {
			longest := 0
			for _, v := range vs[j : j+k] {
				longest = max(longest, len(v))
				var h uint64
				if len(v) >= f.minLen {
					h = varHash(strings.ToUpper(v)) // folded: the same hash
				}
				if !f.mayHold(g, v, h) {
					t.Fatalf("group %d lacks %q (minimum length %d)", g, v, f.minLen)
				}
			}
			if f.maxLens[g] != longest {
				t.Fatalf("group %d: longest %d, filter says %d", g, longest, f.maxLens[g])
			}
			if f.mayHold(g, strings.Repeat("9", longest+1), varHash(strings.Repeat("9", longest+1))) {
				t.Fatalf("group %d may hold a variable longer than its longest", g)
			}
			j += k
		}
	}
}
