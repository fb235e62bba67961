package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// TestRawRefsAdd checks the summary of single skeletons: the bytes next
// to references, the codes, the joined codes and the dirty skeletons.
func TestRawRefsAdd(t *testing.T) {
	const v, esc, host, src, c0, c1 = "\x01\x00", "\x01\x01", "\x01\x02", "\x01\x03", "\x01\x04", "\x01\x05"
	for _, c := range []struct {
		sk          string
		next        string // the bytes beside references
		codes       []byte
		joins       []byte
		dirty, many bool
		chains      map[byte]uint8
	}{
		{sk: v + "." + v + "." + v + "." + v + " " + v + ":" + v, chains: map[byte]uint8{'.': 4, ' ': 2, ':': 2}},
		{sk: v + "." + v + ":" + v + "." + v + "-x" + v + "." + v + "." + v, chains: map[byte]uint8{'.': 3, ':': 2}},
		{sk: v + esc + v + ".." + v + "." + c0 + "." + v, next: ".", codes: []byte{4}, chains: map[byte]uint8{1: 2}},
		{sk: v + "_" + v + "\xc3\xa9" + v},
		{sk: "plain text " + v + " only"},
		{sk: "a=" + c0 + " b", next: "= ", codes: []byte{4}},
		{sk: c0, codes: []byte{4}},
		{sk: c0 + "-" + v, next: "-", codes: []byte{4}},
		{sk: "x" + c0, codes: []byte{4}, joins: []byte{4}, dirty: true},
		{sk: c0 + "x", codes: []byte{4}, joins: []byte{4}, dirty: true},
		{sk: "\xc3\xa9" + c0 + ".", next: ".", codes: []byte{4}, joins: []byte{4}, dirty: true},
		{sk: v + c0 + " ", next: " ", codes: []byte{4}, joins: []byte{4}, dirty: true},
		{sk: " " + c0 + v, next: " ", codes: []byte{4}, joins: []byte{4}, dirty: true},
		{sk: " " + c0 + c1 + " ", next: " ", codes: []byte{4, 5}, joins: []byte{4, 5}, dirty: true},
		{sk: esc + c0 + esc, next: "\x01", codes: []byte{4}},
		{sk: "from " + host + " via " + src + ":" + v, next: " :", codes: []byte{2, 3}},
		{sk: "[" + host + "_", next: "[", codes: []byte{2}, joins: []byte{2}, dirty: true},
		{sk: "cut \x01", many: true},
		{sk: c0 + " " + v + "\x01", next: " ", codes: []byte{4}, many: true},
	} {
		var rr rawRefs
		rr.add(7, c.sk)
		var next, codes, joins byteBits
		for i := 0; i < len(c.next); i++ {
			next.set(c.next[i])
		}
		for _, b := range c.codes {
			codes.set(b)
		}
		for _, b := range c.joins {
			joins.set(b)
		}
		var chains [128]uint8
		for b, m := range c.chains {
			chains[b] = m
		}
		if rr.next != next || rr.codes != codes || rr.joins != joins || (len(rr.dirty) > 0) != (c.dirty && !c.many) || rr.many != c.many || rr.chains != chains {
			t.Errorf("%q: next %x codes %x joins %x dirty %v many %v chains %v", c.sk, rr.next, rr.codes, rr.joins, rr.dirty, rr.many, rr.chains)
		}
		if c.dirty && !c.many && !slices.Equal(rr.dirty, []uint32{7}) {
			t.Errorf("%q: dirty %v, want [7]", c.sk, rr.dirty)
		}
	}
	// More dirty skeletons than refsMaxDirty: many, none listed.
	var rr rawRefs
	for id := range refsMaxDirty + 1 {
		rr.add(id, "x\x01\x04")
	}
	if !rr.many || len(rr.dirty) != 0 {
		t.Errorf("%d dirty skeletons: many %v, %d listed", refsMaxDirty+1, rr.many, len(rr.dirty))
	}
}

