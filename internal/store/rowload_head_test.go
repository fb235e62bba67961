package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// manySkeletonTemplates returns n templates of about shapes distinct
// skeletons (long ones, so the head has several skeleton groups), some
// rows empty, some with escapes and references.
func manySkeletonTemplates(n, shapes int, rng *rand.Rand) []string {
	out := make([]string, n)
	for i := range out {
		s := rng.IntN(shapes)
		switch {
		case i%97 == 5:
			out[i] = ""
		case s%7 == 3:
			out[i] = fmt.Sprintf("\x01\x04shape%s %d \x01\x01 x%dy", strings.Repeat("q", s%50), rng.IntN(1000), s)
		default:
			out[i] = fmt.Sprintf("Jan %d host%c prog%s[%d]: %s message of kind %c%c with %d and %d", 1+rng.IntN(28),
				'a'+byte(s%26), strings.Repeat("p", s%40), rng.IntN(99999), strings.Repeat("word ", 1+s%30),
				'a'+byte(s/26%26), 'a'+byte(s/676%26), rng.IntN(100), rng.IntN(7))
		}
	}
	return out
}

// groupedSkelChunk returns the skeleton chunk of templates, failing when
// its head is not grouped.
func groupedSkelChunk(t testing.TB, templates []string, lv level) []byte {
	t.Helper()
	var data []byte
	var ends []int
	for _, tm := range templates {
		data = append(data, tm...)
		ends = append(ends, len(data))
	}
	var s skeletoner
	ch, ok := s.encode(nil, data, ends, lv)
	if !ok {
		t.Fatal("no skeleton chunk")
	}
	if _, _, ok := groupedHeadOf(ch); !ok {
		t.Fatal("head not grouped")
	}
	return ch
}

// checkGroupedRows compares a row-wise read of a grouped head with the
// whole head, for rows sel.
func checkGroupedRows(ch []byte, rows int, sel []int) error {
	full, err := decodeSkeletonHead(ch, rows, nil)
	if err != nil {
		return fmt.Errorf("whole head: %w", err)
	}
	defer full.release()
	if err := full.count(); err != nil {
		return err
	}
	head, vars, ok := groupedHeadOf(ch)
	if !ok {
		return fmt.Errorf("not grouped")
	}
	sb := skelPool.Get().(*skelBlock)
	defer sb.release()
	if err := sb.decodeGroupedRows(head, vars, rows, sel, nil); err != nil {
		return fmt.Errorf("rows %v: %w", sel, err)
	}
	if len(sb.skels) != len(full.skels) || sb.vstart[rows] != full.vstart[rows] {
		return fmt.Errorf("%d skeletons, %d variables; want %d and %d", len(sb.skels), sb.vstart[rows], len(full.skels), full.vstart[rows])
	}
	for _, r := range sel {
		id := sb.ids[r]
		if id != full.ids[r] || sb.vstart[r] != full.vstart[r] || sb.vstart[r+1] != full.vstart[r+1] {
			return fmt.Errorf("row %d: id %d vars %d..%d, want %d %d..%d", r, id, sb.vstart[r], sb.vstart[r+1], full.ids[r], full.vstart[r], full.vstart[r+1])
		}
		if id > 0 && sb.skels[id-1] != full.skels[id-1] {
			return fmt.Errorf("row %d: skeleton %q, want %q", r, sb.skels[id-1], full.skels[id-1])
		}
	}
	return nil
}

