package store

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

// loadTestPart writes rows as blocks of at most blockRows rows of one
// stream and opens the part.
func loadTestPart(t testing.TB, rows []*event.Event, blockRows int) *part {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.part")
	w, err := createPart(path, "main", 0, levelFast)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(rows); off += blockRows {
		if err := w.writeBlock("sshd", "h1", rows[off:min(off+blockRows, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	info, err := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	p, err := openPart(path, info)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.release(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func loadRows(n int) []*event.Event {
	rows := make([]*event.Event, n)
	for i := range rows {
		user := fmt.Sprintf("user%d", i%300) // > 256 values: plain, not dict
		ip := fmt.Sprintf("10.%d.%d.%d", i%7, i%11, i%13)
		e := &event.Event{Time: int64(i) * 1e9, Host: "h1", Source: "sshd",
			Raw: fmt.Sprintf("Accepted password for %s from %s port %d on h1 \x01 req=r%dx", user, ip, 1000+i%50, i),
			Fields: []event.Field{{Name: "user", Value: user}, {Name: "src_ip", Value: ip},
				{Name: "port", Value: strconv.Itoa(1000 + i%50)}, {Name: "req", Value: fmt.Sprintf("r%d", i)}}}
		if i%5 == 0 {
			e.Fields = append(e.Fields, event.Field{Name: "rare", Value: "only-here"})
		}
		rows[i] = e
	}
	return rows
}

// TestLoadColumns checks every way of asking for columns gives the
// written values, and that values stay intact while later loads reuse
// the decoder's scratch buffers.
func TestLoadColumns(t *testing.T) {
	rows := loadRows(3000)
	p := loadTestPart(t, rows, 1024)
	want := func(blk int, name string) []string {
		var out []string
		for _, e := range rows[blk*1024 : min(blk*1024+1024, len(rows))] {
			switch name {
			case event.FieldRaw:
				out = append(out, e.Raw)
			case event.FieldTime:
				out = append(out, string(event.AppendTime(nil, e.Time)))
			default:
				v, _ := e.Get(name)
				out = append(out, v)
			}
		}
		return out
	}
	type kept struct {
		blk  int
		cols []Column
	}
	var keep []kept
	for _, cols := range [][]string{{event.FieldRaw}, {"user", event.FieldRaw}, {event.FieldRaw, "port"},
		{"rare", event.FieldTime}, {event.FieldTime, event.FieldRaw, "src_ip", "req"}} {
		for blk := range p.blocks {
			b, err := p.loadBlock(blk, cols)
			if err != nil {
				t.Fatalf("loadBlock(%d, %v): %v", blk, cols, err)
			}
			keep = append(keep, kept{blk, b.Cols})
		}
	}
	// Checked after all loads: nothing returned may point into reused
	// scratch buffers.
	for _, k := range keep {
		for _, c := range k.cols {
			if diff := cmp.Diff(want(k.blk, c.Name), c.Values); diff != "" {
				t.Errorf("block %d column %s (-want +got):\n%s", k.blk, c.Name, diff)
			}
		}
	}
}

// TestBloomHasFieldTokens checks that skipping field values already in
// the raw text loses no token: every token of every value passes its
// block's filter, and the exact keys of dictionary columns are there.
func TestBloomHasFieldTokens(t *testing.T) {
	rows := loadRows(3000)
	rows[7].Fields = append(rows[7].Fields, event.Field{Name: "sub", Value: "password fo"}) // cut word: not covered
	p := loadTestPart(t, rows, 1024)
	for i, e := range rows {
		f := p.bloom(i / 1024)
		for _, fl := range e.Fields {
			eachTokenHash(fl.Value, func(h uint64) {
				if !bloomHas(f, h) {
					t.Fatalf("row %d: token of %s=%q missing from the block filter", i, fl.Name, fl.Value)
				}
			})
		}
		if !bloomHas(f, exactHash("rare", "only-here")) {
			t.Fatalf("row %d: exact key rare=only-here missing", i)
		}
	}
}