// TestRawRefsEncode round-trips random summaries and checks covers.
func TestRawRefsEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		rr := randomRefs(rng)
		b := rr.appendTo([]byte("prefix"))
		var got rawRefs
		if err := got.parse(string(b[6:])); err != nil {
			t.Fatalf("parse %x: %v", b[6:], err)
		}
		if got.next != rr.next || got.codes != rr.codes || got.joins != rr.joins || got.many != rr.many || !slices.Equal(got.dirty, rr.dirty) || got.chains != rr.chains {
			t.Fatalf("round trip: %+v, want %+v", got, rr)
		}
		if !got.covers(&rr) || !rr.covers(&got) {
			t.Fatal("a summary does not cover its copy")
		}
		less := got
		less.dirty = slices.Clone(got.dirty)
		switch {
		case len(less.dirty) > 0 && !less.many:
			less.dirty = less.dirty[1:]
		case less.codes[1] != 0:
			less.codes[1] &= less.codes[1] - 1
			less.joins[1] &= less.codes[1]
		case less.chains['.'] > 2:
			less.chains['.']--
		default:
			continue
		}
		if less.covers(&rr) {
			t.Fatalf("%+v covers %+v", less, rr)
		}
	}
}

// randomRefs returns a valid summary.
func randomRefs(rng *rand.Rand) rawRefs {
	var rr rawRefs
	for range rng.IntN(8) {
		if b := byte(rng.IntN(128)); !token.IsWordByte(b) {
			rr.next.set(b)
		}
	}
	for range rng.IntN(12) {
		c := byte(2 + rng.IntN(254))
		rr.codes.set(c)
		if rng.IntN(3) == 0 {
			rr.joins.set(c)
		}
	}
	for range rng.IntN(4) {
		if b := byte(rng.IntN(128)); !token.IsWordByte(b) {
			rr.chains[b] = uint8(2 + rng.IntN(254))
		}
	}
	if rng.IntN(5) == 0 {
		rr.many = true
		return rr
	}
	id := -1
	for range rng.IntN(refsMaxDirty + 1) {
		id += 1 + rng.IntN(300)
		rr.dirty = append(rr.dirty, uint32(id))
	}
	return rr
}

// TestRawRefsBad parses malformed summaries: each is an error, none a
// panic.
func TestRawRefsBad(t *testing.T) {
	set := func(b ...byte) string { return string(append([]byte{byte(len(b))}, b...)) }
	empty := set()
	sets := "\x00" + empty + empty + empty
	var good rawRefs
	if err := good.parse(sets + "\x00\x00"); err != nil {
		t.Fatalf("an empty summary: %v", err)
	}
	for _, c := range []struct{ name, b string }{
		{"empty", ""},
		{"flags", "\x02" + empty + empty + empty + "\x00\x00"},
		{"set too long", "\x00" + string([]byte{33}) + strings.Repeat("\x00", 33) + empty + empty + "\x00\x00"},
		{"set cut", "\x00\x05\x01"},
		{"no sets", "\x00"},
		{"code 0", "\x00" + empty + set(1) + empty + "\x00\x00"},
		{"code 1", "\x00" + empty + set(2) + empty + "\x00\x00"},
		{"join not a code", "\x00" + empty + set(0x10) + set(0x20) + "\x00\x00"},
		{"word byte beside", "\x00" + set(0, 0, 0, 0, 0, 0, 1) + empty + empty + "\x00\x00"},
		{"no dirty count", sets},
		{"dirty cut", sets + "\x02\x01"},
		{"too many dirty", sets + string([]byte{refsMaxDirty + 1})},
		{"many and dirty", "\x01" + empty + empty + empty + "\x01\x00\x00"},
		{"no chains", sets + "\x00"},
		{"trailing", sets + "\x00\x00\x00"},
		{"dirty varint", sets + "\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"},
		{"chains cut", sets + "\x00\x02.\x03"},
		{"chain of 1", sets + "\x00\x01.\x01"},
		{"chain by a word byte", sets + "\x00\x01a\x03"},
		{"chain by a high byte", sets + "\x00\x01\x90\x03"},
		{"chains out of order", sets + "\x00\x02.\x03-\x02"},
		{"chain twice", sets + "\x00\x02.\x03.\x02"},
	} {
		var rr rawRefs
		if err := rr.parse(c.b); !errors.Is(err, errVarsFilter) {
			t.Errorf("%s: %v, want a bad variables filter", c.name, err)
		}
	}
}

// refsCase is a block of templates for TermsOnlyInValues: rows' templates
// (with column references \x01\x04.. and variables), the columns' values
// by row, host and source.
type refsCase struct {
	tmpls        []string
	vals         [][]string // vals[k][row]
	host, source string
}