// TestGroupedHeadRoundTrip checks grouped heads at every level: whole
// decodes give the templates back, row-wise reads agree with the whole
// head for first, last and random rows, and verify's check passes.
func TestGroupedHeadRoundTrip(t *testing.T) {
	defer func(n int) { headSkelBytes = n }(headSkelBytes)
	headSkelBytes = 12 << 10 // several skeleton groups
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct{ rows, shapes int }{{8192, 3000}, {8192, 40}, {20000, 4000}} {
		templates := manySkeletonTemplates(tc.rows, tc.shapes, rng)
		for _, lv := range []level{levelFast, levelBetter, levelDefault} {
			ch := groupedSkelChunk(t, templates, lv)
			head, _, _ := groupedHeadOf(ch)
			var ht headTable
			n, k := binary.Uvarint(head[2:])
			if err := ht.parse(head[2+k:], n); err != nil {
				t.Fatal(err)
			}
			if tc.shapes >= 3000 && ht.nskel() < 2 || len(ht.rowEnds) < 2 {
				t.Errorf("%d rows, %d shapes: %d skeleton groups, %d id groups", tc.rows, tc.shapes, ht.nskel(), len(ht.rowEnds))
			}
			got, _, err := decodeSkelChunk(ch, tc.rows)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range templates {
				if got[i] != want {
					t.Fatalf("row %d: %q, want %q", i, got[i], want)
				}
			}
			sets := [][]int{{0}, {tc.rows - 1}, {0, 1, 2, tc.rows - 1}, {}}
			for range 10 {
				var sel []int
				for r := range tc.rows {
					if rng.IntN(tc.rows) < 1+rng.IntN(30) {
						sel = append(sel, r)
					}
				}
				sets = append(sets, sel)
			}
			for _, sel := range sets {
				if err := checkGroupedRows(ch, tc.rows, sel); err != nil {
					t.Fatalf("%d rows level %d: %v", tc.rows, lv, err)
				}
			}
			if err := checkChunkFrames(ch); err != nil {
				t.Fatalf("verify: %v", err)
			}
		}
	}
}

// TestGroupedHeadInParts checks blocks written with grouped heads load
// byte-equal whole and by rows, and that small heads stay one frame.
func TestGroupedHeadInParts(t *testing.T) {
	rows := skelRows(9000, 11)
	p := loadTestPart(t, rows, 8192)
	grouped := 0
	for bi := range p.blocks {
		ch, err := p.chunk(p.blocks[bi].cols[0])
		if err != nil {
			t.Fatal(err)
		}
		head, _, ok := groupedHeadOf(ch)
		if ok {
			grouped++
		} else if hl := len(head); p.blocks[bi].rows >= 8192 {
			t.Errorf("block %d of %d rows: head (%d bytes) not grouped", bi, p.blocks[bi].rows, hl)
		}
	}
	if grouped == 0 {
		t.Fatal("no grouped head in the part")
	}
	testLoadRows(t, p, rows, rand.New(rand.NewPCG(5, 6)))
	small := loadTestPart(t, skelRows(300, 12), 300)
	ch, err := small.chunk(small.blocks[0].cols[0])
	if err != nil {
		t.Fatal(err)
	}
	if h, _, ok := groupedHeadOf(ch); ok && h[1] != codecPooled {
		t.Error("a head of 300 rows grouped")
	}
}

// headTableAt locates the fields of a grouped head sub-chunk's table:
// offsets in head of each uvarint, in order, and of the frames.
func headTableAt(head []byte) (fields []int, frames int) {
	_, k := binary.Uvarint(head[2:])
	pos := 2 + k
	next := func() uint64 {
		v, k := binary.Uvarint(head[pos:])
		fields = append(fields, pos)
		pos += k
		return v
	}
	s := int(next())
	for range s {
		next()
	}
	r := int(next())
	for range 2 * r {
		next()
	}
	for range 2 * (s + r + 1) {
		next()
	}
	return fields, pos
}

// readGrouped runs every reader of a grouped head over ch (a skeleton
// chunk of rows rows): whole, by rows, verify. It returns the errors.
func readGrouped(ch []byte, rows int) (whole, byRows, check error) {
	_, _, whole = decodeSkelChunk(ch, rows)
	if head, vars, ok := groupedHeadOf(ch); ok {
		sb := skelPool.Get().(*skelBlock)
		byRows = sb.decodeGroupedRows(head, vars, rows, []int{0, rows / 3, rows / 2, rows - 1}, nil)
		sb.release()
	}
	check = checkChunkFrames(ch)
	return whole, byRows, check
}

// withHead returns skeleton chunk ch with its head sub-chunk replaced.
func withHead(ch, head []byte) []byte {
	_, k := binary.Uvarint(ch[2:])
	body := ch[2+k:]
	hl, k2 := binary.Uvarint(body)
	vars := body[k2+int(hl):]
	inner := binary.AppendUvarint(nil, uint64(len(head)))
	inner = append(append(inner, head...), vars...)
	out := append([]byte{kindSkeleton, codecNone}, binary.AppendUvarint(nil, uint64(len(inner)))...)
	return append(out, inner...)
}

