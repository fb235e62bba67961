package sigma

import (
	"strings"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/event"
)

// appendJSONString appends s as a JSON string (invalid UTF-8 replaced).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// appendNestedJSON writes flattened dotted fields back as nested JSON
// objects (the evtx_dump layout for EVTX records). Fields must arrive
// grouped by prefix, as the EVTX reader emits them; a name that is both a
// value and a parent keeps the value under "#text".
func appendNestedJSON(b []byte, fs []event.Field) []byte {
	b = append(b, '{')
	var open []string // current object path
	first := true
	for _, f := range fs {
		parts := strings.Split(f.Name, ".")
		parent, leaf := parts[:len(parts)-1], parts[len(parts)-1]
		common := 0
		for common < len(open) && common < len(parent) && open[common] == parent[common] {
			common++
		}
		for len(open) > common {
			b = append(b, '}')
			open = open[:len(open)-1]
			first = false
		}
		for _, p := range parent[common:] {
			if !first {
				b = append(b, ',')
			}
			b = appendJSONString(b, p)
			b = append(b, ':', '{')
			open = append(open, p)
			first = true
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, leaf)
		b = append(b, ':')
		b = appendJSONString(b, f.Value)
	}
	for range open {
		b = append(b, '}')
	}
	return append(b, '}')
}
