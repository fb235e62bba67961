package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/token"
)

// coverRows makes rows whose fields are in their raw text at word
// boundaries or not: normalizer additions the text lacks, short values,
// values found first inside a word, case that differs, aliases, IPs and
// ints, and values with spaces.
func coverRows(n int, seed uint64) []*event.Event {
	rng := rand.New(rand.NewPCG(seed, 3))
	rows := make([]*event.Event, n)
	for i := range rows {
		user := fmt.Sprintf("user%d", rng.IntN(40))
		ip := fmt.Sprintf("10.%d.%d.%d", rng.IntN(4), rng.IntN(9), rng.IntN(200))
		port := strconv.Itoa(1000 + rng.IntN(60000))
		raw := fmt.Sprintf("Failed password for %s from %s port %s ssh2 rootkit", user, ip, port)
		e := &event.Event{Time: int64(i) * 1e9, Host: "h1", Source: "sshd", Raw: raw, Received: int64(i) + 7,
			Fields: []event.Field{{Name: "user", Value: user}, {Name: "src_ip", Value: ip}, {Name: "port", Value: port},
				{Name: "app", Value: "sshd"}, {Name: "user.name", Value: user}, {Name: "pid", Value: "22"}}}
		switch i % 7 {
		case 0:
			e.Fields = append(e.Fields, event.Field{Name: "outcome", Value: "failure"}) // not in the text
		case 1:
			e.Fields = append(e.Fields, event.Field{Name: "outcome", Value: "root"}) // only inside "rootkit"
		case 2:
			e.Fields = append(e.Fields, event.Field{Name: "outcome", Value: "FAILED"}) // other case
		case 3:
			e.Fields = append(e.Fields, event.Field{Name: "outcome", Value: "password for"}) // with a space
		}
		if i%11 == 0 {
			e.Fields = append(e.Fields, event.Field{Name: "msg", Value: "for " + user + " from"}) // covered, with spaces
		}
		if i == n-1 {
			e.Fields = append(e.Fields, event.Field{Name: "late", Value: "only in the field"})
		}
		rows[i] = e
	}
	return rows
}

// checkCoverage checks a block's coverage keys against its rows: a
// column reported fully covered has every present value in its row's raw
// text at word boundaries, and every byte other than a word byte of a
// value is reported as held.
func checkCoverage(t *testing.T, p *part, bi int, rows []*event.Event) {
	t.Helper()
	bl := p.bloom(bi)
	if !p.hasCoverage(bl) {
		t.Fatalf("block %d: no coverage keys", bi)
	}
	ref := &partRef{p: p, i: bi}
	names := ref.Columns()
	covered := ref.CoveredColumns(nil, names)
	for _, name := range names {
		full := true
		for _, e := range rows {
			v, ok := e.Get(name)
			if !ok || event.IsMeta(name) {
				continue
			}
			if v != "" && !coveredAnywhere(e.Raw, v) {
				full = false
			}
			for j := 0; j < len(v); j++ {
				if b := v[j]; !token.IsWordByte(b) && !bloomHas(bl, byteHash(name, b)) {
					t.Errorf("block %d column %s: byte %q of %q not in the filter", bi, name, b, v)
				}
				if lacksText(bl, name, v) {
					t.Errorf("block %d column %s: lacksText(%q) on its own value", bi, name, v)
				}
			}
		}
		if !full && fullyCovered(bl, name) {
			t.Errorf("block %d column %s: fully covered, but a value is not in its raw text", bi, name)
		}
		if fullyCovered(bl, name) != containsName(covered, name) {
			t.Errorf("block %d column %s: CoveredColumns and fullyCovered disagree", bi, name)
		}
		if event.IsMeta(name) && containsName(covered, name) {
			t.Errorf("block %d: metadata column %s reported covered", bi, name)
		}
	}
}