// TestGroupedHeadBad damages each field of a grouped head's table, its
// frames and its counts: every reader gives an error or (for the row
// reader, which reads a few frames) the right rows, never a panic.
func TestGroupedHeadBad(t *testing.T) {
	defer func(n int) { headSkelBytes = n }(headSkelBytes)
	headSkelBytes = 12 << 10
	const rows = 8192
	rng := rand.New(rand.NewPCG(9, 10))
	ch := groupedSkelChunk(t, manySkeletonTemplates(rows, 3000, rng), levelFast)
	head, _, _ := groupedHeadOf(ch)
	fields, frames := headTableAt(head)
	// The variables per id group are read only by row reads, which trust
	// them (a wrong count reads wrong variables, bounded by the vars
	// body): verify reports them.
	s, _ := binary.Uvarint(head[fields[0]:])
	r, _ := binary.Uvarint(head[fields[s+1]:])
	varsFrom, varsTo := int(s+2+r), int(s+2+2*r)
	check := func(name string, bad []byte, verifyOnly bool) {
		t.Helper()
		bch := withHead(ch, bad)
		whole, byRows, vcheck := readGrouped(bch, rows)
		if vcheck == nil {
			t.Errorf("%s: verify found nothing", name)
		}
		if whole == nil && byRows == nil && !verifyOnly {
			t.Errorf("%s: no reader reported an error", name)
		}
	}
	for i, at := range fields {
		for _, v := range []uint64{0, 1, 1 << 20, 1 << 40} {
			old, k := binary.Uvarint(head[at:])
			if v == old {
				continue
			}
			bad := append(slices.Clone(head[:at]), binary.AppendUvarint(nil, v)...)
			bad = append(bad, head[at+k:]...)
			check(fmt.Sprintf("field %d = %d", i, v), bad, i >= varsFrom && i < varsTo)
		}
	}
	for _, cut := range []int{frames, frames + 5, len(head) - 1} {
		bad := slices.Clone(head[:cut])
		check(fmt.Sprintf("cut at %d", cut), bad, false)
	}
	bad := slices.Clone(head)
	bad[1] = 9
	if whole, _, _ := readGrouped(withHead(ch, bad), rows); whole == nil {
		t.Error("unknown codec: decoded")
	}
	// A counts frame that disagrees with the skeletons: rows read wrong
	// variables, verify reports it.
	var ht headTable
	n, k := binary.Uvarint(head[2:])
	if err := ht.parse(head[2+k:], n); err != nil {
		t.Fatal(err)
	}
	counts, err := ht.decode(len(ht.ends)-1, nil)
	if err != nil {
		t.Fatal(err)
	}
	counts[0]++
	if _, _, vcheck := readGrouped(withHead(ch, regroup(t, head, &ht, counts)), rows); vcheck == nil {
		t.Error("wrong counts: verify found nothing")
	}
}

// regroup returns grouped head with its counts frame replaced.
func regroup(t *testing.T, head []byte, ht *headTable, counts []byte) []byte {
	t.Helper()
	fields, frames := headTableAt(head)
	last := len(ht.ends) - 1
	z := encoders[levelFast].EncodeAll(counts, nil)
	nf := len(ht.ends)
	rawAt, zAt := fields[len(fields)-nf-1], fields[len(fields)-1]
	out := slices.Clone(head[:rawAt])
	out = binary.AppendUvarint(out, uint64(len(counts)))
	_, k := binary.Uvarint(head[rawAt:])
	out = append(out, head[rawAt+k:zAt]...)
	out = binary.AppendUvarint(out, uint64(len(z)))
	_, k = binary.Uvarint(head[zAt:])
	out = append(out, head[zAt+k:frames]...)
	zs := 0
	if last > 0 {
		zs = ht.zends[last-1]
	}
	out = append(out, head[frames:frames+zs]...)
	return append(out, z...)
}

