package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

func TestParseIPv4(t *testing.T) {
	f := func(s string, want uint32, ok bool) {
		t.Helper()
		got, gotOK := parseIPv4(s)
		if gotOK != ok || (ok && got != want) {
			t.Errorf("parseIPv4(%q) = %#x, %v; want %#x, %v", s, got, gotOK, want, ok)
		}
		if ok {
			if back := string(AppendIPv4(nil, got)); back != s {
				t.Errorf("AppendIPv4(parseIPv4(%q)) = %q", s, back)
			}
		}
	}
	f("0.0.0.0", 0, true)
	f("255.255.255.255", 0xffffffff, true)
	f("203.0.113.77", 203<<24|113<<8|77, true)
	f("10.1.2.3", 10<<24|1<<16|2<<8|3, true)
	f("01.2.3.4", 0, false)
	f("1.2.3.04", 0, false)
	f("1.2.3.00", 0, false)
	f("256.1.1.1", 0, false)
	f("1.2.3", 0, false)
	f("1.2.3.4.5", 0, false)
	f("1..2.3", 0, false)
	f("1.2.3.", 0, false)
	f(".1.2.3", 0, false)
	f("1.2.3.4 ", 0, false)
	f("1.2.3.-4", 0, false)
	f("1.2.3.1000", 0, false)
	f("", 0, false)
	f("::1", 0, false)
}

// ipVals returns n random dotted quads (some repeated), absent where
// every absentEvery-th row (0: never).
func ipVals(r *rand.Rand, n, absentEvery int) ([]string, []bool) {
	vals := make([]string, n)
	var absent []bool
	for i := range vals {
		if absentEvery > 0 && i%absentEvery == 1 {
			absent = setAbsent(absent, n, i)
			continue
		}
		a := r.Uint32()
		if r.IntN(3) == 0 {
			a = 10<<24 | uint32(r.IntN(50)) // repeats
		}
		vals[i] = string(AppendIPv4(nil, a))
	}
	return vals, absent
}

// TestIPv4RoundTrip checks that IPv4 columns are chosen where they apply,
// decode byte-exact as text and as numbers, and that anything else falls
// back to the other kinds.
func TestIPv4RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	canon := func(n, absentEvery int) ([]string, []bool) { return ipVals(r, n, absentEvery) }
	withBad := func(bad string) func(int, int) ([]string, []bool) {
		return func(n, absentEvery int) ([]string, []bool) {
			v, a := ipVals(r, n, absentEvery)
			v[n-1] = bad
			if a != nil {
				a[n-1] = false
			}
			return v, a
		}
	}
	tests := []struct {
		name string
		gen  func(n, absentEvery int) ([]string, []bool)
		want byte
	}{
		{"canonical", canon, kindIPv4},
		{"leading zero", withBad("10.0.0.01"), kindPlain},
		{"ipv6", withBad("::1"), kindPlain},
		{"empty present", withBad(""), kindPlain},
		{"word", withBad("unknown"), kindPlain},
	}
	for _, tc := range tests {
		for _, absentEvery := range []int{0, 3, 64} {
			for _, n := range []int{1, 7, 300, 5000} {
				t.Run(fmt.Sprintf("%s/absent%d/n%d", tc.name, absentEvery, n), func(t *testing.T) {
					vals, absent := tc.gen(n, absentEvery)
					kind, _ := chooseEncoding(vals, absent)
					if n >= 300 && kind != tc.want {
						t.Errorf("chooseEncoding = kind %d, want %d", kind, tc.want)
					}
					chunk := encodeColumn(nil, vals, absent, levelFast)
					gotVals, gotAbsent, err := decodeColumn(chunk, n)
					if err != nil {
						t.Fatalf("decodeColumn: %v", err)
					}
					if d := cmp.Diff(vals, gotVals); d != "" {
						t.Errorf("values differ (-want +got):\n%s", d)
					}
					if !equalAbsent(absent, gotAbsent) {
						t.Errorf("absent = %v, want %v", gotAbsent, absent)
					}
					if kind != kindIPv4 {
						return
					}
					_, body, err := chunkBody(chunk)
					if err != nil {
						t.Fatal(err)
					}
					addrs, nAbsent, err := decodeIPv4(body, n, nil)
					if err != nil {
						t.Fatalf("decodeIPv4: %v", err)
					}
					for i, a := range addrs {
						want := ""
						if absent == nil || !absent[i] {
							want = string(AppendIPv4(nil, a))
						} else if a != 0 {
							t.Errorf("row %d: absent with address %#x", i, a)
						}
						if want != vals[i] {
							t.Errorf("row %d: %q, want %q", i, want, vals[i])
						}
					}
					if !equalAbsent(absent, nAbsent) {
						t.Errorf("decodeIPv4 absent = %v, want %v", nAbsent, absent)
					}
				})
			}
		}
	}
}

