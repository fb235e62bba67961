package sigma

import (
	"fmt"
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
