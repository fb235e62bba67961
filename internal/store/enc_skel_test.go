package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// skelRows makes rows of a few shapes with variables (digits), field
// values in the text, escapes, 0x00 bytes, invalid UTF-8 and empty texts.
func skelRows(n int, seed uint64) []*event.Event {
	rng := rand.New(rand.NewPCG(seed, 3))
	shapes := []string{
		"Jan %2d 00:%02d:%02d sshd[%d]: Failed password for %s from %s port %d ssh2",
		"Jan %2d 00:%02d:%02d cron[%d]: (%s) CMD id=a%db %s",
		"\x01%d\x01\x01 %d:%d user%d=%s \x00%s",
		"\xff\xfe %d%d%d %s %s",
		"",
	}
	rows := make([]*event.Event, n)
	for i := range rows {
		user := fmt.Sprintf("user%d", i%30)
		ip := fmt.Sprintf("10.%d.%d.%d", i%7, i%11, i%13)
		var raw string
		switch k := rng.IntN(len(shapes)); k {
		case 0, 1:
			raw = fmt.Sprintf(shapes[k], 1+i/1000, i/60%60, i%60, 1000+rng.IntN(9000), user, ip, rng.IntN(65536))
		case 2, 3:
			raw = fmt.Sprintf(shapes[k], rng.IntN(100), rng.IntN(100), rng.IntN(9), user, ip)
		}
		rows[i] = &event.Event{Time: int64(i) * 1e9, Host: "h1", Source: "sshd", Raw: raw,
			Fields: []event.Field{{Name: "user", Value: user}, {Name: "src_ip", Value: ip}, {Name: "n", Value: strconv.Itoa(i % 3)}}}
	}
	return rows
}