func containsName(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

func TestCoverageKeys(t *testing.T) {
	rows := coverRows(3000, 1)
	p := loadTestPart(t, rows, 1000)
	for bi := range p.blocks {
		checkCoverage(t, p, bi, rows[bi*1000:min((bi+1)*1000, len(rows))])
	}
	// What the rows make: user, src_ip, port, msg and the alias
	// user.name are covered; app, outcome (values not in the text) and pid
	// ("22", but not in the text) are not.
	bl := p.bloom(0)
	for _, c := range []struct {
		name string
		want bool
	}{{"user", true}, {"src_ip", true}, {"port", true}, {"app", false}, {"user.name", true}, {"msg", true},
		{"outcome", false}, {"pid", false}, {"_received", false}, {"_category", false}} {
		if got := fullyCovered(bl, c.name); got != c.want {
			t.Errorf("fullyCovered(%s) = %v, want %v", c.name, got, c.want)
		}
	}
	if !lacksText(bl, "user", "password for") || lacksText(bl, "outcome", "password for") || lacksText(bl, "msg", "for user1") {
		t.Error("lacksText: want a space only in outcome's and msg's values")
	}
}

// TestCoverageShortAndRepeated: values too short to reference (found by
// addCoverageKeys itself) and values whose first occurrence is inside a
// word but a later one is not.
func TestCoverageShortAndRepeated(t *testing.T) {
	var rows []*event.Event
	for i := range 50 {
		rows = append(rows, &event.Event{Time: int64(i), Raw: "xab ab rootroot root end",
			Fields: []event.Field{{Name: "short", Value: "ab"}, {Name: "rep", Value: "root"}, {Name: "empty", Value: ""}}})
	}
	p := loadTestPart(t, rows, 50)
	bl := p.bloom(0)
	for _, n := range []string{"short", "rep", "empty"} {
		if !fullyCovered(bl, n) {
			t.Errorf("%s: want fully covered", n)
		}
	}
	checkCoverage(t, p, 0, rows)
}

// TestCoverageOldBlocks: blocks written without coverage keys (a filter
// of tokens only, part version 4) are never read as having them.
func TestCoverageOldBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	p := &part{version: partVersion}
	for n := range 2000 {
		var bb bloomBuilder
		for range n%300 + 1 {
			bb.addText(strconv.FormatUint(rng.Uint64(), 36))
		}
		f := bb.finish(nil)
		if p.hasCoverage(f) {
			t.Fatalf("filter %d of tokens only has the coverage markers", n)
		}
	}
	var bb bloomBuilder
	for _, h := range coverMarks {
		bb.addHash(h)
	}
	f := bb.finish(nil)
	if !p.hasCoverage(f) {
		t.Fatal("markers not found")
	}
	if (&part{version: 4}).hasCoverage(f) {
		t.Fatal("part version 4 read as having coverage keys")
	}
}

// TestCoverageMerge: merged parts (blocks copied with their filters, and
// blocks written again) keep coverage keys that hold for their rows.
func TestCoverageMerge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.MergeMinParts, opts.MergeMaxParts = 2, 8
	s := openTest(t, opts)
	rows := coverRows(1200, 2)
	evs := make([]event.Event, len(rows))
	for i, r := range rows {
		evs[i] = *r
		evs[i].Fields = append(evs[i].Fields, event.Field{Name: "id", Value: "id" + strconv.Itoa(i)})
		evs[i].Raw += " id" + strconv.Itoa(i)
	}
	for f := range 4 {
		if err := s.Append(ctx, evs[f*300:(f+1)*300]); err != nil {
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
	defer sn.Release()
	refs, _, err := sn.Blocks(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		pr, ok := r.(*partRef)
		if !ok {
			continue
		}
		b, err := r.Load([]string{"id"})
		if err != nil {
			t.Fatal(err)
		}
		var brows []*event.Event
		id := b.Column("id")
		for i := range b.Rows() {
			n, _ := strconv.Atoi(strings.TrimPrefix(id.Values[i], "id"))
			e := evs[n]
			brows = append(brows, &e)
		}
		checkCoverage(t, pr.p, pr.i, brows)
	}
	verifyOK(t, dir)
}

// BenchmarkAddCoverageKeys measures the writer's cost of the coverage
// keys of one block of 8,192 rows (per row).
func BenchmarkAddCoverageKeys(b *testing.B) {
	rows := coverRows(8192, 9)
	var cb colBuilder
	cb.build(rows)
	var tp templater
	tp.build(rows, &cb)
	var bb bloomBuilder
	b.ResetTimer()
	for range b.N {
		bb.reset()
		addCoverageKeys(&bb, &cb, nil, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
}
