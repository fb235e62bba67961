package ingest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestDecodeLinesFieldsApart checks that events decoded from one body do
// not share field arrays: appending to one event's fields (as enrichment
// does) must not change another's, with few, many (past the slab window)
// and no fields per line, and with parse errors in between.
func TestDecodeLinesFieldsApart(t *testing.T) {
	var body strings.Builder
	var want []int
	for i := 0; i < 3000; i++ {
		n := i % 50
		switch i % 7 {
		case 3:
			body.WriteString("{not json\n")
			want = append(want, 1)
			continue
		case 5:
			body.WriteString("plain text line\n")
			want = append(want, -1)
			continue
		}
		body.WriteString(`{"_msg":"m"`)
		for j := 0; j < n; j++ {
			fmt.Fprintf(&body, `,"f%d":"v%d_%d"`, j, i, j)
		}
		body.WriteString("}\n")
		want = append(want, n)
	}
	evs, _, err := DecodeLines(strings.NewReader(body.String()), LineOptions{Now: func() int64 { return 1 }})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d", len(evs), len(want))
	}
	before := make([][]event.Field, len(evs))
	for i := range evs {
		before[i] = append([]event.Field(nil), evs[i].Fields...)
		if want[i] >= 0 && len(evs[i].Fields) < want[i] {
			t.Fatalf("event %d: %d fields, want at least %d", i, len(evs[i].Fields), want[i])
		}
	}
	for i := range evs {
		evs[i].Fields = append(evs[i].Fields, event.Field{Name: "added", Value: fmt.Sprint(i)})
	}
	for i := range evs {
		got := evs[i].Fields[:len(evs[i].Fields)-1]
		for j := range before[i] {
			if got[j] != before[i][j] {
				t.Fatalf("event %d field %d = %v after appending to others, want %v", i, j, got[j], before[i][j])
			}
		}
	}
}
