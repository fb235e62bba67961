package logreduce

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNoField is returned by JSONField when the object lacks the field.
var ErrNoField = errors.New("field not found")

// JSONField returns the value of the top-level field name of the JSON
// object in line, as text: strings unquoted, other values as written. It
// scans instead of decoding the whole object, so it is cheap on wide
// records; malformed input gives an error, never a panic.
func JSONField(line []byte, name string) (string, error) {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return "", fmt.Errorf("json field %s: not an object", name)
	}
	i++
	for {
		i = skipSpace(line, i)
		if i < len(line) && line[i] == '}' {
			return "", fmt.Errorf("json field %s: %w", name, ErrNoField)
		}
		ks, ke, err := scanString(line, i)
		if err != nil {
			return "", fmt.Errorf("json field %s: key: %w", name, err)
		}
		i = skipSpace(line, ke)
		if i >= len(line) || line[i] != ':' {
			return "", fmt.Errorf("json field %s: missing colon at %d", name, i)
		}
		i = skipSpace(line, i+1)
		vs, ve, err := scanValue(line, i)
		if err != nil {
			return "", fmt.Errorf("json field %s: value: %w", name, err)
		}
		if keyEquals(line[ks:ke], name) {
			return valueText(line[vs:ve])
		}
		i = skipSpace(line, ve)
		if i < len(line) && line[i] == ',' {
			i++
			continue
		}
		if i < len(line) && line[i] == '}' {
			return "", fmt.Errorf("json field %s: %w", name, ErrNoField)
		}
		return "", fmt.Errorf("json field %s: unexpected end at %d", name, i)
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
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				_, e, err := scanString(b, j)
				if err != nil {
					return 0, 0, err
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
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

func valueText(v []byte) (string, error) {
	if v[0] != '"' {
		return string(v), nil
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
		return string(inner), nil
	}
	// Slow path: escapes.
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("bad string: %w", err)
	}
	return s, nil
}
