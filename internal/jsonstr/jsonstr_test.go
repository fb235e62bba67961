package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppend(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := string(Append(nil, in)); got != want {
			t.Errorf("Append(%q) = %s, want %s", in, got, want)
		}
	}
	f("", `""`)
	f("plain", `"plain"`)
	f("a\"b\\c\nd\re\tf\x01", `"a\"b\\c\nd\re\tf\u0001"`)
	f("日本語", `"日本語"`)
	f("bad\xffbyte", `"bad\ufffdbyte"`)
}

func FuzzAppend(f *testing.F) {
	f.Add("hello \"world\"\n")
	f.Add("\xc3\x28\x00日本")
	f.Fuzz(func(t *testing.T, s string) {
		b := Append([]byte("x"), s)[1:]
		if !json.Valid(b) {
			t.Fatalf("Append(%q) = %s is not valid JSON", s, b)
		}
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = strings.ToValidUTF8(s, "\ufffd")
			// ToValidUTF8 folds runs of bad bytes into one U+FFFD; Append
			// writes one per byte, so compare with the bad bytes removed.
			back = strings.ReplaceAll(back, "\ufffd", "")
			want = strings.ReplaceAll(want, "\ufffd", "")
		}
		if back != want {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
	})
}
