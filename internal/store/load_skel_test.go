package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// longVarRows returns events whose raw texts share a few skeletons and
// have variables of 1 to 300 bytes (lengths of one and two varint bytes),
// some referring to fields.
func longVarRows(n int, rng *rand.Rand) []*event.Event {
	rows := make([]*event.Event, n)
	for i := range rows {
		id := fmt.Sprintf("%d%s", i, strings.Repeat("a", rng.IntN(300)))
		user := fmt.Sprintf("user%d", i%5)
		e := &event.Event{Time: int64(i) * 1e9, Host: "h1", Source: "sshd",
			Raw:    fmt.Sprintf("req id=%s user=%s pid=%d took %dms", id, user, 100+i, rng.IntN(1000)),
			Fields: []event.Field{{Name: "user", Value: user}}}
		if i%4 == 1 {
			e.Raw = fmt.Sprintf("done %d of %d on h1 \x01 x", i, n)
		}
		if i%97 == 5 {
			e.Raw = ""
		}
		rows[i] = e
	}
	return rows
}

// TestSkeletonLongVars checks the row-wise load and the RawTemplates of
// _raw as skeletons with long variables: LoadRows, AppendRaw, RowVars,
// Var and Column agree with the events.
func TestSkeletonLongVars(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	rows := longVarRows(3000, rng)
	p := loadTestPart(t, rows, 1500)
	for bi := range p.blocks {
		if k := blockKinds(p, bi)[event.FieldRaw]; k != kindSkeleton {
			t.Fatalf("block %d: _raw of kind %d, want skeletons", bi, k)
		}
	}
	testLoadRows(t, p, rows, rng)
	for bi := range p.blocks {
		// LoadRows of the templates expands _raw from the skeleton block
		// they hold, before and after its variables are decoded.
		b, err := p.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
		if err != nil {
			t.Fatal(err)
		}
		n := b.Raw.Rows()
		list := []int{0, rng.IntN(n), n - 1}
		slices.Sort(list)
		list = slices.Compact(list)
		for _, decoded := range []bool{false, true} {
			if decoded {
				if _, _, err := b.Raw.RowVars(list[0]); err != nil {
					t.Fatal(err)
				}
			}
			lb, err := b.Raw.LoadRows([]string{event.FieldRaw, "user"}, list)
			if err != nil {
				t.Fatal(err)
			}
			wantVals, _ := wantColumn(rows[bi*1500:bi*1500+n], event.FieldRaw)
			for j, r := range list {
				if got := lb.Column(event.FieldRaw).Values[j]; got != wantVals[r] {
					t.Fatalf("block %d row %d (variables decoded %v): LoadRows _raw = %q, want %q", bi, r, decoded, got, wantVals[r])
				}
			}
		}
		b.Raw.Release()
		b, err = p.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
		if err != nil {
			t.Fatal(err)
		}
		tm := b.Raw
		col, err := tm.Column(nil)
		if err != nil {
			t.Fatal(err)
		}
		wantVals, wantAbsent := wantColumn(rows[bi*1500:bi*1500+tm.Rows()], event.FieldRaw)
		var buf []byte
		for r := range tm.Rows() {
			want := rows[bi*1500+r].Raw
			if buf, err = tm.AppendRaw(buf[:0], r); err != nil || string(buf) != want {
				t.Fatalf("block %d row %d: AppendRaw = %q, %v, want %q", bi, r, buf, err, want)
			}
			if col.Values[r] != wantVals[r] || col.Has(r) != (wantAbsent == nil || !wantAbsent[r]) {
				t.Fatalf("block %d row %d: Column = %q, want %q", bi, r, col.Values[r], want)
			}
			if tm.SkeletonOf(r) < 0 {
				continue
			}
			vb, offs, err := tm.RowVars(r)
			if err != nil {
				t.Fatal(err)
			}
			if n := countVars(tm.Skeleton(tm.SkeletonOf(r))); len(offs) != n+1 {
				t.Fatalf("block %d row %d: %d offsets for %d variables", bi, r, len(offs), n)
			}
			for j := range len(offs) - 1 {
				v, err := tm.Var(r, j)
				if err != nil || v != vb[offs[j]:offs[j+1]] || !strings.Contains(want, v) {
					t.Fatalf("block %d row %d: variable %d = %q (%v), RowVars %q", bi, r, j, v, err, vb[offs[j]:offs[j+1]])
				}
			}
			if _, err := tm.Var(r, len(offs)-1); err == nil {
				t.Fatalf("block %d row %d: a variable past the last", bi, r)
			}
		}
		testRowsWithVar(t, tm)
		tm.Release()
	}
}