// TestIPv4Smaller checks that the ipv4 kind is smaller than plain text
// after compression on addresses with the repetition of real logs.
func TestIPv4Smaller(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals, absent := ipVals(r, 8000, 5)
	_, body := chooseEncoding(vals, absent)
	ip := len(encodeChunk(nil, kindIPv4, body, levelFast))
	plain := len(encodeChunk(nil, kindPlain, encodePlain(vals, absent), levelFast))
	if ip >= plain {
		t.Errorf("ipv4 chunk %d bytes, plain %d: want smaller", ip, plain)
	}
}

// TestIPv4BadInput checks that damaged ipv4 chunks give clear errors.
func TestIPv4BadInput(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vals, absent := ipVals(r, 100, 3)
	kind, body := chooseEncoding(vals, absent)
	if kind != kindIPv4 {
		t.Fatalf("kind %d, want ipv4", kind)
	}
	f := func(name string, body []byte, rows int, want string) {
		t.Helper()
		chunk := encodeChunk(nil, kindIPv4, body, levelFast)
		_, _, err := decodeColumn(chunk, rows)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: decodeColumn error %v, want one with %q", name, err, want)
		}
		_, _, err = decodeIPv4(string(body), rows, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: decodeIPv4 error %v, want one with %q", name, err, want)
		}
	}
	f("truncated", body[:len(body)-3], 100, "bytes of addresses")
	f("truncated bitmap", body[:5], 100, "truncated")
	f("empty", nil, 100, "truncated")
	f("more rows", body, 101, "ipv4 column")
	f("bad flags", append([]byte{0x80}, body[1:]...), 100, "unknown flags")
	f("trailing", append(slices.Clone(body), 1), 100, "bytes of addresses")
	// A truncated compressed chunk fails before the body is decoded.
	chunk := encodeColumn(nil, vals, absent, levelFast)
	if _, _, err := decodeColumn(chunk[:len(chunk)-5], 100); err == nil {
		t.Error("truncated chunk decoded without error")
	}
}

func FuzzDecodeIPv4(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, ae := range []int{0, 2, 9} {
		vals, absent := ipVals(r, 40, ae)
		_, body := chooseEncoding(vals, absent)
		f.Add(body, 40)
	}
	f.Add([]byte{1, 0xff}, 8)
	f.Add([]byte{0, 1, 2, 3, 4}, 1)
	f.Fuzz(func(t *testing.T, body []byte, rows int) {
		if rows < 0 || rows > 1<<16 {
			return
		}
		addrs, absent, err := decodeIPv4(string(body), rows, nil)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(addrs) != rows || (absent != nil && len(absent) != rows) {
			t.Fatalf("%d addresses, %d absent flags for %d rows", len(addrs), len(absent), rows)
		}
		// The plain reference, and buffers holding stale values.
		wantA, wantAbs := refDecodeIPv4(t, string(body), rows)
		stale := []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9}
		staleAbs := []bool{true, false, true, true, false, true, false, true, true}
		a2, ab2, err := decodeIPv4To(string(body), rows, stale, staleAbs)
		if err != nil || !slices.Equal(a2, wantA) || !slices.Equal(addrs, wantA) || !equalAbsent(ab2, wantAbs) || !equalAbsent(absent, wantAbs) {
			t.Fatalf("decodeIPv4To or decodeIPv4 differs from the reference (%v)", err)
		}
		checkSelectIPv4(t, string(body), rows, rand.New(rand.NewPCG(uint64(rows), 1)))
		// A valid body decodes as text too, and re-encodes to itself up
		// to the bitmap's unused bits and an empty bitmap.
		vals, tabsent, err := decodeBody(kindIPv4, string(body), rows, nil, false)
		if err != nil {
			t.Fatalf("decodeBody: %v", err)
		}
		if !equalAbsent(absent, tabsent) {
			t.Fatalf("decodeBody absent %v, decodeIPv4 %v", tabsent, absent)
		}
		if rows > 0 && slices.Contains(absent, false) || absent == nil && rows > 0 {
			again, ok := encodeIPv4(vals, absent)
			if !ok {
				t.Fatalf("encodeIPv4 refused decoded values %q", vals)
			}
			a2, ab2, err := decodeIPv4(string(again), rows, nil)
			if err != nil || !slices.Equal(a2, addrs) || !equalAbsent(ab2, absent) {
				t.Fatalf("re-encode: %v", err)
			}
		}
	})
}

