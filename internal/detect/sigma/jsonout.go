package sigma

import (
	"github.com/mamori/mamori/internal/jsonstr"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// appendJSONString appends s as a JSON string (invalid UTF-8 replaced).
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s) }

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
