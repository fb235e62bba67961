package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// checkIPv4Rows checks IPv4Rows on body against decodeIPv4: the same
// error or none, and At of every row (and of rows outside the block)
// against the decoded addresses and absence flags. r is reused.
func checkIPv4Rows(t *testing.T, r *IPv4Rows, body string, rows int) {
	t.Helper()
	wantA, wantAbs, wantErr := decodeIPv4(body, rows, nil)
	err := r.reset(body, rows)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("reset(%d rows) = %v, decodeIPv4 %v", rows, err, wantErr)
	}
	if err != nil {
		if !strings.HasPrefix(err.Error(), "ipv4 column") {
			t.Fatalf("error %q lacks the column kind", err)
		}
		if a, ok := r.At(0); ok || a != 0 || r.Rows() != 0 {
			t.Fatalf("At after an error = %d, %v", a, ok)
		}
		return
	}
	if r.Rows() != rows {
		t.Fatalf("Rows() = %d, want %d", r.Rows(), rows)
	}
	for i := range rows {
		a, ok := r.At(i)
		if want := wantAbs == nil || !wantAbs[i]; ok != want || ok && a != wantA[i] {
			t.Fatalf("At(%d) = %d, %v; want %d, %v", i, a, ok, wantA[i], want)
		}
	}
	for _, i := range []int{-1, rows, rows + 64, -1 << 40} {
		if _, ok := r.At(i); ok {
			t.Fatalf("At(%d) of %d rows is present", i, rows)
		}
	}
}

// TestIPv4Rows checks At on bodies of every bitmap shape (row counts
// around words and bytes, none or many rows absent), reusing one
// IPv4Rows so that stale words would show.
func TestIPv4Rows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var r IPv4Rows
	for _, rows := range []int{1, 7, 8, 9, 63, 64, 65, 127, 128, 130, 1000, 8192} {
		for _, absentEvery := range []int{0, 2, 3, 64, 500} {
			vals, absent := ipVals(rng, rows, absentEvery)
			kind, body := chooseEncoding(vals, absent)
			if kind != kindIPv4 {
				continue // every row absent, or too few values
			}
			checkIPv4Rows(t, &r, string(body), rows)
		}
	}
	// Set bits past the rows in the last bitmap byte do not count.
	checkIPv4Rows(t, &r, string([]byte{ipv4HasAbsent, 0xfc, 1, 2, 3, 4, 5, 6, 7, 8}), 2)
}

// TestIPv4RowsBadInput: a malformed body gives an error naming the
// problem, never a panic, and the buffer still reads a valid body after.
func TestIPv4RowsBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	vals, absent := ipVals(rng, 100, 3)
	_, body := chooseEncoding(vals, absent)
	var r IPv4Rows
	for _, c := range []struct {
		name string
		body []byte
		rows int
		want string
	}{
		{"truncated", body[:len(body)-3], 100, "bytes of addresses"},
		{"truncated bitmap", body[:5], 100, "truncated"},
		{"empty", nil, 100, "truncated"},
		{"more rows", body, 101, "ipv4 column"},
		{"fewer rows", body, 99, "ipv4 column"},
		{"negative rows", body, -1, "-1 rows"},
		{"bad flags", append([]byte{0x80}, body[1:]...), 100, "unknown flags"},
		{"trailing", append(slices.Clone(body), 1), 100, "bytes of addresses"},
	} {
		err := r.reset(string(c.body), c.rows)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: reset error %v, want one with %q", c.name, err, c.want)
		}
		if _, ok := r.At(0); ok {
			t.Errorf("%s: At(0) present after an error", c.name)
		}
	}
	checkIPv4Rows(t, &r, string(body), 100)
}

// TestLoadIPv4Rows checks LoadIPv4Rows against LoadIPv4 on a part's
// blocks: ipv4 columns partly and never absent, and columns of other
// kinds (ok false).
func TestLoadIPv4Rows(t *testing.T) {
	rows := dictRows(3000)
	for i, e := range rows {
		ip := fmt.Sprintf("10.%d.%d.%d", i%3, i%200, i%251)
		if i%5 != 1 {
			e.Fields = append(e.Fields, event.Field{Name: "src_ip", Value: ip})
		}
		e.Fields = append(e.Fields, event.Field{Name: "dst_ip", Value: ip})
	}
	p := loadTestPart(t, rows, 1024)
	var buf IPv4RowsBuf
	seen := 0
	for blk := range p.blocks {
		ref := &partRef{p: p, i: blk}
		var loader IPv4RowLoader = ref
		for _, name := range []string{"src_ip", "dst_ip", "user", "missing", event.FieldRaw, event.FieldHost} {
			want, err := ref.LoadIPv4(name)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := loader.LoadIPv4Rows(name, &buf)
			if err != nil || ok != (want != nil) {
				t.Fatalf("LoadIPv4Rows(%d, %s) = ok %v, %v; LoadIPv4 %v", blk, name, ok, err, want != nil)
			}
			if !ok {
				continue
			}
			seen++
			if got.Rows() != len(want.Addrs) {
				t.Fatalf("LoadIPv4Rows(%d, %s): %d rows, want %d", blk, name, got.Rows(), len(want.Addrs))
			}
			for i, a := range want.Addrs {
				g, ok := got.At(i)
				if present := want.Absent == nil || !want.Absent[i]; ok != present || ok && g != a {
					t.Fatalf("LoadIPv4Rows(%d, %s).At(%d) = %d, %v; want %d, %v", blk, name, i, g, ok, a, present)
				}
			}
		}
	}
	if seen != 2*len(p.blocks) {
		t.Errorf("%d ipv4 columns read, want %d", seen, 2*len(p.blocks))
	}
}

// FuzzIPv4Rows: any body and row count give At exactly decodeIPv4's
// answers, or both an error.
func FuzzIPv4Rows(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, ae := range []int{0, 2, 9} {
		vals, absent := ipVals(rng, 70, ae)
		_, body := chooseEncoding(vals, absent)
		f.Add(body, 70)
	}
	f.Add([]byte{1, 0xff}, 8)
	f.Add([]byte{0, 1, 2, 3, 4}, 1)
	f.Add([]byte{1, 0xfe, 0xff, 1, 2, 3, 4}, 9)
	f.Fuzz(func(t *testing.T, body []byte, rows int) {
		if rows < 0 || rows > 1<<16 {
			return
		}
		var r IPv4Rows
		checkIPv4Rows(t, &r, string(body), rows)
	})
}
