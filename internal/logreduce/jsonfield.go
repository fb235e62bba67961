package logreduce

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrNoField is returned by JSONField when the object lacks the field.
var ErrNoField = errors.New("field not found")

// JSONField returns the value of the top-level field name of the JSON
// object in line, as text: strings unquoted, other values as written. It
// scans instead of decoding the whole object, so it is cheap on wide
// records; malformed input gives an error, never a panic. Scanning stops
// at the field, so the rest of the line is not validated.
func JSONField(line []byte, name string) (string, error) {
	v, err := AppendJSONField(nil, line, name)
	return string(v), err
}

// AppendJSONField is JSONField appending the value to dst, so a caller can
// reuse one buffer for every line.
func AppendJSONField(dst, line []byte, name string) ([]byte, error) {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return dst, fmt.Errorf("json field %s: not an object", name)
	}
	i++
	for {
		i = skipSpace(line, i)
		if i < len(line) && line[i] == '}' {
			return dst, fmt.Errorf("json field %s: %w", name, ErrNoField)
		}
		ks, ke, err := scanString(line, i)
		if err != nil {
			return dst, fmt.Errorf("json field %s: key: %w", name, err)
		}
		i = skipSpace(line, ke)
		if i >= len(line) || line[i] != ':' {
			return dst, fmt.Errorf("json field %s: missing colon at %d", name, i)
		}
		i = skipSpace(line, i+1)
		vs, ve, err := scanValue(line, i)
		if err != nil {
			return dst, fmt.Errorf("json field %s: value: %w", name, err)
		}
		if keyEquals(line[ks:ke], name) {
			return appendValueText(dst, line[vs:ve])
		}
		i = skipSpace(line, ve)
		if i < len(line) && line[i] == ',' {
			i++
			continue
		}
		if i < len(line) && line[i] == '}' {
			return dst, fmt.Errorf("json field %s: %w", name, ErrNoField)
		}
		return dst, fmt.Errorf("json field %s: unexpected end at %d", name, i)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// scanString returns the bounds of the JSON string starting at b[i]
// (quotes included).
func scanString(b []byte, i int) (start, end int, err error) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, fmt.Errorf("expected string at %d", i)
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return i, j + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("unterminated string at %d", i)
}

// scanValue returns the bounds of the JSON value starting at b[i].
func scanValue(b []byte, i int) (start, end int, err error) {
	if i >= len(b) {
		return 0, 0, fmt.Errorf("missing value at %d", i)
	}
	switch b[i] {
	case '"':
		return scanString(b, i)
	case '{', '[':
		var stack []byte // expected closers
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				_, e, err := scanString(b, j)
				if err != nil {
					return 0, 0, err
				}
				j = e - 1
			case '{':
				stack = append(stack, '}')
			case '[':
				stack = append(stack, ']')
			case '}', ']':
				if len(stack) == 0 || stack[len(stack)-1] != b[j] {
					return 0, 0, fmt.Errorf("mismatched %c at %d", b[j], j)
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return i, j + 1, nil
				}
			}
		}
		return 0, 0, fmt.Errorf("unterminated value at %d", i)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\r' && b[j] != '\n' {
		j++
	}
	if j == i {
		return 0, 0, fmt.Errorf("missing value at %d", i)
	}
	return i, j, nil
}

func keyEquals(quoted []byte, name string) bool {
	k := quoted[1 : len(quoted)-1]
	for _, c := range k {
		if c == '\\' {
			var s string
			return json.Unmarshal(quoted, &s) == nil && s == name
		}
	}
	return string(k) == name
}

func appendValueText(dst, v []byte) ([]byte, error) {
	if v[0] != '"' {
		return append(dst, v...), nil
	}
	// Fast path: no escapes.
	inner := v[1 : len(v)-1]
	simple := true
	for _, c := range inner {
		if c == '\\' || c < 0x20 {
			simple = false
			break
		}
	}
	if simple {
		return append(dst, inner...), nil
	}
	// Slow path: escapes.
	return appendUnescaped(dst, inner)
}

// appendUnescaped appends the JSON string body s (without quotes) to dst
// with its escapes resolved.
func appendUnescaped(dst, s []byte) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 {
			return dst, fmt.Errorf("bad string: control character at %d", i)
		}
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(s) {
			return dst, errors.New("bad string: trailing backslash")
		}
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := decodeU(s[i+1:])
			if n == 0 {
				return dst, fmt.Errorf("bad string: bad \\u escape at %d", i)
			}
			i += n
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, fmt.Errorf("bad string: bad escape at %d", i)
		}
	}
	return dst, nil
}

// decodeU decodes the hex digits after \u (and a following low surrogate)
// and returns the rune and how many bytes it used, 0 when malformed.
func decodeU(s []byte) (rune, int) {
	r, ok := hex4(s)
	if !ok {
		return 0, 0
	}
	if utf16.IsSurrogate(r) && len(s) >= 10 && s[4] == '\\' && s[5] == 'u' {
		if r2, ok := hex4(s[6:]); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, 10
			}
		}
	}
	if utf16.IsSurrogate(r) {
		return utf8.RuneError, 4
	}
	return r, 4
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
