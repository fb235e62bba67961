package store

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestRawTemplates checks that a block's templates give back its raw
// texts every way: Split with Value, AppendRaw and Column, against a
// plain load; and that MayContain never rules out a value it holds.
func TestRawTemplates(t *testing.T) {
	rows := loadRows(300)
	rng := rand.New(rand.NewPCG(1, 2))
	for i, e := range rows {
		if i%3 == 0 {
			// Values next to each other and to escapes, the host and
			// source in the text.
			e.Raw = fmt.Sprintf("%s%s\x01%sh1sshd%s", e.Fields[0].Value, e.Fields[1].Value, e.Fields[2].Value, strings.Repeat("\x01", rng.IntN(3)))
		}
	}
	rows[7].Raw = ""
	p := loadTestPart(t, rows, 128)
	for bi := range p.blocks {
		plain, err := p.loadBlock(bi, []string{event.FieldRaw})
		if err != nil {
			t.Fatal(err)
		}
		want := plain.Column(event.FieldRaw)
		b, err := p.loadBlockWith(bi, []string{event.FieldRaw, "user"}, LoadOptions{RawTemplates: true})
		if err != nil {
			t.Fatal(err)
		}
		tm := b.Raw
		if tm == nil || b.Column(event.FieldRaw) != nil || b.Column("user") == nil {
			t.Fatalf("block %d: Raw %v, columns %d; want templates and user", bi, tm, len(b.Cols))
		}
		var pieces []string
		var refs []int
		var buf, out []byte
		for r := range tm.Rows() {
			if tm.Has(r) != want.Has(r) {
				t.Fatalf("block %d row %d: Has %v, want %v", bi, r, tm.Has(r), want.Has(r))
			}
			if !tm.Has(r) {
				continue
			}
			pieces, refs, buf, err = tm.Split(r, pieces[:0], refs[:0], buf)
			if err != nil || len(pieces) != len(refs)+1 {
				t.Fatalf("block %d row %d: Split: %d pieces, %d refs, %v", bi, r, len(pieces), len(refs), err)
			}
			var sb strings.Builder
			for j, pc := range pieces {
				sb.WriteString(pc)
				if j < len(refs) {
					v, ok, err := tm.Value(refs[j], r)
					if err != nil || !ok {
						t.Fatalf("block %d row %d: Value(%d) = %v, %v", bi, r, refs[j], ok, err)
					}
					sb.WriteString(v)
					may, err := tm.MayContain(refs[j], strings.ToUpper(v))
					if err != nil || !may {
						t.Fatalf("block %d row %d: MayContain(%d, %q) = %v, %v", bi, r, refs[j], v, may, err)
					}
				}
			}
			if got := sb.String(); got != want.Values[r] {
				t.Fatalf("block %d row %d: Split gives %q, want %q", bi, r, got, want.Values[r])
			}
			if out, err = tm.AppendRaw(out[:0], r); err != nil || string(out) != want.Values[r] {
				t.Fatalf("block %d row %d: AppendRaw = %q, %v; want %q", bi, r, out, err, want.Values[r])
			}
		}
		sel := []int{0, 5, 7, tm.Rows() - 1}
		col, err := tm.Column(sel)
		if err != nil {
			t.Fatal(err)
		}
		tm.Release()
		for _, r := range sel {
			if col.Values[r] != want.Values[r] || col.Has(r) != want.Has(r) {
				t.Errorf("block %d row %d: Column = %q, want %q", bi, r, col.Values[r], want.Values[r])
			}
		}
		if col.Values[1] != "" {
			t.Errorf("block %d: Column expanded row 1 (%q), not asked for", bi, col.Values[1])
		}
	}
}

