package sigma

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/event"
)

// kwFoldEngine compiles one rule of keyword needles (ASCII, with a
// backslash and a space; the longest is cut to 16 bytes), with or without
// the prefilter.
func kwFoldEngine(t *testing.T, opts Options) *Engine {
	return compileOne(t, "  kw:\n    - 'mimikatz'\n    - 'abcd'\n    - 'cd ef'\n    - 'sekurlsa::logonpasswords'\n    - 'kiwi legit print'\n    - 'x:\\y'\n  condition: kw\n", opts)
}

// rawEvent makes an event whose Raw is line and whose fields are the
// line's space-separated words (parts of Raw, as a parser's values are).
// A line with '|' is cut there instead, and the bars are left out of Raw:
// "ab|cd" is Raw "abcd" with the fields "ab" and "cd".
func rawEvent(line string) *event.Event {
	sep := " "
	if strings.Contains(line, "|") {
		sep = "|"
	}
	parts := strings.Split(line, sep)
	raw := line
	if sep == "|" {
		raw = strings.Join(parts, "")
	}
	ev := &event.Event{Raw: raw}
	at := 0
	for i, p := range parts {
		ev.Fields = append(ev.Fields, event.Field{Name: string(rune('a' + i%26)), Value: raw[at : at+len(p)]})
		at += len(p)
		if sep == " " && at < len(raw) {
			at++
		}
	}
	return ev
}

// TestRawFoldKeywords checks keyword searches over non-ASCII raw texts,
// which the prefilter scans folded (rawFoldOK) unless they hold a rune
// that lower-cases to ASCII.
func TestRawFoldKeywords(t *testing.T) {
	fast, slow := kwFoldEngine(t, Options{}), kwFoldEngine(t, Options{NoPrefilter: true})
	tests := []struct {
		line string
		want bool
	}{
		{`{"a":"é","b":"MIMIKATZ"}`, true},
		{`{"a":"é","b":"mimİkatz"}`, true},              // U+0130 lower-cases to i
		{"{\"a\":\"é\",\"b\":\"abc\u212a\"}", false},    // Kelvin sign: "abck"
		{"{\"a\":\"é\",\"b\":\"mimi\u212aatz\"}", true}, // "mimikatz"
		{`{"a":"é","b":"zz"}`, false},                   // no needle
		{"{\"a\":\"\xff\",\"b\":\"abcd\"}", true},       // invalid byte beside a needle
		{"ab\xffcd x", false},                           // U+FFFD breaks "abcd"
		{"ÄBCD|x:\\Y", true},                            // "x:\y" across values
		{"Ä mimi|KATZ", true},                           // a needle across two values of raw
		{"Ä sekurlsa::logonPASSWORDS kiwi legit print", true},
		{"é\u0130\u212a cd\u00a0ef", false},
		{"\xc3|\xa9mimikatz", true},  // a value starting inside a rune
		{"mimi\xc3|\xa9katz", false}, // a value ending inside one
	}
	for _, tt := range tests {
		ev := rawEvent(tt.line)
		got, want := matches(fast, ev), matches(slow, rawEvent(tt.line))
		if got != want || want != tt.want {
			t.Errorf("%q: matched %v, reference %v, want %v", tt.line, got, want, tt.want)
		}
	}
}

func TestInText(t *testing.T) {
	text := "abc\u00e9def"
	tests := []struct {
		v    string
		want bool
	}{
		{text[0:2], true},
		{text[3:4], true}, // inside é: enough for a folded scan
		{text[5:], true},
		{text, true},
		{strings.Clone(text[0:2]), false},
		{text + "x", false},
	}
	for i, tt := range tests {
		if got := inText(text, tt.v); got != tt.want {
			t.Errorf("%d (%q): inText = %v, want %v", i, tt.v, got, tt.want)
		}
	}
}

// TestLowerToASCII checks rawFoldOK's premise: the only non-ASCII runes
// that lower-case to ASCII are U+0130 and U+212A.
func TestLowerToASCII(t *testing.T) {
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if l := unicode.ToLower(r); l < utf8.RuneSelf && r != 0x130 && r != 0x212a {
			t.Errorf("U+%04X lower-cases to %q", r, l)
		}
	}
	if got := string(appendLower(nil, "\u0130\u212a")); got != "ik" {
		t.Errorf("appendLower = %q, want ik", got)
	}
}

func FuzzRawFold(f *testing.F) {
	f.Add("{\"a\":\"é\",\"b\":\"mimİkatz\"}")
	f.Add("Ä mimi|KATZ")
	f.Add("ab\xffcd ef x:\\y \u212a")
	var fast, slow *Engine
	f.Fuzz(func(t *testing.T, line string) {
		if fast == nil {
			fast, slow = kwFoldEngine(t, Options{}), kwFoldEngine(t, Options{NoPrefilter: true})
		}
		if got, want := matches(fast, rawEvent(line)), matches(slow, rawEvent(line)); got != want {
			t.Fatalf("%q: matched %v, want %v", line, got, want)
		}
	})
}