// TestSkeletonRoundTrip writes blocks with skeletons and reads them back
// every way: plain loads, loads of some rows, and RawTemplates (whose
// templates must be those of kindTemplate).
func TestSkeletonRoundTrip(t *testing.T) {
	rows := skelRows(1200, 1)
	p := loadTestPart(t, rows, 400)
	var tp templater
	var cb colBuilder
	for bi := range p.blocks {
		bm := &p.blocks[bi]
		if c := bm.cols[0]; p.data[c.off] != kindSkeleton {
			t.Fatalf("block %d: _raw of kind %d, want skeletons", bi, p.data[c.off])
		}
		in := rows[bi*400 : (bi+1)*400]
		b, err := p.loadBlock(bi, []string{event.FieldRaw})
		if err != nil {
			t.Fatal(err)
		}
		raw := b.Column(event.FieldRaw)
		for i, e := range in {
			if !raw.Has(i) || raw.Values[i] != e.Raw {
				t.Fatalf("block %d row %d: %q, want %q", bi, i, raw.Values[i], e.Raw)
			}
		}
		sel := []int{3, 99, 398}
		b, err = p.loadBlock(bi, []string{event.FieldRaw}, LoadOptions{Rows: sel})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sel {
			if got := b.Column(event.FieldRaw).Values[r]; got != in[r].Raw {
				t.Fatalf("block %d row %d of some: %q, want %q", bi, r, got, in[r].Raw)
			}
		}
		cb.build(in)
		tp.build(in, &cb)
		b, err = p.loadBlockWith(bi, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
		if err != nil || b.Raw == nil || b.Raw.Skeletons() == 0 {
			t.Fatalf("block %d: RawTemplates %v, %v; want skeletons", bi, b.Raw, err)
		}
		tm := b.Raw
		start := 0
		var out []byte
		for i, e := range in {
			want := string(tp.data[start:tp.ends[i]])
			start = tp.ends[i]
			if got := tm.Template(i); got != want {
				t.Fatalf("block %d row %d: template %q, want %q", bi, i, got, want)
			}
			sk := tm.Skeleton(tm.SkeletonOf(i))
			if countVars(sk) == 0 && sk != want {
				t.Fatalf("block %d row %d: skeleton %q without variables, template %q", bi, i, sk, want)
			}
			if out, err = tm.AppendRaw(out[:0], i); err != nil || string(out) != e.Raw {
				t.Fatalf("block %d row %d: AppendRaw %q, %v; want %q", bi, i, out, err, e.Raw)
			}
		}
		tm.Release()
	}
}

// TestSkeletonFallback checks that blocks whose rows share too few
// skeletons keep kindTemplate.
func TestSkeletonFallback(t *testing.T) {
	rows := skelRows(100, 2)
	for i, e := range rows {
		e.Raw = fmt.Sprintf("unique%s text %d", strings.Repeat("x", i), i)
		if i%2 == 1 {
			e.Raw = fmt.Sprintf("other %s text %d", strings.Repeat("y", i), i)
		}
	}
	p := loadTestPart(t, rows, 100)
	if k := p.data[p.blocks[0].cols[0].off]; k != kindTemplate {
		t.Errorf("_raw of kind %d, want kindTemplate (%d skeletons of 100 rows)", k, 100)
	}
	b, err := p.loadBlock(0, []string{event.FieldRaw})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range rows {
		if got := b.Column(event.FieldRaw).Values[i]; got != e.Raw {
			t.Fatalf("row %d: %q, want %q", i, got, e.Raw)
		}
	}
}

// skelChunk encodes templates (as given) into a skeleton chunk.
func skelChunk(templates []string) ([]byte, bool) {
	var data []byte
	var ends []int
	for _, tm := range templates {
		data = append(data, tm...)
		ends = append(ends, len(data))
	}
	var s skeletoner
	return s.encode(nil, data, ends, levelFast)
}

// decodeSkelChunk decodes a skeleton chunk of rows rows into templates.
func decodeSkelChunk(ch []byte, rows int) ([]string, []bool, error) {
	sb, err := decodeSkeletonHead(ch, rows, nil)
	if err != nil {
		return nil, nil, err
	}
	defer sb.release()
	vals, absent, buf, err := sb.templates(make([]string, rows), nil, nil)
	if err != nil {
		return nil, nil, err
	}
	out := make([]string, rows)
	for i, v := range vals {
		out[i] = strings.Clone(v)
	}
	_ = buf
	return out, absent, nil
}

// TestSkeletonBad checks that damaged skeleton chunks give errors, not
// panics, and that the undamaged chunk decodes.
func TestSkeletonBad(t *testing.T) {
	tms := []string{"a 1 b", "a 22 b", "a 333 b \x01\x05", "a 4 b"}
	ch, ok := skelChunk(tms)
	if !ok {
		t.Fatal("no skeletons for 4 rows of one skeleton")
	}
	if got, _, err := decodeSkelChunk(ch, len(tms)); err != nil || strings.Join(got, "|") != strings.Join(tms, "|") {
		t.Fatalf("decode = %q, %v; want %q", got, err, tms)
	}
	if _, _, err := decodeSkelChunk(ch, len(tms)+1); err == nil {
		t.Error("decode with a row too many: no error")
	}
	for n := range len(ch) {
		if _, _, err := decodeSkelChunk(ch[:n], len(tms)); err == nil {
			t.Errorf("decode of %d of %d bytes: no error", n, len(ch))
		}
	}
	for i := 2; i < len(ch); i++ {
		bad := append([]byte(nil), ch...)
		bad[i] ^= 0x5a
		_, _, _ = decodeSkelChunk(bad, len(tms)) // an error or other text, never a panic
	}
}

// FuzzSkeletonChunk encodes arbitrary templates (rows split at '\n') and
// checks they decode back byte for byte; arbitrary chunk bytes must not
// panic the decoder.
func FuzzSkeletonChunk(f *testing.F) {
	f.Add("Jan  1 00:00:03 sshd[28703]: \x01\x05 x\nJan  1 00:00:04 sshd[28704]: \x01\x05 x", []byte{8, 0, 1, 2})
	f.Add("\x01\x01 12\x01\n\x00 ab1\xff\n\n", []byte{})
	f.Add("\x01\x00", []byte("0"))
	f.Fuzz(func(t *testing.T, text string, junk []byte) {
		tms := strings.Split(text, "\n")
		tms = append(tms, tms...) // rows share skeletons
		if ch, ok := skelChunk(tms); ok {
			got, absent, err := decodeSkelChunk(ch, len(tms))
			if err != nil || absent != nil {
				t.Fatalf("decode: %v (absent %v)", err, absent)
			}
			for i := range tms {
				if got[i] != tms[i] {
					t.Fatalf("row %d: %q, want %q", i, got[i], tms[i])
				}
			}
		}
		_, _, _ = decodeSkelChunk(junk, len(tms))
		if len(junk) > 0 {
			_, _, _ = decodeSkelChunk(append([]byte{kindSkeleton, codecNone, byte(len(junk))}, junk...), 3)
		}
	})
}

// TestSkeletonMergeWithTemplates merges parts with templates (kind 5)
// and with skeletons and checks every row, the raw texts and Verify.
func TestSkeletonMergeWithTemplates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.MergeMinParts, opts.MergeMaxParts = 2, 8
	s := openTest(t, opts)
	all := testEvents(0, 2000)
	for f := range 4 {
		skeletonsOff = f%2 == 0
		if err := s.Append(ctx, all[f*500:(f+1)*500]); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	skeletonsOff = false
	want := readRaw(t, s)
	if err := s.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Metrics().MergesDone == 0 {
		t.Fatal("no merge ran")
	}
	checkIDs(t, readAll(t, s, Query{}), len(all))
	if got := readRaw(t, s); got != want {
		t.Error("raw texts differ after the merge")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, dir)
}

// readRaw returns every row's raw text, one a line, in id order.
func readRaw(t *testing.T, s *Store) string {
	t.Helper()
	sn := s.Snapshot()
	defer sn.Release()
	refs, _, err := sn.Blocks(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int]string{}
	for _, r := range refs {
		b, err := r.Load([]string{"id", event.FieldRaw})
		if err != nil {
			t.Fatal(err)
		}
		ids, raw := b.Column("id"), b.Column(event.FieldRaw)
		for i := range b.Rows() {
			id, _ := strconv.Atoi(ids.Values[i])
			byID[id] = raw.Values[i]
		}
	}
	var sb strings.Builder
	for i := range len(byID) {
		sb.WriteString(byID[i])
		sb.WriteByte('\n')
	}
	return sb.String()
}
