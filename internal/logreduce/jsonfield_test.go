package logreduce

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

func TestJSONField(t *testing.T) {
	f := func(line, name, want string) {
		t.Helper()
		got, err := JSONField([]byte(line), name)
		if err != nil || got != want {
			t.Errorf("JSONField(%q, %q) = %q, %v, want %q", line, name, got, err, want)
		}
	}
	f(`{"_msg":"hello world"}`, "_msg", "hello world")
	f(` { "a" : 1 , "_msg" : "x\ty\"z\\\u00e9\ud83d\ude00" } `, "_msg", "x\ty\"z\\é😀")
	f(`{"a":{"_msg":"inner"},"_msg":"outer"}`, "_msg", "outer")
	f(`{"a":[1,"]",{"b":"}"}],"n":-1.5e3}`, "n", "-1.5e3")
	f(`{"b":true,"n":null}`, "b", "true")
	f(`{"a\u0062":"esc key"}`, "ab", "esc key")
	f(`{"a":"C:\\Windows\\x"}`, "a", `C:\Windows\x`)
	// Scanning stops at the field: the rest is not validated.
	f(`{"a":"x"`, "a", "x")
	f(`{"a":"x",}`, "a", "x")
}

func TestJSONFieldBadInput(t *testing.T) {
	for _, line := range []string{
		``, `[]`, `"x"`, `{`, `{"a"`, `{"a":`, `{"a":"x`, `{"a" "x"}`,
		`{"a":"\q"}`, `{"a":"\u12"}`, `{"a":[1,2}`, "{\"a\":\"\x01\"}",
	} {
		_, err := JSONField([]byte(line), "a")
		if err == nil || err.Error() == "" {
			t.Errorf("JSONField(%q) = nil error, want one", line)
		}
	}
	_, err := JSONField([]byte(`{"b":1}`), "a")
	if !errors.Is(err, ErrNoField) {
		t.Errorf("missing field: err = %v, want ErrNoField", err)
	}
}

func FuzzJSONField(f *testing.F) {
	for _, s := range []string{
		`{"_msg":"hello world","host":"h1"}`,
		`{"a":1,"_msg":"x\ty\"z\\\u00e9"}`,
		`{"_msg":{"x":[1,2,"}"]}}`,
		`{"_msg":"a`,
		`{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		got, err := JSONField(line, "_msg")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		// When encoding/json agrees the line is an object with a string
		// _msg, both must give the same text. (Invalid UTF-8 is kept as is
		// here, where encoding/json replaces it.)
		var m map[string]json.RawMessage
		if !utf8.Valid(line) || json.Unmarshal(line, &m) != nil {
			return
		}
		var s string
		if raw, ok := m["_msg"]; ok && json.Unmarshal(raw, &s) == nil && got != s {
			t.Fatalf("JSONField = %q, encoding/json = %q", got, s)
		}
	})
}
