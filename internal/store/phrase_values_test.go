package store

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestDictCodes checks that the codes and dictionary DictCodes gives read
// the same values as Value, row by row, for every dictionary column of a
// block, and that a decoded column (or an alias) is left to Value.
func TestDictCodes(t *testing.T) {
	p := loadTestPart(t, loadRows(300), 300)
	b, err := p.loadBlockWith(0, []string{event.FieldRaw}, LoadOptions{RawTemplates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Raw.Release()
	tm := b.Raw
	seen := 0
	for k := range tm.Columns() {
		dict, codes, ok, err := tm.DictCodes(k, nil)
		if err != nil {
			t.Fatalf("DictCodes(%s): %v", tm.Name(k), err)
		}
		if !ok {
			continue
		}
		seen++
		r := &reader{s: codes}
		for row := range tm.Rows() {
			c := r.uvarint()
			want, wantOK, err := tm.Value(k, row)
			if err != nil || r.err != nil {
				t.Fatalf("%s row %d: %v, %v", tm.Name(k), row, err, r.err)
			}
			got, gotOK := "", c > 0
			if gotOK {
				if c > uint64(len(dict)) {
					t.Fatalf("%s row %d: code %d of %d values", tm.Name(k), row, c, len(dict))
				}
				got = dict[c-1]
			}
			if got != want || gotOK != wantOK {
				t.Fatalf("%s row %d: codes say %q %v, Value %q %v", tm.Name(k), row, got, gotOK, want, wantOK)
			}
		}
		if r.off != len(codes) {
			t.Errorf("%s: %d bytes after the codes", tm.Name(k), len(codes)-r.off)
		}
		// Decoded now (Value): left to Value.
		if _, _, ok, _ := tm.DictCodes(k, nil); ok {
			t.Errorf("%s: DictCodes after the column was decoded: ok", tm.Name(k))
		}
	}
	if seen == 0 {
		t.Fatal("no dictionary column in the test block (the test checks nothing)")
	}
	if _, _, ok, err := tm.DictCodes(-1, nil); ok || err != nil {
		t.Errorf("DictCodes(-1) = %v, %v", ok, err)
	}
}
