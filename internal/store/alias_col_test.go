package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

// aliasRows are events with ECS-style duplicates of their fields, the way
// the JSON normalizer adds them: user.name = user, source.ip = src_ip,
// dup_port = port (int), app2 = app (dict), same2 = same (const). The
// copies share the original's bytes except for user.name, a fresh copy.
// client.ip equals src_ip only in the rows that have it: not an alias.
func aliasRows(n int) []*event.Event {
	rows := make([]*event.Event, n)
	for i := range rows {
		u := i % 300
		if i%2 == 1 {
			u = i % 17
		}
		user := fmt.Sprintf("user%d", u)
		ip := fmt.Sprintf("10.%d.%d.%d", i%7, i%11, i%13)
		port := strconv.Itoa(1000 + i%50)
		app := []string{"sshd", "cron", "nginx"}[i%3]
		e := &event.Event{Time: int64(i) * 1e9, Host: "h1", Source: "sshd",
			Raw: fmt.Sprintf("Accepted password for %s from %s port %s app %s", user, ip, port, app),
			Fields: []event.Field{{Name: "user", Value: user}, {Name: "src_ip", Value: ip}, {Name: "port", Value: port},
				{Name: "app", Value: app}, {Name: "same", Value: "constant"}}}
		if i%2 == 0 {
			e.Fields = append(e.Fields, event.Field{Name: "client.ip", Value: ip})
		}
		e.Fields = append(e.Fields, event.Field{Name: "user.name", Value: strings.Clone(user)}, event.Field{Name: "source.ip", Value: ip},
			event.Field{Name: "dup_port", Value: port}, event.Field{Name: "app2", Value: app}, event.Field{Name: "same2", Value: "constant"})
		if i == 5 {
			// One row where the copy differs: dup_port is no alias in
			// the first block.
			e.Fields[len(e.Fields)-3].Value = "1"
		}
		rows[i] = e
	}
	return rows
}

// wantColumn returns the values and absent flags of column name over rows.
func wantColumn(rows []*event.Event, name string) ([]string, []bool) {
	vals := make([]string, len(rows))
	absent := make([]bool, len(rows))
	missing := false
	for i, e := range rows {
		v, ok := e.Get(name)
		if name == event.FieldRaw {
			v, ok = e.Raw, true
		}
		vals[i], absent[i] = v, !ok
		missing = missing || !ok
	}
	if !missing {
		absent = nil
	}
	return vals, absent
}

func blockKinds(p *part, bi int) map[string]byte {
	out := map[string]byte{}
	for _, c := range p.blocks[bi].cols {
		out[p.names[c.name]] = p.data[c.off]
	}
	return out
}

