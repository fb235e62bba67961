package sigma

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestFlattenEscapedValues checks that unescaped values stay intact while
// the flattener's buffer grows within a line, and across reuse.
func TestFlattenEscapedValues(t *testing.T) {
	var fl jsonFlattener
	for round := 0; round < 3; round++ {
		var b strings.Builder
		var want []string
		b.WriteString("{")
		for i := 0; i < 60; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			v := fmt.Sprintf(`C:\\dir%d\\%s\u00e9\"q\"`, i, strings.Repeat("x", i*37+round))
			fmt.Fprintf(&b, `"f%d":"%s"`, i, v)
			want = append(want, fmt.Sprintf(`C:\dir%d\%sé"q"`, i, strings.Repeat("x", i*37+round)))
		}
		b.WriteString(`,"plain":"no escapes"}`)
		fs, err := fl.flatten(b.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != len(want)+1 {
			t.Fatalf("got %d fields, want %d", len(fs), len(want)+1)
		}
		for i, w := range want {
			if fs[i].Value != w {
				t.Fatalf("round %d: field %s = %q, want %q", round, fs[i].Name, fs[i].Value, w)
			}
		}
		if got := fs[len(fs)-1].Value; got != "no escapes" {
			t.Fatalf("plain = %q", got)
		}
	}
}

// TestFlattenSurrogates checks \u escapes of UTF-16 surrogates: a pair is
// one rune, a lone surrogate U+FFFD with the next escape kept, a broken
// escape after one an error (as encoding/json decodes them).
func TestFlattenSurrogates(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"a":"\ud83d\ude00"}`, "\U0001F600"},
		{`{"a":"\ud800\u0041"}`, "\uFFFDA"},
		{`{"a":"\ud800x"}`, "\uFFFDx"},
		{`{"a":"\udc00\ud83d\ude00"}`, "\uFFFD\U0001F600"},
		{`{"a":"\ud800\u"}`, ""},
		{`{"0":[0,{"0":"\ud800\u"}]}`, ""},
	} {
		var fl jsonFlattener
		fs, err := fl.flatten(c.in, nil)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: no error", c.in)
			}
			continue
		}
		if err != nil || len(fs) != 1 || fs[0].Value != c.want {
			t.Errorf("%s: %v %v, want %q", c.in, fs, err, c.want)
		}
	}
}

// TestScanPlain compares the eight-bytes-at-a-time scan with a byte loop
// on every position of texts holding quotes, backslashes, control and
// non-ASCII bytes.
func TestScanPlain(t *testing.T) {
	slow := func(s string, i int) int {
		for ; i < len(s); i++ {
			if c := s[i]; c == '"' || c == '\\' || c < 0x20 {
				return i
			}
		}
		return i
	}
	texts := []string{"", "abc", `abcdefgh"`, `abcdefghijklmnop\q`, "a\x1fb", "é€😀 plain text here \x00", "\x7f\x80\xff\"", strings.Repeat("x", 40) + `"`}
	for _, s := range texts {
		for i := 0; i <= len(s); i++ {
			if got, want := scanPlain(s, i), slow(s, i); got != want {
				t.Errorf("scanPlain(%q, %d) = %d, want %d", s, i, got, want)
			}
		}
	}
}

// flattenSame checks that flattening line after prev (whose shape the
// flattener then guesses from) gives what a fresh flattener gives.
func flattenSame(t *testing.T, warm *jsonFlattener, prev, line string) {
	t.Helper()
	_, _ = warm.flatten(prev, nil)
	got, gerr := warm.flatten(line, nil)
	var fresh jsonFlattener
	fresh.bind(warm.eng) // the same fields kept, the same values packed
	want, werr := fresh.flatten(line, nil)
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("after %q, %q: error %v, fresh %v", prev, line, gerr, werr)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after %q, %q:\n got %v\nwant %v", prev, line, got, want)
	}
}