// TestRawTemplatesMayContain checks that MayContain rules out a text
// that no value of a column holds.
func TestRawTemplatesMayContain(t *testing.T) {
	p := loadTestPart(t, loadRows(200), 200)
	b, err := p.loadBlockWith(0, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Raw.Release()
	for k := range b.Raw.Columns() {
		if b.Raw.Name(k) != "user" {
			continue
		}
		if may, err := b.Raw.MayContain(k, "no-such-text"); err != nil || may {
			t.Errorf("MayContain(user, no-such-text) = %v, %v; want false", may, err)
		}
		if may, err := b.Raw.MayContain(k, "USER19"); err != nil || !may {
			t.Errorf("MayContain(user, USER19) = %v, %v; want true", may, err)
		}
	}
}

// TestRawTemplatesBad checks that a damaged template gives an error, not
// a panic.
func TestRawTemplatesBad(t *testing.T) {
	p := loadTestPart(t, loadRows(20), 20)
	b, err := p.loadBlockWith(0, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
	if err != nil {
		t.Fatal(err)
	}
	tm := b.Raw
	if tm.sb == nil {
		t.Fatal("no skeletons in the test block")
	}
	tm.Template(0) // builds the texts
	for _, bad := range []string{"abc\x01", "a\x01\xffb", "\x01\x00"} {
		tm.texts[0] = bad
		tm.built[0] = true // keep bad as built
		if _, _, _, err := tm.Split(0, nil, nil, nil); err == nil {
			t.Errorf("Split(%q): no error", bad)
		}
	}
	// AppendRaw writes from the skeleton: damage that.
	id := tm.sb.ids[0] - 1
	for _, bad := range []string{"abc\x01", "a\x01\xffb", strings.Repeat("\x01\x00", 99), "\x01\x7f"} {
		tm.sb.skels[id] = bad
		tm.sb.plans = tm.sb.plans[:0] // compile it again
		if _, err := tm.AppendRaw(nil, 0); err == nil {
			t.Errorf("AppendRaw(skeleton %q): no error", bad)
		}
	}
}

// FuzzRawTemplatesSplit feeds arbitrary template bytes to Split and
// AppendRaw: no panics, and when both succeed the pieces and values give
// the expanded text.
func FuzzRawTemplatesSplit(f *testing.F) {
	f.Add("Failed password for \x01\x06 from \x01\x07 port 22")
	f.Add("\x01\x02 sshd[\x01\x05]: \x01\x01 x")
	f.Add("abc\x01")
	f.Add("\x01\xff")
	rows := loadRows(8)
	skeletonsOff = true // templates as stored (FuzzRawTemplatesSkeleton has skeletons)
	defer func() { skeletonsOff = false }()
	data := func() *part {
		path := f.TempDir() + "/p.part"
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
		f.Cleanup(func() {
			if err := p.release(); err != nil {
				f.Error(err)
			}
		})
		return p
	}()
	f.Fuzz(func(t *testing.T, tmpl string) {
		b, err := data.loadBlockWith(0, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
		if err != nil {
			t.Fatal(err)
		}
		tm := b.Raw
		defer tm.Release()
		if tm.sb != nil {
			t.Fatal("the block has skeletons")
		}
		tm.texts[0] = tmpl
		pieces, refs, _, serr := tm.Split(0, nil, nil, nil)
		out, aerr := tm.AppendRaw(nil, 0)
		if serr != nil || aerr != nil {
			if aerr == nil {
				t.Fatalf("Split(%q): %v, but AppendRaw = %q", tmpl, serr, out)
			}
			return
		}
		var sb strings.Builder
		for j, pc := range pieces {
			sb.WriteString(pc)
			if j < len(refs) {
				v, _, err := tm.Value(refs[j], 0)
				if err != nil {
					t.Fatal(err)
				}
				sb.WriteString(v)
			}
		}
		if sb.String() != string(out) {
			t.Fatalf("Split(%q) gives %q, AppendRaw %q", tmpl, sb.String(), out)
		}
	})
}

// TestRawTemplatesMayContainKinds checks MayContain on an alias column
// (it asks the column it copies) and an ipv4 column (only digits and dots
// can be in it), never ruling out a value the column holds.
func TestRawTemplatesMayContainKinds(t *testing.T) {
	rows := loadRows(200)
	for _, e := range rows {
		e.Fields = append(e.Fields, event.Field{Name: "user.name", Value: e.Fields[0].Value})
	}
	p := loadTestPart(t, rows, 200)
	b, err := p.loadBlockWith(0, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Raw.Release()
	kinds := map[string]byte{}
	for k := range b.Raw.Columns() {
		name := b.Raw.Name(k)
		if c, ok := p.column(&p.blocks[0], name); ok && c.size > 0 {
			kinds[name] = p.data[c.off]
		}
		cases := map[string]bool{"no-such-text": false}
		switch name {
		case "user.name":
			cases["USER19"] = true
		case "src_ip":
			cases["10.3"] = true
			cases["user"] = false
		default:
			continue
		}
		for text, want := range cases {
			if may, err := b.Raw.MayContain(k, text); err != nil || may != want {
				t.Errorf("MayContain(%s, %q) = %v, %v; want %v", name, text, may, err, want)
			}
		}
	}
	if kinds["user.name"] != kindAlias || kinds["src_ip"] != kindIPv4 {
		t.Fatalf("column kinds %v: want user.name an alias and src_ip ipv4", kinds)
	}
}

// FuzzRawTemplatesSkeleton puts arbitrary bytes in a row's skeleton (as
// read from disk: before the placeholders are counted): no panics, and
// when AppendRaw (written from the skeleton) succeeds, the template path
// (Template, Split, Value) gives the same text.
func FuzzRawTemplatesSkeleton(f *testing.F) {
	f.Add("Failed password for \x01\x06 from \x01\x07 port \x01\x00")
	f.Add("\x01\x02 sshd[\x01\x00]: \x01\x01 x \x01\x00\x01\x00")
	f.Add("abc\x01")
	f.Add("\x01\xff")
	p := loadTestPart(f, loadRows(40), 40)
	f.Fuzz(func(t *testing.T, sk string) {
		b, err := p.loadBlockWith(0, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
		if err != nil {
			t.Fatal(err)
		}
		tm := b.Raw
		defer tm.Release()
		if tm.Skeletons() == 0 {
			t.Fatal("no skeletons in the test block")
		}
		tm.sb.skels[tm.SkeletonOf(0)] = sk
		out, aerr := tm.AppendRaw(nil, 0)
		pieces, refs, _, serr := tm.Split(0, nil, nil, nil)
		if aerr != nil || serr != nil {
			if aerr == nil && tm.Err() == nil {
				t.Fatalf("skeleton %q: Split: %v, but AppendRaw = %q", sk, serr, out)
			}
			return
		}
		var sb strings.Builder
		for j, pc := range pieces {
			sb.WriteString(pc)
			if j < len(refs) {
				v, _, err := tm.Value(refs[j], 0)
				if err != nil {
					t.Fatal(err)
				}
				sb.WriteString(v)
			}
		}
		if sb.String() != string(out) {
			t.Fatalf("skeleton %q: Split gives %q, AppendRaw %q", sk, sb.String(), out)
		}
	})
}