// TestAliasColumns checks that the writer stores copies of earlier columns
// as aliases, and that every way of reading gives their values back.
func TestAliasColumns(t *testing.T) {
	const blockRows = 400
	rows := aliasRows(1200)
	p := loadTestPart(t, rows, blockRows)
	for bi := range p.blocks {
		k := blockKinds(p, bi)
		for _, name := range []string{"user.name", "source.ip", "app2", "same2"} {
			if k[name] != kindAlias {
				t.Errorf("block %d: %s has kind %d, want alias", bi, name, k[name])
			}
		}
		if k["client.ip"] == kindAlias {
			t.Errorf("block %d: client.ip (present in half the rows) is an alias", bi)
		}
		if want := bi > 0; (k["dup_port"] == kindAlias) != want {
			t.Errorf("block %d: dup_port alias = %v, want %v", bi, k["dup_port"] == kindAlias, want)
		}
		if err := p.checkAliases(bi); err != nil {
			t.Errorf("block %d: checkAliases: %v", bi, err)
		}
	}
	names := []string{"user", "user.name", "src_ip", "source.ip", "client.ip", "port", "dup_port", "app", "app2", "same", "same2", event.FieldRaw}
	var kept []*Block
	for bi := range p.blocks {
		blk := rows[bi*blockRows : (bi+1)*blockRows]
		check := func(b *Block, what string) {
			t.Helper()
			for _, c := range b.Cols {
				vals, absent := wantColumn(blk, c.Name)
				if diff := cmp.Diff(vals, c.Values); diff != "" {
					t.Fatalf("block %d %s: column %s (-want +got):\n%s", bi, what, c.Name, diff)
				}
				if !equalAbsent(absent, c.Absent) {
					t.Fatalf("block %d %s: column %s absent flags differ", bi, what, c.Name)
				}
			}
		}
		// Each column alone (an alias loads its target internally), the
		// aliases with _raw (templates may refer to them), and all.
		for _, n := range names {
			b, err := p.loadBlock(bi, []string{n})
			if err != nil {
				t.Fatalf("block %d load %s: %v", bi, n, err)
			}
			check(b, "alone")
			kept = append(kept, b)
		}
		for _, cols := range [][]string{{event.FieldRaw, "source.ip"}, {"source.ip", event.FieldRaw, "user.name"}, nil} {
			b, err := p.loadBlock(bi, cols)
			if err != nil {
				t.Fatal(err)
			}
			check(b, fmt.Sprint(cols))
			kept = append(kept, b)
		}
		// Rows: only some _raw rows expanded.
		b, err := p.loadBlockWith(bi, []string{event.FieldRaw, "user.name"}, LoadOptions{Rows: []int{1, 7, 300}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []int{1, 7, 300} {
			if got := b.Cols[0].Values[r]; got != blk[r].Raw {
				t.Fatalf("block %d row %d: _raw %q, want %q", bi, r, got, blk[r].Raw)
			}
		}
		// LoadDict: an alias of a dict or const column is one, under its
		// own name (also after the target's was cached, and before).
		for _, n := range []string{"same2", "same", "app2", "app", "same2"} {
			dc, err := p.loadDict(bi, n)
			if err != nil || dc == nil {
				t.Fatalf("block %d loadDict(%s) = %v, %v", bi, n, dc, err)
			}
			if dc.Name != n {
				t.Errorf("block %d loadDict(%s).Name = %q", bi, n, dc.Name)
			}
			vals, _ := wantColumn(blk, n)
			for i, v := range vals {
				got := dc.Dict[0]
				if dc.Codes != nil {
					got = dc.Dict[dc.Codes[i]-1]
				}
				if got != v {
					t.Fatalf("block %d loadDict(%s) row %d = %q, want %q", bi, n, i, got, v)
				}
			}
		}
		// PruneCols: an alias goes with its target.
		for _, tc := range []struct {
			texts []string
			want  []string
		}{
			{[]string{"nomatch"}, []string{event.FieldRaw}},
			{[]string{"user7"}, []string{event.FieldRaw, "user", "user.name"}},
		} {
			b, err := p.loadBlockWith(bi, []string{event.FieldRaw, "user", "user.name"}, LoadOptions{PruneCols: []string{"user", "user.name"}, PruneTexts: tc.texts})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range b.Cols {
				got = append(got, c.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("block %d prune %v: columns %v, want %v", bi, tc.texts, got, tc.want)
			}
			check(b, "pruned")
		}
		// The alias only in PruneCols: its target is pruned with it.
		b, err = p.loadBlockWith(bi, []string{"user.name"}, LoadOptions{PruneCols: []string{"user.name"}, PruneTexts: []string{"nomatch"}})
		if err != nil {
			t.Fatal(err)
		}
		check(b, "alias pruned alone")
	}
	// Nothing returned may point into scratch buffers reused since.
	for _, b := range kept {
		for _, c := range b.Cols {
			for i, v := range c.Values {
				if c.Has(i) && strings.ContainsRune(v, 0) {
					t.Fatalf("column %s row %d: %q looks overwritten", c.Name, i, v)
				}
			}
		}
	}
}

// TestAliasBloom checks that alias columns keep their tokens and get
// exact keys when their target is a dictionary or constant.
func TestAliasBloom(t *testing.T) {
	rows := aliasRows(1200) // user: 167 values, a dictionary
	p := loadTestPart(t, rows, 1200)
	f := p.bloom(0)
	for _, e := range rows {
		for _, fl := range e.Fields {
			eachTokenHash(fl.Value, func(h uint64) {
				if !bloomHas(f, h) {
					t.Fatalf("token of %s=%q missing from the block filter", fl.Name, fl.Value)
				}
			})
		}
	}
	for _, k := range []struct{ name, value string }{{"app2", "cron"}, {"same2", "constant"}, {"user.name", "user7"}} {
		if !bloomHas(f, exactHash(k.name, k.value)) {
			t.Errorf("exact key %s=%s missing", k.name, k.value)
		}
	}
}

// TestAliasCorrupt damages an alias chunk (fixing its checksum, as an
// attacker or a buggy writer would): reads give a clear error, never a
// panic, and the other columns still load.
func TestAliasCorrupt(t *testing.T) {
	rows := aliasRows(400)
	good := loadTestPart(t, rows, 400).data
	for _, tc := range []struct {
		name  string
		patch func(ch []byte, self int) []byte // the new chunk (same length)
		want  string
	}{
		{"self", func(ch []byte, self int) []byte { ch[3] = byte(self); return ch }, "not an earlier one"},
		{"forward", func(ch []byte, self int) []byte { ch[3] = byte(self + 1); return ch }, "not an earlier one"},
		{"out_of_range", func(ch []byte, self int) []byte { ch[3] = 127; return ch }, "not an earlier one"},
		{"raw", func(ch []byte, self int) []byte { ch[3] = 0; return ch }, "templates"},
		{"codec", func(ch []byte, self int) []byte { ch[1] = codecZstd; return ch }, "codec"},
		{"length", func(ch []byte, self int) []byte { ch[2] = 2; return ch }, "body length"},
		{"varint", func(ch []byte, self int) []byte { ch[3] = 0x80; return ch }, "bad column index"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePart(bytes.Clone(good))
			if err != nil {
				t.Fatal(err)
			}
			bm := &p.blocks[0]
			k := slices.IndexFunc(bm.cols, func(c colMeta) bool { return p.names[c.name] == "source.ip" })
			c := &bm.cols[k]
			ch := p.data[c.off : c.off+uint64(c.size)]
			if len(ch) != 4 || ch[0] != kindAlias {
				t.Fatalf("source.ip chunk %x is not a one-byte alias", ch)
			}
			tc.patch(ch, k)
			c.crc = crc32.Checksum(ch, castagnoli)
			for _, cols := range [][]string{{"source.ip"}, nil, {event.FieldRaw, "source.ip"}} {
				_, err := p.loadBlock(0, cols)
				if err == nil || !errors.Is(err, errAlias) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "source.ip") {
					t.Errorf("load %v: err = %v, want %q about source.ip", cols, err, tc.want)
				}
			}
			if err := p.checkAliases(0); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("checkAliases: %v, want %q", err, tc.want)
			}
			if dc, err := p.loadDict(0, "source.ip"); dc != nil || err != nil {
				t.Errorf("loadDict = %v, %v; want nil, nil (left to Load)", dc, err)
			}
			b, err := p.loadBlock(0, []string{"src_ip", "user.name", "user"})
			if err != nil {
				t.Fatalf("valid columns beside the damaged one: %v", err)
			}
			vals, _ := wantColumn(rows, "user")
			if !slices.Equal(b.Cols[1].Values, vals) {
				t.Fatal("user.name lost")
			}
		})
	}
}

