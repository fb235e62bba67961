package sigma

import (
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// TestFieldGuessMixedShapes checks that the guess tables give every field
// the slot the resolver gives its name, on interleaved event shapes and on
// shapes that share a field count and first name but differ later.
func TestFieldGuessMixedShapes(t *testing.T) {
	e := loadAllEngine(t)
	evs := mixedEvents(t)
	f := func(names ...string) event.Event {
		var ev event.Event
		for _, n := range names {
			ev.Fields = append(ev.Fields, event.Field{Name: n, Value: "x"})
		}
		return ev
	}
	for i := 0; i < 3*shapeGuesses; i++ {
		evs = append(evs,
			f("Channel", "EventID", "Image"), f("Channel", "EventID", "CommandLine"),
			f("Channel", "CommandLine"), f("a", "b", "c", "d"), f("a", "Image"),
			f("EventID", "Channel", "User", strings.Repeat("z", i)))
	}
	st := e.newState()
	fields := 0
	var prev []string // the former guess: the names of the previous event
	prevMisses := 0
	for pass := 0; pass < 2; pass++ {
		for i := range evs {
			ev := &evs[i]
			for j, f := range ev.Fields {
				if j >= len(prev) || prev[j] != f.Name {
					prevMisses++
					if j >= len(prev) {
						prev = append(prev, "")
					}
					prev[j] = f.Name
				}
			}
			fields += len(ev.Fields)
			e.load(st, ev)
			for j := range ev.Fields {
				if got, want := st.fieldSlot[j], e.resolve.slot(ev.Fields[j].Name); got != want {
					t.Fatalf("pass %d event %d field %d (%s): slot %d, want %d", pass, i, j, ev.Fields[j].Name, got, want)
				}
			}
		}
	}
	t.Logf("%d fields: %d not guessed (previous event only: %d)", fields, st.guessMisses, prevMisses)
	if st.guessMisses >= prevMisses {
		t.Errorf("guess tables miss %d fields, the previous event %d", st.guessMisses, prevMisses)
	}
}

// BenchmarkLoadMixed measures load (field names to slots) on the dev and
// scenario events interleaved across sources (SIGMA_SCENARIO), as a mixed
// stream arrives. One op is one event.
func BenchmarkLoadMixed(b *testing.B) {
	e := loadAllEngine(b)
	evs := mixedEvents(b)
	st := e.newState()
	c0 := threadCPU()
	i := 0
	for b.Loop() {
		e.load(st, &evs[i%len(evs)])
		i++
	}
	b.ReportMetric(float64((threadCPU()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