// TestSkelSpansShort checks that locate asks for longer prefixes until it
// has the listed rows' variables, and goes on where it stopped.
func TestSkelSpansShort(t *testing.T) {
	// Three rows of 2, 0 and 1 variables: lengths 1, 200, 3.
	vstart := []int32{0, 2, 2, 3}
	body := "\x01\xc8\x01\x03" + "a" + strings.Repeat("b", 200) + "ccc"
	for _, rows := range [][]int{{0}, {1}, {2}, {0, 2}, {0, 1, 2}} {
		sp := newSkelSpans(len(rows))
		n, calls := 1, 0
		var err error
		for {
			calls++
			if err = sp.locate(body[:n], len(body), vstart, rows); err == nil {
				break
			}
			se, ok := err.(*shortError)
			if !ok || se.need <= n || calls > 10 {
				t.Fatalf("rows %v, prefix %d: %v", rows, n, err)
			}
			n = min(se.need, len(body))
		}
		for j, r := range rows {
			offs, err := sp.offsets(nil, body[:n], j, int(vstart[r+1]-vstart[r]))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range len(offs) - 1 {
				got = append(got, body[offs[i]:offs[i+1]])
			}
			want := [][]string{{"a", strings.Repeat("b", 200)}, nil, {"ccc"}}[r]
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("rows %v: row %d variables %q, want %q", rows, r, got, want)
			}
		}
	}
	for _, bad := range []string{"\x00\x01\x01\x01abc", "\x01\x01\x01\x7f"} {
		sp := newSkelSpans(1)
		if err := sp.locate(bad, len(bad), vstart, []int{2}); err == nil {
			t.Errorf("locate(%q): no error", bad)
		}
	}
}

// TestCountVars checks the eight-bytes-at-a-time count against the
// escape-by-escape one.
func TestCountVars(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	alphabet := []byte{0x00, 0x01, 0x01, 0x02, 0x05, 'a', ' ', '0'}
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if got, want := countVars(string(b)), countVarsSlow(string(b)); got != want {
			t.Fatalf("countVars(%q) = %d, want %d", b, got, want)
		}
	}
}

// testRowsWithVar checks RowsWithVar against RowVars row by row: for a
// sample of the block's variables (and their upper-cased forms, as
// matching folds ASCII case), the rows it reports are exactly those with
// an equal variable, ascending and once each.
func testRowsWithVar(t *testing.T, tm *RawTemplates) {
	t.Helper()
	var probes []string
	for r := 0; r < tm.Rows(); r += 97 {
		if tm.SkeletonOf(r) < 0 {
			continue
		}
		vb, offs, err := tm.RowVars(r)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j+1 < len(offs); j += 3 {
			v := vb[offs[j]:offs[j+1]]
			probes = append(probes, v, strings.ToUpper(v))
		}
	}
	probes = append(probes, "", "no-such-variable-0")
	for _, v := range probes {
		var want []int
		for r := range tm.Rows() {
			if tm.SkeletonOf(r) < 0 {
				continue
			}
			vb, offs, _ := tm.RowVars(r)
			for j := 0; j+1 < len(offs); j++ {
				if v != "" && len(v) == int(offs[j+1]-offs[j]) && token.EqualFold(vb[offs[j]:offs[j+1]], v) {
					want = append(want, r)
					break
				}
			}
		}
		var got []int
		if err := tm.RowsWithVar(v, func(r int) { got = append(got, r) }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("RowsWithVar(%q) = %v, want %v", v, got, want)
		}
	}
}