// TestAliasMergeVerify merges parts with alias columns (copied blocks and
// rewritten ones) and checks every row and field, and Verify.
func TestAliasMergeVerify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.MergeMinParts, opts.MergeMaxParts = 2, 8
	s := openTest(t, opts)
	rows := aliasRows(1000)
	evs := make([]event.Event, len(rows))
	for i, r := range rows {
		evs[i] = *r
		evs[i].Fields = append(evs[i].Fields, event.Field{Name: "id", Value: strconv.Itoa(i)})
	}
	for f := 0; f < 4; f++ {
		if err := s.Append(ctx, evs[f*250:(f+1)*250]); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Metrics().MergesDone == 0 {
		t.Fatal("no merge ran")
	}
	sn := s.Snapshot()
	refs, _, err := sn.Blocks(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, r := range refs {
		b, err := r.Load(nil)
		if err != nil {
			t.Fatal(err)
		}
		id := b.Column("id")
		for i := range b.Rows() {
			n, _ := strconv.Atoi(id.Values[i])
			e := rows[n]
			for _, c := range b.Cols {
				if event.IsMeta(c.Name) && c.Name != event.FieldRaw || c.Name == "id" {
					continue
				}
				want, ok := e.Get(c.Name)
				if c.Name == event.FieldRaw {
					want, ok = e.Raw, true
				}
				if c.Has(i) != ok || c.Values[i] != want {
					t.Fatalf("row %d column %s = %q (%v), want %q", n, c.Name, c.Values[i], c.Has(i), want)
				}
			}
			seen++
		}
	}
	sn.Release()
	if seen != len(rows) {
		t.Fatalf("%d rows after merge, want %d", seen, len(rows))
	}
	// Equality filters on aliases still find their blocks.
	for _, f := range []*Filter{{Op: FilterEqual, Field: "user.name", Value: "user7"}, {Op: FilterEqual, Field: "app2", Value: "cron"},
		{Op: FilterToken, Field: "source.ip", Token: "10"}} {
		sn := s.Snapshot()
		refs, _, err := sn.Blocks(ctx, Query{Filter: f})
		sn.Release()
		if err != nil || len(refs) == 0 {
			t.Errorf("filter %+v: %d blocks, %v", f, len(refs), err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, dir)
}

// TestFindAliases checks the writer's alias choice on built columns.
func TestFindAliases(t *testing.T) {
	col := func(name string, vals []string, absent []bool) builtCol {
		return builtCol{name: name, vals: vals, absent: absent}
	}
	x := []string{"a", "b", "c"}
	cols := []builtCol{
		col(event.FieldRaw, []string{"a", "b", "c"}, nil),
		col("f", x, nil),
		col("g", []string{"a", "b", "c"}, nil), // alias of f
		col("h", []string{"a", "b", "d"}, nil), // differs at the end
		col("i", []string{"a", "", "c"}, []bool{false, true, false}),
		col("j", []string{"a", "", "c"}, []bool{false, true, false}), // alias of i
		col("k", []string{"a", "", "c"}, []bool{false, false, false}),
		col(event.FieldReceived, []string{"1", "2", "3"}, nil),
		col("l", []string{"1", "2", "3"}, nil), // not of _received
		col("m", []string{"a", "x", "c"}, nil),
	}
	got := findAliases(nil, cols)
	want := []int{-1, -1, 1, -1, -1, 4, -1, -1, -1, -1}
	if !slices.Equal(got, want) {
		t.Fatalf("findAliases = %v, want %v", got, want)
	}
}

// TestVerifyAlias checks that verify reports an alias chunk that refers
// to itself, in a part whose checksums all hold.
func TestVerifyAlias(t *testing.T) {
	p, err := parsePart(buildAliasTestPart(t))
	if err != nil {
		t.Fatal(err)
	}
	bm := &p.blocks[0]
	k := slices.IndexFunc(bm.cols, func(c colMeta) bool { return p.names[c.name] == "source.ip" })
	c := &bm.cols[k]
	ch := p.data[c.off : c.off+uint64(c.size)]
	ch[3] = byte(k)
	c.crc = crc32.Checksum(ch, castagnoli)
	// Write the index again (its column checksums changed) and the footer.
	pw := &partWriter{partition: p.info.Partition, day: p.info.Day, names: p.names, streams: p.streams, blocks: p.blocks}
	initCodecs()
	idx := encoders[levelFast].EncodeAll(pw.encodeIndex(), nil)
	off := uint64(len(p.data)) - footerSize - binary.LittleEndian.Uint64(p.data[len(p.data)-footerSize+8:])
	data := append(bytes.Clone(p.data[:off]), idx...)
	data = binary.LittleEndian.AppendUint64(data, off)
	data = binary.LittleEndian.AppendUint64(data, uint64(len(idx)))
	data = binary.LittleEndian.AppendUint32(data, crc32.Checksum(idx, castagnoli))
	data = binary.LittleEndian.AppendUint32(data, partVersion)
	data = append(data, partEndMagic...)
	path := filepath.Join(t.TempDir(), "a.part")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	info := partInfo{Partition: p.info.Partition, Day: p.info.Day, Size: int64(len(data)), CRC: crc32.Checksum(data, castagnoli), Rows: p.info.Rows}
	rep := &Report{}
	verifyPart(path, info, rep)
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].What, "source.ip") || !strings.Contains(rep.Problems[0].What, "not an earlier one") {
		t.Fatalf("problems %v, want one about the alias source.ip", rep.Problems)
	}
}