// raw returns row i's raw text.
func (c *refsCase) raw(i int) string {
	var b strings.Builder
	t := c.tmpls[i]
	for {
		q := strings.IndexByte(t, tmplEsc)
		if q < 0 || q+1 >= len(t) {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:q])
		switch code := t[q+1]; {
		case code == tmplEsc:
			b.WriteByte(tmplEsc)
		case code == tmplHost:
			b.WriteString(c.host)
		case code == tmplSource:
			b.WriteString(c.source)
		default:
			b.WriteString(c.vals[code-tmplColBase][i])
		}
		t = t[q+2:]
	}
}

// chunk returns the kindSkeleton chunk of the case's templates with its
// variables framed in small groups, a filter item and a refs summary;
// edit, when not nil, changes the filter item, whose summary starts at
// at.
func (c *refsCase) chunk(t testing.TB, edit func(item []byte, at int) []byte) []byte {
	t.Helper()
	rows := make([]*event.Event, len(c.tmpls))
	for i, tm := range c.tmpls {
		rows[i] = &event.Event{Raw: tm}
	}
	ch, vars := skeletonsOf(t, rows, levelFast)
	sb, err := decodeSkeletonHead(ch, len(rows), nil)
	if err != nil {
		t.Fatal(err)
	}
	var rr rawRefs
	rr.summarize(sb.skels)
	sb.release()
	var ed func([]byte) []byte
	if edit != nil {
		n := len(rr.appendTo(nil))
		ed = func(item []byte) []byte { return edit(item, len(item)-n) }
	}
	fv, ok := appendVarsFiltered(nil, []byte(vars), &rr, levelFast, 256, ed)
	if !ok {
		t.Fatal("variables not framed")
	}
	return withVars(ch, fv)
}

// block returns the case as a refsBlock.
func (c *refsCase) block() *refsBlock {
	cols := make([]string, len(c.vals))
	for k := range cols {
		cols[k] = fmt.Sprintf("c%d", k)
	}
	return &refsBlock{rows: len(c.tmpls), cols: cols, host: c.host, source: c.source,
		loadRows: func(names []string, rows []int) (*Block, error) {
			b := &Block{N: len(rows)}
			for _, n := range names {
				k := slices.Index(cols, n)
				if k < 0 {
					return nil, fmt.Errorf("no column %s", n)
				}
				col := Column{Name: n, Values: make([]string, len(rows))}
				for j, r := range rows {
					col.Values[j] = c.vals[k][r]
				}
				b.Cols = append(b.Cols, col)
			}
			return b, nil
		}}
}

const needleHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// refsShapes are templates of clean and dirty references, with %s for
// a variable.
var refsShapes = []string{
	"file sha256=\x01\x04 size=%s at %s:%s:%s.%s",
	"user \x01\x05 from \x01\x02 port %s",
	"src \x01\x03:%s msg=\"\x01\x06\"",
	"esc \x01\x01\x01\x07 end %s",
	"token %s done",
	"obj_\x01\x04.bin",
	"guid={%s\x01\x05%s}",
	"pair \x01\x04\x01\x05 %s",
	"key=ab12-\x01\x06 %s",
	"\xc3\xa9\x01\x07 %s",
	"ip %s.%s.%s.%s",
}

// refsValues are the columns' values: the needle, upper case, addresses,
// words, pieces of the needle, a short and an empty value (never
// referenced by the store's writer, which keeps values of 3+ bytes).
var refsValues = []string{needleHash, strings.ToUpper(needleHash), "alice", "bob7", "203.0.113.77", "113.77", "cd34", "\xc3\xa91",
	"0f00a08", needleHash[10:30], "9f86", "d081884c", "x", ""}

// refsVars are variables for the shapes: short ones, then pieces of the
// needle, then the needle.
var refsVars = []string{"12", "2026", "a1", "203", "0", "113", "77", "00a08", "9f86d0818", needleHash[:10], needleHash[30:],
	needleHash, strings.ToUpper(needleHash)}