// TestLoadIPv4 checks LoadIPv4 against Load on a part whose blocks hold an
// IPv4 column (partly absent), a text column and a column with a bad value.
func TestLoadIPv4(t *testing.T) {
	rows := make([]*event.Event, 2048)
	for i := range rows {
		e := &event.Event{Time: int64(i) * 1e9, Host: "h1", Source: "sshd"}
		ip := fmt.Sprintf("%d.%d.%d.%d", 1+i%200, i%7, i/7%256, i%251)
		e.Raw = "Failed password from " + ip + " port 22"
		e.Fields = append(e.Fields, event.Field{Name: "user", Value: fmt.Sprintf("user%d", i)})
		if i%4 != 0 {
			e.Fields = append(e.Fields, event.Field{Name: "src_ip", Value: ip})
		}
		bad := ip
		if i == 1500 {
			bad = "10.0.0.001" // the second block is not ipv4
		}
		e.Fields = append(e.Fields, event.Field{Name: "dst_ip", Value: bad})
		rows[i] = e
	}
	p := loadTestPart(t, rows, 1024)
	if len(p.blocks) != 2 {
		t.Fatalf("%d blocks, want 2", len(p.blocks))
	}
	for blk := range p.blocks {
		for _, name := range []string{"src_ip", "dst_ip", "user", "missing", event.FieldRaw, event.FieldHost} {
			ref := &partRef{p: p, i: blk}
			col, err := ref.LoadIPv4(name)
			if err != nil {
				t.Fatalf("LoadIPv4(%d, %s): %v", blk, name, err)
			}
			wantIP := name == "src_ip" || (name == "dst_ip" && blk == 0)
			if (col != nil) != wantIP {
				t.Fatalf("LoadIPv4(%d, %s) = %v, want ipv4 %v", blk, name, col != nil, wantIP)
			}
			if col == nil {
				continue
			}
			b, err := p.loadBlock(blk, []string{name, event.FieldRaw})
			if err != nil {
				t.Fatal(err)
			}
			text := b.Column(name)
			for i, a := range col.Addrs {
				got := string(AppendIPv4(nil, a))
				if col.Absent != nil && col.Absent[i] {
					got = "<absent>"
				}
				want := text.Values[i]
				if !text.Has(i) {
					want = "<absent>"
				}
				if got != want {
					t.Fatalf("block %d %s row %d: %q, Load says %q", blk, name, i, got, want)
				}
			}
			// _raw refers to the column in its templates: it must expand.
			raw := b.Column(event.FieldRaw)
			for i := range b.Rows() {
				if raw.Values[i] != rows[blk*1024+i].Raw {
					t.Fatalf("block %d row %d: _raw %q, want %q", blk, i, raw.Values[i], rows[blk*1024+i].Raw)
				}
			}
		}
	}
}

