package evtx

import (
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/mamori/mamori/internal/event"
)

func float32frombits(b uint32) float32 { return math.Float32frombits(b) }
func float64frombits(b uint64) float64 { return math.Float64frombits(b) }

// flatten renders an element tree as dotted fields in the evtx_dump JSON
// layout.
func flatten(root *elem, dst []event.Field) []event.Field {
	return flattenElem(root, root.name, dst)
}

// names interns field names: records of one kind repeat them.
var names sync.Map // string -> string

func join(parts ...string) string {
	var buf [256]byte
	b := buf[:0]
	for _, p := range parts {
		b = append(b, p...)
	}
	if v, ok := names.Load(string(b)); ok {
		return v.(string)
	}
	s := string(b)
	names.Store(s, s)
	return s
}

func flattenElem(el *elem, path string, dst []event.Field) []event.Field {
	for _, a := range el.attrs {
		dst = append(dst, event.Field{Name: join(path, ".#attributes.", a.name), Value: a.value})
	}
	var unnamed []string
	for _, c := range el.children {
		if c.name == "Data" && (el.name == "EventData" || el.name == "UserData") {
			if n, ok := dataName(c); ok {
				if v := c.text.String(); v != "" {
					dst = append(dst, event.Field{Name: join(path, ".", n), Value: v})
				}
				continue
			}
			if len(c.children) == 0 {
				unnamed = append(unnamed, c.text.String())
				continue
			}
		}
		dst = flattenElem(c, join(path, ".", c.name), dst)
	}
	switch len(unnamed) {
	case 0:
	case 1:
		if unnamed[0] != "" {
			dst = append(dst, event.Field{Name: join(path, ".Data"), Value: unnamed[0]})
		}
	default:
		var b strings.Builder
		b.WriteByte('[')
		for i, u := range unnamed {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(u))
		}
		b.WriteByte(']')
		dst = append(dst, event.Field{Name: join(path, ".Data"), Value: b.String()})
	}
	if t := el.text.String(); t != "" {
		if len(el.attrs) > 0 || len(el.children) > 0 {
			dst = append(dst, event.Field{Name: join(path, ".#text"), Value: t})
		} else {
			dst = append(dst, event.Field{Name: path, Value: t})
		}
	}
	return dst
}

func dataName(c *elem) (string, bool) {
	for _, a := range c.attrs {
		if a.name == "Name" && a.value != "" {
			return a.value, true
		}
	}
	return "", false
}