// randomRefsCase returns a block of n rows from shapes (indexes into
// refsShapes) with random variables and values (of the first nvars of
// refsVars and nvals of refsValues).
func randomRefsCase(rng *rand.Rand, n int, shapes []int, nvars, nvals int) *refsCase {
	c := &refsCase{host: "app-9f86.corp", source: "auth", vals: make([][]string, 4)}
	if rng.IntN(2) == 0 {
		c.host = "web-1.corp"
	}
	for k := range c.vals {
		c.vals[k] = make([]string, n)
		for i := range n {
			c.vals[k][i] = refsValues[rng.IntN(nvals)]
		}
	}
	for range n {
		sh := refsShapes[shapes[rng.IntN(len(shapes))]]
		args := make([]any, strings.Count(sh, "%s"))
		for j := range args {
			args[j] = refsVars[rng.IntN(nvars)]
		}
		c.tmpls = append(c.tmpls, fmt.Sprintf(sh, args...))
	}
	return c
}

// refsTerms returns terms to search in case c: the needle and its
// pieces, values, and random pieces of the raw texts.
func refsTerms(rng *rand.Rand, c *refsCase) []string {
	terms := []string{needleHash, strings.ToUpper(needleHash), needleHash[10:30], needleHash[:30], needleHash[5:],
		"9f86", "9f86d081884c", "203.0.113.77", "ab12-cd34", "bob7", "alice", "corp", "0f00a08", "9F86D0818"}
	terms = append(terms, refsValues...)
	for range 5 {
		terms = append(terms, fmt.Sprintf("%016x", rng.Uint64()))
	}
	for range 20 {
		raw := c.raw(rng.IntN(len(c.tmpls)))
		if raw == "" {
			continue
		}
		a := rng.IntN(len(raw))
		terms = append(terms, raw[a:min(len(raw), a+1+rng.IntN(70))])
	}
	return terms
}

// checkRefsSound checks TermsOnlyInValues on case c for each term alone
// and for pairs, with the columns in cols covered: when it says yes,
// every row whose raw text matches a term has a covered value that
// does. It returns how many answers were yes, and how many of those on
// a block with dirty skeletons.
func checkRefsSound(t *testing.T, c *refsCase, ch []byte, terms []string, cols []string) (yes, dirty int) {
	t.Helper()
	b := c.block()
	var ns needleScratch
	try := func(ts []string) {
		ok, err := ns.termsOnlyInValues(ch, b, ts, cols)
		if err != nil {
			t.Fatalf("terms %q: %v", ts, err)
		}
		if !ok {
			return
		}
		yes++
		if len(ns.f.refs.dirty) > 0 {
			dirty++
		}
		for i := range c.tmpls {
			raw := c.raw(i)
			for _, term := range ts {
				if !token.Match(raw, term) {
					continue
				}
				found := false
				for k, col := range b.cols {
					found = found || slices.Contains(cols, col) && token.Match(c.vals[k][i], term)
				}
				if !found {
					t.Fatalf("terms %q said only in values, but row %d's raw text %q holds %q outside the covered values %v", ts, i, raw, term, cols)
				}
			}
		}
	}
	for i, term := range terms {
		try([]string{term})
		try([]string{term, terms[(i+1)%len(terms)]})
	}
	return yes, dirty
}

// TestTermsOnlyInValuesSame checks TermsOnlyInValues against the raw
// texts on fresh blocks of clean and dirty references: values next to
// word bytes, variables and each other, needles crossing a value's
// edge, in variables, in upper case, in the stream's host.
func TestTermsOnlyInValuesSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	all := make([]int, len(refsShapes))
	for i := range all {
		all[i] = i
	}
	yes, dirty := 0, 0
	for round := range 60 {
		shapes := all
		switch round % 3 {
		case 0:
			shapes = []int{0, 1, 2, 3} // clean only
		case 1:
			shapes = []int{0, 1, 2, 3, 5 + rng.IntN(len(refsShapes)-5)} // clean and one dirty kind
		}
		nvars := []int{9, 9, 9, len(refsVars) - 2, len(refsVars)}[round%5]
		nvals := len(refsValues) - 2
		if round%7 == 6 {
			nvals = len(refsValues)
		}
		c := randomRefsCase(rng, 600, shapes, nvars, nvals)
		ch := c.chunk(t, nil)
		cols := []string{"c0", "c1", "c2", "c3"}
		if round%4 == 3 {
			cols = cols[:3] // c3 not covered
		}
		y, d := checkRefsSound(t, c, ch, refsTerms(rng, c), cols)
		yes, dirty = yes+y, dirty+d
	}
	t.Logf("%d yes answers, %d on blocks with dirty skeletons", yes, dirty)
	if yes < 200 || dirty < 20 {
		t.Errorf("only %d yes answers, %d with dirty skeletons: the test checks little", yes, dirty)
	}
	// A clean block: the needle is only in values.
	c := randomRefsCase(rng, 600, []int{0, 1, 2, 3}, 9, len(refsValues))
	var ns needleScratch
	if ok, err := ns.termsOnlyInValues(c.chunk(t, nil), c.block(), []string{needleHash}, []string{"c0", "c1", "c2", "c3"}); !ok || err != nil {
		t.Errorf("clean block: %v, %v; want yes", ok, err)
	}
	// A needle split by a reference inside a word: found in no value.
	c = &refsCase{host: "h", source: "s", vals: [][]string{make([]string, 400)}}
	for i := range 400 {
		c.tmpls = append(c.tmpls, fmt.Sprintf("n %d x=\x01\x04", i%150))
		c.vals[0][i] = "v" + fmt.Sprint(i%7)
	}
	c.tmpls[5] = needleHash[:20] + "\x01\x04" + needleHash[40:]
	c.vals[0][5] = needleHash[20:40]
	ch := c.chunk(t, nil)
	if ok, err := ns.termsOnlyInValues(ch, c.block(), []string{needleHash}, []string{"c0"}); ok || err != nil {
		t.Errorf("needle across a value's edges: %v, %v; want no", ok, err)
	}
	if ok, err := ns.termsOnlyInValues(ch, c.block(), []string{"ffff0000ffff0000ffff"}, []string{"c0"}); !ok || err != nil {
		t.Errorf("other term on that block: %v, %v; want yes", ok, err)
	}
}

