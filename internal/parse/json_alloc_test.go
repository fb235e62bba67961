//go:build !race

package parse

import (
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// Allocation counts (not under the race detector, whose sync.Pool drops
// items at random).

// TestFlattenJSONAllocs checks that a document costs at most one
// allocation for all its values that are not substrings of the source.
func TestFlattenJSONAllocs(t *testing.T) {
	line := []byte(`{"a":"plain","b":"日本","n":12,"arr":[1,2],"esc":"x\ny","esc2":"\u00e9","sp":[1, 2],"o":{"p":"q"}}`)
	src := string(line)
	dst := make([]event.Field, 0, 16)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := flattenJSON(line, src, dst[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("flattenJSON: %.1f allocations per document, want at most 1", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := FlattenJSON(line, dst[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("FlattenJSON: %.1f allocations per document, want at most 1", allocs)
	}
}

func TestDecodeJSONEventAllocs(t *testing.T) {
	// Two allocations at most: the line and the escaped values.
	b := []byte(`{"_time":"2026-01-01T00:00:01.123456789Z","_msg":"C:\\x","host":"h","user":"u\u00e9","n":1}`)
	fs := make([]event.Field, 0, 16)
	allocs := testing.AllocsPerRun(100, func() {
		ev := event.Event{Fields: fs[:0]}
		if err := DecodeJSONEvent(b, &ev, JSONEventOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("DecodeJSONEvent: %.1f allocations, want at most 2", allocs)
	}
}