// TestGroupedHeadMutations runs every reader over random damage of a
// grouped head: never a panic.
func TestGroupedHeadMutations(t *testing.T) {
	defer func(n int) { headSkelBytes = n }(headSkelBytes)
	headSkelBytes = 12 << 10
	const rows = 8192
	rng := rand.New(rand.NewPCG(11, 12))
	ch := groupedSkelChunk(t, manySkeletonTemplates(rows, 500, rng), levelFast)
	head, _, _ := groupedHeadOf(ch)
	for range 1500 {
		bad := slices.Clone(head)
		for range 1 + rng.IntN(3) {
			bad[2+rng.IntN(len(bad)-2)] ^= byte(1 + rng.IntN(255))
		}
		readGrouped(withHead(ch, bad), rows)
	}
}

// FuzzGroupedHead feeds damaged grouped heads to every reader.
func FuzzGroupedHead(f *testing.F) {
	defer func(n int) { headSkelBytes = n }(headSkelBytes)
	headSkelBytes = 2 << 10 // small seeds of several groups: the fuzzer runs faster
	rng := rand.New(rand.NewPCG(13, 14))
	for _, shapes := range []int{120, 190} {
		ch := groupedSkelChunk(f, manySkeletonTemplates(400, shapes, rng), levelFast)
		head, _, _ := groupedHeadOf(ch)
		f.Add(head, uint16(400))
	}
	f.Fuzz(func(t *testing.T, head []byte, rows uint16) {
		if rows == 0 || len(head) < 2 {
			return
		}
		head = append([]byte{kindSkeleton, codecGrouped}, head[2:]...)
		vars := encodeChunk(nil, kindSkeleton, []byte{1, 'x'}, levelFast)
		inner := binary.AppendUvarint(nil, uint64(len(head)))
		inner = append(append(inner, head...), vars...)
		ch := append([]byte{kindSkeleton, codecNone}, binary.AppendUvarint(nil, uint64(len(inner)))...)
		ch = append(ch, inner...)
		readGrouped(ch, int(rows))
	})
}

// TestGroupedHeadRowLoads loads rows of a part whose blocks have grouped
// heads with many skeletons through RowLoader, against full loads.
func TestGroupedHeadRowLoads(t *testing.T) {
	defer func(n int) { headSkelBytes = n }(headSkelBytes)
	headSkelBytes = 12 << 10
	rng := rand.New(rand.NewPCG(15, 16))
	templates := manySkeletonTemplates(9000, 2000, rng)
	evs := make([]*event.Event, len(templates))
	for i, tm := range templates {
		raw := strings.ReplaceAll(strings.ReplaceAll(tm, "\x01\x04", "u7"), "\x01\x01", "\x01")
		evs[i] = &event.Event{Time: int64(i) * 1e9, Host: "h1", Source: "sshd", Raw: raw,
			Fields: []event.Field{{Name: "user", Value: fmt.Sprintf("u%d", i%9)}}}
	}
	p := loadTestPart(t, evs, 8192)
	ch, err := p.chunk(p.blocks[0].cols[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := groupedHeadOf(ch); !ok {
		t.Fatalf("block 0: head not grouped (kind %d)", ch[0])
	}
	testLoadRows(t, p, evs, rng)
}

// BenchmarkHeadChunk writes an 8,192-row skeleton head of 700 skeletons
// as one frame and grouped (the writer's extra cost of codecGrouped).
func BenchmarkHeadChunk(b *testing.B) {
	ch := groupedSkelChunk(b, manySkeletonTemplates(8192, 700, rand.New(rand.NewPCG(23, 24))), levelBetter)
	_, head, err := chunkBody(func() []byte { h, _, _ := groupedHeadOf(ch); return h }())
	if err != nil {
		b.Fatal(err)
	}
	for _, lv := range []level{levelFast, levelBetter} {
		b.Run(fmt.Sprintf("level=%d/one", lv), func(b *testing.B) {
			var dst []byte
			for b.Loop() {
				dst = encodeChunk(dst[:0], kindSkeleton, []byte(head), lv)
			}
			b.ReportMetric(float64(len(dst)), "bytes")
		})
		b.Run(fmt.Sprintf("level=%d/grouped", lv), func(b *testing.B) {
			var dst []byte
			for b.Loop() {
				dst, _ = groupedHead(dst[:0], []byte(head), lv)
			}
			b.ReportMetric(float64(len(dst)), "bytes")
		})
	}
}
