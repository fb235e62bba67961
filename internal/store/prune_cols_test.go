package store

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

// TestLoadPruneKeptOwned checks that the columns pruneColumns keeps
// (decoded from the body it decompressed to look for the texts) own their
// values: many later loads that reuse the pooled scratch buffers, pruned
// and not, leave them equal to a full load's. Constant, dictionary and
// plain columns, with _raw (whose templates refer to them) and without.
func TestLoadPruneKeptOwned(t *testing.T) {
	rows := dictRows(2048)
	for i, e := range rows {
		e.Fields = append(e.Fields, event.Field{Name: "msg", Value: fmt.Sprintf("note %d of user%d %x", i, i%300, i*7919)})
	}
	p := loadTestPart(t, rows, 1024)
	cols := []string{event.FieldRaw, "app", "outcome", "user", "port", "rare", "msg"}
	for _, c := range []struct {
		cols  []string
		texts []string
		want  []string // the pruned columns kept
	}{
		{cols, []string{"SSHD"}, []string{"app"}},
		{cols, []string{"user29"}, []string{"user", "msg"}},
		{cols[1:], []string{"ailu", "note 1"}, []string{"outcome", "msg"}},
		{cols[1:], []string{"only-here"}, []string{"rare"}},
	} {
		for blk := range p.blocks {
			full, err := p.loadBlock(blk, c.cols)
			if err != nil {
				t.Fatal(err)
			}
			b, err := p.loadBlockWith(blk, c.cols, LoadOptions{PruneCols: c.cols[1:], PruneTexts: c.texts})
			if err != nil {
				t.Fatal(err)
			}
			if b.Raw != nil {
				b.Raw.Release()
			}
			for range 4 { // reuse the scratch buffers
				for o := range p.blocks {
					if _, err := p.loadBlockWith(o, cols, LoadOptions{PruneCols: cols[1:], PruneTexts: []string{"x"}}); err != nil {
						t.Fatal(err)
					}
					if _, err := p.loadBlock(o, cols[1:]); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, n := range c.want {
				if blk == 0 && n == "rare" {
					continue // not in the first block
				}
				got := b.Column(n)
				if got == nil {
					t.Fatalf("block %d, texts %q: column %s left out", blk, c.texts, n)
				}
				if d := cmp.Diff(full.Column(n), got); d != "" {
					t.Errorf("block %d, texts %q: column %s differs from a full load:\n%s", blk, c.texts, n, d)
				}
			}
		}
	}
}
