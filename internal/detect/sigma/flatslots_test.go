package sigma

import (
	"slices"
	"testing"

	"github.com/mamori/mamori/internal/event"
)

// slotTestEngine compiles a rule whose fields are named by the lines of
// the flattener tests (plain, dotted, escaped, through the default
// pipeline's prefixes and renamings), so a bound flattener has slots to
// find.
func slotTestEngine(t testing.TB) *Engine {
	t.Helper()
	rules, err := ParseRule([]byte(`title: slots
id: 00000000-0000-0000-0000-000000000001
logsource: {product: windows}
detection:
  sel:
    a.b: 1
    c: 2
    c.d.eA: x
    Image|endswith: .exe
    CommandLine|contains: whoami
  kw:
    - mimikatz
  condition: sel or kw
`))
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// wantLive is the list of the fields with a slot, as the engine's
// resolver gives it name by name.
func wantLive(e *Engine, fs []event.Field) []liveField {
	var out []liveField
	for i, f := range fs {
		if s := e.resolve.slot(f.Name); s >= 0 {
			out = append(out, liveField{field: int32(i), slot: s})
		}
	}
	return out
}

// checkSlots checks a bound flattener's slots for the fields it returned.
func checkSlots(t testing.TB, fl *jsonFlattener, line string, fs []event.Field) {
	t.Helper()
	if want := wantLive(fl.eng, fs); !slices.Equal(fl.slots.live, want) {
		t.Fatalf("%q: live fields %v, want %v", line, fl.slots.live, want)
	}
	if fl.slots.size < len(line) {
		t.Fatalf("%q: size %d, shorter than the line", line, fl.slots.size)
	}
}

// TestFlattenSlots flattens lines of changing shapes with a flattener
// bound to an engine: the slots it remembers with its guesses are what
// the resolver gives, and binding another engine forgets them.
func TestFlattenSlots(t *testing.T) {
	e := slotTestEngine(t)
	lines := []string{
		`{"a":{"b":1},"c":2}`,
		`{"a":{"b":1,"c":2}}`,
		`{"a.b":1,"a":{"b":2},"c":{"d":{"eA":"x"}}}`,
		`{"a":{"b":1},"c":{"d":{"e\u0041":"x"}}}`,
		`{"Event":{"EventData":{"Image":"C:\\x.exe","CommandLine":"whoami"}}}`,
		`{"winlog":{"event_data":{"Image":"a.exe","Other":"mimikatz"},"channel":"Security"}}`,
		`{"winlog":{"event_data":{"CommandLine":"a","Image":"b"},"channel":"Security"}}`,
		`{"process":{"executable":"c:\\a.exe","command_line":"whoami /all"}}`,
		`{"a" : { "b" : 1 } , "c" : 2 }`,
		`{"x":[1,{"a":2}],"a":{"b":true},"c":null}`,
	}
	var fl jsonFlattener
	fl.bind(e)
	for round := 0; round < 3; round++ {
		for _, l := range lines {
			fs, err := fl.flatten(l, nil)
			if err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			checkSlots(t, &fl, l, fs)
		}
	}
	if len(fl.slots.live) == 0 {
		t.Fatal("no live field in the last line")
	}
	other := loadWindowsEngineOrNil(t)
	if other == nil {
		return
	}
	fl.bind(other)
	for _, l := range lines {
		fs, err := fl.flatten(l, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkSlots(t, &fl, l, fs)
	}
}

// loadWindowsEngineOrNil is a second engine for TestFlattenSlots: one
// with other slots (nil in short mode).
func loadWindowsEngineOrNil(t *testing.T) *Engine {
	if testing.Short() {
		return nil
	}
	rules, err := ParseRule([]byte(`title: other
id: 00000000-0000-0000-0000-000000000002
logsource: {product: windows}
detection:
  sel:
    z: 1
    CommandLine|contains: whoami
  condition: sel
`))
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestMatchSlotsSame matches made-up events through matchSlots (the
// flattener's slots) and Match (the engine's own name lookup): the same
// rules fire, keyword searches included.
func TestMatchSlotsSame(t *testing.T) {
	e := slotTestEngine(t)
	var fl jsonFlattener
	fl.bind(e)
	fired := 0
	for _, l := range []string{
		`{"a":{"b":"1"},"c":"2","c.d.eA":"x"}`,
		`{"winlog":{"channel":"Security","event_data":{"Image":"C:\\a.EXE","CommandLine":"WHOAMI /all"}},"a.b":"1","c":"2","c.d.eA":"X"}`,
		`{"winlog":{"channel":"Security","event_data":{"Note":"run MimiKatz now"}}}`,
		`{"winlog":{"channel":"Security","event_data":{"Note":"run mimi\u006batz now"}}}`,
		`{"winlog":{"channel":"Security","event_data":{"Note":"nothing"}}}`,
	} {
		fs, err := fl.flatten(l, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev := event.Event{Fields: fs}
		var a, b []string
		e.matchSlots(&ev, &fl.slots, func(m Match) { a = append(a, m.Rule.Title) })
		e.Match(&ev, func(m Match) { b = append(b, m.Rule.Title) })
		if !slices.Equal(a, b) {
			t.Errorf("%q: matchSlots %v, Match %v", l, a, b)
		}
		fired += len(a)
		// An unbound flattener's (empty) slots are not taken for e's.
		var plain jsonFlattener
		pfs, err := plain.flatten(l, nil)
		if err != nil {
			t.Fatal(err)
		}
		pev := event.Event{Fields: pfs}
		var c []string
		e.matchSlots(&pev, &plain.slots, func(m Match) { c = append(c, m.Rule.Title) })
		if !slices.Equal(c, b) {
			t.Errorf("%q: matchSlots with an unbound flattener %v, Match %v", l, c, b)
		}
	}
	if fired < 3 {
		t.Errorf("%d matches: the events should fire the rule (selection, keyword, escaped keyword)", fired)
	}
}