// TestTermsOnlyInValuesOld: blocks whose filter has no summary, and
// variables without a filter, answer no.
func TestTermsOnlyInValuesOld(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	c := randomRefsCase(rng, 600, []int{0, 1}, 9, len(refsValues))
	rows := make([]*event.Event, len(c.tmpls))
	for i, tm := range c.tmpls {
		rows[i] = &event.Event{Raw: tm}
	}
	var ns needleScratch
	for name, ch := range map[string][]byte{
		"no summary": smallFilteredChunk(t, rows, 256, nil),
		"not framed": func() []byte { ch, _ := skeletonsOf(t, rows, levelFast); return ch }(),
	} {
		if ok, err := ns.termsOnlyInValues(ch, c.block(), []string{needleHash}, []string{"c0", "c1", "c2", "c3"}); ok || err != nil {
			t.Errorf("%s: %v, %v; want no", name, ok, err)
		}
	}
}

// TestRawRefsVerify damages the summary of a block: a malformed one is
// an error of every reader, and one that lacks what the skeletons hold
// (a search would skip a row) is reported by verify.
func TestRawRefsVerify(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	c := randomRefsCase(rng, 600, []int{0, 1, 5, 6}, 9, len(refsValues))
	rows := len(c.tmpls)
	good := c.chunk(t, nil)
	if err := checkVarsFilter(good, rows, nil); err != nil {
		t.Fatalf("good block: %v", err)
	}
	// resummed returns item with its summary (at at) changed by f.
	resummed := func(item []byte, at int, f func(rr *rawRefs)) []byte {
		var rr rawRefs
		if err := rr.parse(string(item[at:])); err != nil {
			t.Fatal(err)
		}
		f(&rr)
		return rr.appendTo(item[:at])
	}
	edits := []struct {
		name  string
		edit  func(b []byte, at int) []byte
		parse bool // the damage is seen only by verify
	}{
		{"flags", func(b []byte, at int) []byte { b[at] = 2; return b }, false},
		{"trailing", func(b []byte, at int) []byte { return append(b, 0) }, false},
		{"cut", func(b []byte, at int) []byte { return b[:len(b)-1] }, false},
		{"no summary flag", func(b []byte, at int) []byte { b[1] &^= filterRefsFlag; return b }, false},
		{"no next bytes", func(b []byte, at int) []byte {
			return resummed(b, at, func(rr *rawRefs) { rr.next = byteBits{} })
		}, true},
		{"no dirty skeletons", func(b []byte, at int) []byte {
			return resummed(b, at, func(rr *rawRefs) { rr.dirty = nil })
		}, true},
		{"a code less", func(b []byte, at int) []byte {
			return resummed(b, at, func(rr *rawRefs) { rr.codes[0] &^= 1 << 5; rr.joins[0] &^= 1 << 5 })
		}, true},
		{"a join less", func(b []byte, at int) []byte {
			return resummed(b, at, func(rr *rawRefs) { rr.joins = byteBits{} })
		}, true},
		{"a chain less", func(b []byte, at int) []byte {
			return resummed(b, at, func(rr *rawRefs) { rr.chains[':']-- })
		}, true},
		{"dirty skeleton out of range", func(b []byte, at int) []byte {
			return resummed(b, at, func(rr *rawRefs) { rr.dirty = append(rr.dirty, 100000) })
		}, true},
	}
	for _, e := range edits {
		ch := c.chunk(t, e.edit)
		err := checkVarsFilter(ch, rows, nil)
		if !errors.Is(err, errVarsFilter) {
			t.Errorf("%s: verify says %v", e.name, err)
		}
		var ns needleScratch
		_, err = ns.termsOnlyInValues(ch, c.block(), []string{needleHash}, []string{"c0", "c1", "c2", "c3"})
		if e.parse && err != nil || !e.parse && !errors.Is(err, errVarsFilter) {
			t.Errorf("%s: TermsOnlyInValues says %v", e.name, err)
		}
		sb, err := decodeSkeletonHead(ch, rows, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = sb.loadVars()
		sb.release()
		if e.parse && err != nil || !e.parse && !errors.Is(err, errVarsFilter) {
			t.Errorf("%s: whole load says %v", e.name, err)
		}
	}
}

// FuzzRefsSummary puts arbitrary bytes in the refs summary of a block:
// no panic; a summary that parses encodes back to itself; and when
// verify accepts the block, TermsOnlyInValues is sound.
func FuzzRefsSummary(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	c := randomRefsCase(rng, 300, []int{0, 1, 2, 5, 6, 7}, 11, len(refsValues))
	for range 4 {
		rr := randomRefs(rng)
		f.Add(rr.appendTo(nil))
	}
	var rr rawRefs
	f.Add(rr.appendTo(nil))
	base := c.chunk(f, nil)
	sb, err := decodeSkeletonHead(base, len(c.tmpls), nil)
	if err != nil {
		f.Fatal(err)
	}
	rr.summarize(sb.skels)
	sb.release()
	f.Add(rr.appendTo(nil))
	terms := refsTerms(rng, c)
	f.Fuzz(func(t *testing.T, b []byte) {
		var p rawRefs
		if err := p.parse(string(b)); err == nil {
			if got := p.appendTo(nil); string(got) != string(b) && !trimmedEqual(t, got, b) {
				t.Fatalf("%x parses, encodes to %x", b, got)
			}
		}
		ch := c.chunk(t, func(item []byte, at int) []byte { return append(item[:at], b...) })
		if checkVarsFilter(ch, len(c.tmpls), nil) != nil {
			var ns needleScratch
			_, _ = ns.termsOnlyInValues(ch, c.block(), terms, []string{"c0", "c1", "c2", "c3"})
			return
		}
		checkRefsSound(t, c, ch, terms[:20], []string{"c0", "c1", "c2", "c3"})
	})
}

// trimmedEqual reports whether summaries a and b parse the same (sets
// may be written with trailing zero bytes).
func trimmedEqual(t *testing.T, a, b []byte) bool {
	var x, y rawRefs
	return x.parse(string(a)) == nil && y.parse(string(b)) == nil && x.next == y.next && x.codes == y.codes &&
		x.joins == y.joins && x.many == y.many && slices.Equal(x.dirty, y.dirty)
}

// BenchmarkRefsSummary summarizes 1,446 skeletons of about 250 bytes
// (20 placeholders and 5 references each), a block of the 10M bench
// store's needle blocks.
func BenchmarkRefsSummary(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	words := []string{"EventID=", " Process Create: UtcTime=", "-", ":", ".", " ProcessGuid={", "} ", "Image=", "C:\\Windows\\", " user ", "\"", "[", "]"}
	skels := make([]string, 1446)
	size := 0
	for i := range skels {
		var sb strings.Builder
		for j := 0; sb.Len() < 250; j++ {
			sb.WriteString(words[rng.IntN(len(words))])
			if j%5 == 4 {
				sb.WriteString("\x01" + string(rune(4+rng.IntN(30))))
			} else {
				sb.WriteString("\x01\x00")
			}
		}
		skels[i] = sb.String()
		size += sb.Len()
	}
	var rr rawRefs
	b.SetBytes(int64(size))
	for b.Loop() {
		rr.summarize(skels)
	}
}
