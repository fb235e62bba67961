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
	// The fields are a fresh unbound flattener's, less the packed ones
	// (no slot, not a time field, packMin bytes or more), then one of
	// their values (each followed by a zero byte) when there are any.
	var plain jsonFlattener
	all, err := plain.flatten(line, nil)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	var kept []event.Field
	var dead []byte
	for _, f := range all {
		_, timed := timeRank[f.Name]
		if fl.pack && fl.eng.resolve.slot(f.Name) < 0 && !timed && len(f.Value) >= packMin {
			dead = append(append(dead, f.Value...), 0)
			continue
		}
		kept = append(kept, f)
	}
	if len(dead) > 0 {
		kept = append(kept, event.Field{Name: packedName, Value: string(dead)})
	}
	if !slices.Equal(fs, kept) {
		t.Fatalf("%q: fields %q, want %q", line, fs, kept)
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
		// Packed values: a keyword across two of them is in neither.
		`{"winlog":{"channel":"Security","event_data":{"A":"aaaaaaaamimi","B":"katzbbbbbbbb"}}}`,
		`{"winlog":{"channel":"Security","event_data":{"A":"aaaaaaaamimikatz","B":"short"}}}`,
	} {
		// Match reads every field: an unbound flattener's (a bound one
		// packs the values no rule reads, see flat_pack.go).
		var plain jsonFlattener
		pfs, err := plain.flatten(l, nil)
		if err != nil {
			t.Fatal(err)
		}
		pev := event.Event{Fields: pfs}
		var b []string
		e.Match(&pev, func(m Match) { b = append(b, m.Rule.Title) })
		fs, err := fl.flatten(l, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev := event.Event{Fields: fs}
		var a []string
		e.matchSlots(&ev, &fl.slots, func(m Match) { a = append(a, m.Rule.Title) })
		if !slices.Equal(a, b) {
			t.Errorf("%q: matchSlots %v, Match %v", l, a, b)
		}
		if fl.pack != packSafe(e) || fl.pack && len(fs) > len(pfs) {
			t.Errorf("%q: pack %v, %d fields of %d", l, fl.pack, len(fs), len(pfs))
		}
		fired += len(a)
		// An unbound flattener's (empty) slots are not taken for e's.
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

// TestPackSafe checks which engines pack (flat_pack.go): SigmaHQ's
// Windows rules do (their keyword searches are all "contains"); a keyword
// search of another kind, or a literal with a zero byte, does not.
func TestPackSafe(t *testing.T) {
	compile := func(kw string) *Engine {
		rules, err := ParseRule([]byte("title: kw\nid: 00000000-0000-0000-0000-000000000003\nlogsource: {product: windows}\ndetection:\n  kw:\n    " + kw + "\n  condition: kw\n"))
		if err != nil {
			t.Fatal(err)
		}
		e, _, err := Compile(rules, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, c := range []struct {
		kw   string
		want bool
	}{
		{`- mimikatz`, true},
		{`- '*mimi*katz*'`, false},
		{`- "a\0b"`, false},
		{`'|re': 'mimi.atz'`, false},
	} {
		if got := packSafe(compile(c.kw)); got != c.want {
			t.Errorf("%s: packSafe %v, want %v", c.kw, got, c.want)
		}
	}
	if !testing.Short() {
		if e := loadWindowsEngine(t); !packSafe(e) {
			t.Error("SigmaHQ's Windows rules: not packed")
		}
	}
}
