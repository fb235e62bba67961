package store

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mamori/mamori/internal/event"
)

// naiveColumns is colBuilder.build the plain way: a map lookup per field.
func naiveColumns(rows []*event.Event) map[string][]string {
	out := map[string][]string{}
	set := map[string][]bool{}
	for i, e := range rows {
		for _, f := range e.Fields {
			if isReservedColumn(f.Name) {
				continue
			}
			if out[f.Name] == nil {
				out[f.Name] = make([]string, len(rows))
				set[f.Name] = make([]bool, len(rows))
			}
			if !set[f.Name][i] { // the first of a repeated name wins
				out[f.Name][i], set[f.Name][i] = f.Value, true
			}
		}
	}
	return out
}

// TestColBuilderFieldOrder checks the column builder's field-position
// hints against a plain map build: fields in changing orders, repeated
// names, reserved names, rows without fields, and a builder reused
// across blocks.
func TestColBuilderFieldOrder(t *testing.T) {
	names := []string{"a", "b", "c", "user", "src_ip", event.FieldCategory, event.FieldRaw, "a"}
	rng := rand.New(rand.NewPCG(1, 2))
	cb := colBuilder{reuse: true}
	for block := 0; block < 20; block++ {
		rows := make([]*event.Event, 1+rng.IntN(300))
		for i := range rows {
			e := &event.Event{Raw: fmt.Sprintf("raw %d", i), Category: "cat"}
			n := rng.IntN(len(names) + 1)
			perm := rng.Perm(len(names))
			if block%2 == 0 { // mostly one order, as streams are
				perm = []int{0, 1, 2, 3, 4, 5, 6, 7}
			}
			for _, k := range perm[:n] {
				e.Fields = append(e.Fields, event.Field{Name: names[k], Value: fmt.Sprintf("%s-%d-%d", names[k], i, rng.IntN(3))})
			}
			rows[i] = e
		}
		cb.build(rows)
		got := map[string][]string{}
		for _, c := range cb.cols {
			if isReservedColumn(c.name) {
				if c.name == event.FieldCategory {
					for i := range rows {
						if c.vals[i] != "cat" {
							t.Fatalf("block %d: _category row %d = %q, want cat", block, i, c.vals[i])
						}
					}
				}
				continue
			}
			vals := make([]string, len(rows))
			for i := range rows {
				if c.Has(i) {
					vals[i] = c.vals[i]
				}
			}
			got[c.name] = vals
		}
		if diff := cmp.Diff(naiveColumns(rows), got); diff != "" {
			t.Fatalf("block %d: columns differ from a plain build (-want +got):\n%s", block, diff)
		}
	}
}

func (c *builtCol) Has(i int) bool { return c.absent == nil || !c.absent[i] }