// TestFlattenGuessesSameFields flattens lines whose shapes differ from
// the previous line's in every way the member guesses must notice: keys
// renamed, moved up or down a level, escaped, objects turned into values
// and back, members added and removed.
func TestFlattenGuessesSameFields(t *testing.T) {
	lines := []string{
		`{"a":{"b":1},"c":2}`,
		`{"a":{"b":1,"c":2}}`,
		`{"a":{"b":{"c":2}}}`,
		`{"a":{"b":null,"c":[1,{"d":2}]}}`,
		`{"a":1,"b":{"c":2}}`,
		`{"a":{"b":1},"c":{"d":{"e":"x"}}}`,
		`{"a":{"b":1},"c":{"d":{"e\u0041":"x"}}}`,
		`{"a":{"b":1},"c":{"d":{"eA":"x"}}}`,
		`{"a":{"b\\":1},"c":{"d":{"eA":"x"}}}`,
		`{"a":{"b\"":1},"c":{"d":{}}}`,
		`{"a":{},"c":{"d":{"":""}}}`,
		`{"":{"":{"":""}}}`,
		`{"a":{"b":1},"c":2`,
		`{"a":{"b":1},"c" 2}`,
		`{"a" : { "b" : 1 } , "c" : 2 }`,
		`{"ab":{"b":1},"c":2}`,
		`{"a":{"bb":1},"c":2}`,
		`{"a":{"b":1},"c":2,"d":3}`,
		`{"a":{"b":1}}`,
		// White space around the separators (the guesses compare the
		// text before each value as written), keys longer than what is
		// remembered, the same name reached by a dotted key.
		`{"a": {"b": 1}, "c": 2}`,
		`{"a":  {"b":1} , "c" :2}`,
		"{\t\"a\":{\"b\":1},\n\"c\":2 }",
		`{"a":{"b":1},"` + strings.Repeat("k", 130) + `":2}`,
		`{"a":{"b":1},"` + strings.Repeat("k", 130) + `":{"b":2}}`,
		`{"a.b":1,"a":{"b":2}}`,
		`{"a":{"b":1},"a.b":2}`,
	}
	var fl jsonFlattener
	for _, prev := range lines {
		for _, l := range lines {
			flattenSame(t, &fl, prev, l)
		}
	}
	// A shorter or broken line between two of the same shape: the
	// guesses after its last member must not be taken for its own.
	for _, mid := range []string{`{"":1}`, `{"":{`, `{"":{"b"`} {
		flattenSame(t, &fl, `{"a":{"b":1},"c":2}`, mid)
		flattenSame(t, &fl, mid, `{"":{"b":1,"c":2}}`)
	}
	// Real shapes: the dev events and the package's samples, in order.
	data, err := os.ReadFile("testdata/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	real := strings.Split(strings.TrimSpace(string(data)), "\n")
	if dev, err := os.ReadFile(sharedSigma + "/dev/logs.jsonl"); err == nil {
		real = append(real, strings.Split(strings.TrimSpace(string(dev)), "\n")...)
	}
	for i := 1; i < len(real); i++ {
		flattenSame(t, &fl, real[i-1], real[i])
	}
}

// FuzzFlattenGuesses checks the member guesses on pairs of lines.
func FuzzFlattenGuesses(f *testing.F) {
	f.Add(`{"a":{"b":1},"c":2}`, `{"a":{"b":1,"c":2}}`)
	f.Add(`{"a":{"b":{"c":2}}}`, `{"a":{"b\u0041":{"c":2}}}`)
	f.Add(`{"x":"1","y":{"z":[1,2]}}`, `{"x":"1","y":{"z":{"w":null}}}`)
	var fl, bound jsonFlattener
	bound.bind(slotTestEngine(f))
	f.Fuzz(func(t *testing.T, prev, line string) {
		flattenSame(t, &fl, prev, line)
		// A flattener bound to an engine: the same fields, and the slots
		// the resolver gives them.
		flattenSame(t, &bound, prev, line)
		if fs, err := bound.flatten(line, nil); err == nil {
			checkSlots(t, &bound, line, fs)
		}
	})
}

// TestFlattenGuessesBounded feeds lines of ever new shapes: the
// remembered steps stay bounded and the fields right.
func TestFlattenGuessesBounded(t *testing.T) {
	var fl jsonFlattener
	for i := 0; i < maxFlatSteps; i++ {
		line := fmt.Sprintf(`{"k%d":{"x":{"y":%d}},"same":{"z":1}}`, i, i)
		flattenSame(t, &fl, line, line)
		if fl.nsteps > maxFlatSteps+8 {
			t.Fatalf("line %d: %d steps and contexts", i, fl.nsteps)
		}
	}
	// One line of more members than the bound: read right, kept bounded.
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < maxFlatSteps+100; i++ {
		fmt.Fprintf(&b, `"m%d":{"v":%d},`, i, i)
	}
	b.WriteString(`"last":"x"}`)
	flattenSame(t, &fl, b.String(), b.String())
	if fl.nsteps > maxFlatSteps+8 {
		t.Fatalf("long line: %d steps and contexts", fl.nsteps)
	}
	// Full: the next line starts afresh, and its steps are learnt.
	flattenSame(t, &fl, `{"a":"b"}`, `{"a":"b"}`)
	if fl.nsteps == 0 || fl.nsteps > 4 {
		t.Fatalf("after a reset: %d steps and contexts", fl.nsteps)
	}
}

// TestFlatStepAt checks the word-wise compare of a step's text (and run's
// use of it, through flatten) against a plain prefix compare for every
// length around the 8, 16 and 24-byte boundaries.
func TestFlatStepAt(t *testing.T) {
	const text = `,"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ":`
	for n := 1; n <= len(text); n++ {
		var m flatStep
		m.setPre(text[:n], n)
		for _, c := range []struct {
			s    string
			i    int
			want bool
		}{
			{text, 0, true},
			{"xx" + text, 2, true},
			{text[:n], 0, true},
			{text[:n-1], 0, false},
			{"x" + text[1:], 0, false},
			{text[:n-1] + "#" + text[n:], 0, false},
			{text[:n/2] + "#" + text[n/2+1:], 0, false},
		} {
			if got := m.at(c.s, c.i); got != c.want {
				t.Errorf("pre %q: at(%q, %d) = %v, want %v", text[:n], c.s, c.i, got, c.want)
			}
		}
	}
}

// TestWordAt checks the unchecked word load against load64 at every
// offset of a text with every byte value.
func TestWordAt(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 300; i++ {
		b.WriteByte(byte(i * 37))
	}
	s := b.String()
	for i := 0; i+8 <= len(s); i++ {
		if got, want := wordAt(s, i), load64(s, i); got != want {
			t.Fatalf("wordAt(s, %d) = %#x, want %#x", i, got, want)
		}
	}
}

// TestPlainArray checks the fast read of arrays of plain strings against
// skip: the same end where it reads one, and no read of anything else.
func TestPlainArray(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{`["a"]`, true},
		{`["10.0.0.1","fe80::1"],"x":1`, true},
		{`[""]`, true},
		{`[]`, false},
		{`[ "a"]`, false},
		{`["a" ]`, false},
		{`["a\"b"]`, false},
		{`["a",1]`, false},
		{`["a"`, false},
		{`["a",`, false},
		{`["a`, false},
		{`["a"}`, false},
	} {
		end, ok := plainArray(c.in, 0)
		if ok != c.ok {
			t.Errorf("plainArray(%q) ok = %v, want %v", c.in, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		f := jsonFlattener{s: c.in}
		if err := f.skip(1); err != nil || f.pos != end {
			t.Errorf("plainArray(%q) = %d, skip ends at %d (%v)", c.in, end, f.pos, err)
		}
	}
}