// TestDecodeColumnRows checks that a load of some rows gives those rows'
// values as a full decode does, on ipv4 and other columns.
func TestDecodeColumnRows(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	ips, ipAbsent := ipVals(r, 500, 4)
	words := make([]string, 500)
	for i := range words {
		words[i] = fmt.Sprintf("w%d", r.IntN(1000))
	}
	for _, c := range []struct {
		vals   []string
		absent []bool
	}{{ips, ipAbsent}, {words, nil}} {
		chunk := encodeColumn(nil, c.vals, c.absent, levelFast)
		for _, only := range [][]int{nil, {}, {0}, {3, 4, 5, 499}, {1, 1, 2}} {
			sc := getScratch()
			vals, absent, err := decodeColumnRows(chunk, 500, sc, true, only)
			if err != nil {
				t.Fatalf("decodeColumnRows(kind %d, %v): %v", chunk[0], only, err)
			}
			if !equalAbsent(absent, c.absent) {
				t.Errorf("kind %d rows %v: absent differs", chunk[0], only)
			}
			check := only
			if only == nil {
				check = make([]int, 500)
				for i := range check {
					check[i] = i
				}
			}
			for _, i := range check {
				if vals[i] != c.vals[i] {
					t.Errorf("kind %d rows %v: row %d = %q, want %q", chunk[0], only, i, vals[i], c.vals[i])
				}
			}
			putScratch(sc)
		}
		if chunk[0] == kindIPv4 {
			if _, _, err := decodeColumnRows(chunk, 500, nil, false, []int{500}); err == nil {
				t.Error("row outside the block: no error")
			}
			if _, _, err := decodeColumnRows(chunk[:len(chunk)-4], 500, nil, false, []int{1}); err == nil {
				t.Error("truncated chunk: no error")
			}
		}
	}
}

// TestIPv4StoreMerge checks ipv4 columns through the store: flushes,
// a merge that decodes and re-encodes them, Verify, reopening, and the
// token filter of an address.
func TestIPv4StoreMerge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.MergeMinParts, opts.MergeMaxParts = 2, 8
	s := openTest(t, opts)
	r := rand.New(rand.NewPCG(13, 14))
	const flushes, per = 3, 600
	all := testEvents(0, flushes*per)
	want := map[string]string{} // id -> src_ip ("" absent)
	for i := range all {
		e := &all[i]
		id := strconv.Itoa(i)
		if i%5 != 0 {
			a := r.Uint32()
			ip := string(AppendIPv4(nil, a))
			e.Fields = append(e.Fields, event.Field{Name: "src_ip", Value: ip})
			e.Raw += " src=" + ip
			want[id] = ip
		} else {
			want[id] = ""
		}
	}
	for f := range flushes {
		var batch []event.Event
		for i := f; i < len(all); i += flushes { // interleaved: merges re-encode
			batch = append(batch, all[i])
		}
		if err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		sn := s.Snapshot()
		defer sn.Release()
		refs, _, err := sn.Blocks(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		seen, ipBlocks := 0, 0
		for _, ref := range refs {
			b, err := ref.Load([]string{"id", "src_ip", event.FieldRaw})
			if err != nil {
				t.Fatal(err)
			}
			ids, ips, raws := b.Column("id"), b.Column("src_ip"), b.Column(event.FieldRaw)
			for i := range b.Rows() {
				got := ""
				if ips.Has(i) {
					got = ips.Values[i]
				}
				if got != want[ids.Values[i]] {
					t.Fatalf("id %s: src_ip %q, want %q", ids.Values[i], got, want[ids.Values[i]])
				}
				if got != "" && !strings.HasSuffix(raws.Values[i], " src="+got) {
					t.Fatalf("id %s: _raw %q does not end with its address %q", ids.Values[i], raws.Values[i], got)
				}
				seen++
			}
			if il, ok := ref.(IPv4Loader); ok {
				if col, err := il.LoadIPv4("src_ip"); err != nil {
					t.Fatal(err)
				} else if col != nil {
					ipBlocks++
				}
			}
		}
		if seen != len(all) || ipBlocks == 0 {
			t.Fatalf("%d rows (want %d), %d blocks with an ipv4 column", seen, len(all), ipBlocks)
		}
		needle := want["7"]
		refs, _, err = sn.Blocks(ctx, Query{Filter: &Filter{Op: FilterEqual, Field: "src_ip", Value: needle}})
		if err != nil || len(refs) == 0 {
			t.Fatalf("FilterEqual src_ip=%s: %d blocks, %v", needle, len(refs), err)
		}
	}
	check(s)
	if m := s.Metrics(); m.MergesDone == 0 {
		t.Fatal("no merge ran")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, dir)
	s = openTest(t, opts)
	defer s.Close()
	check(s)
}
