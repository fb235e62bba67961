package parse

import (
	"math/bits"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// The CEF parser as it was before the single-pass extension scanner
// (commit 56b6327, internal/parse/cef.go), kept as the oracle of the
// differential tests (cef_diff_test.go): the new parser must give the same
// event for every input. It shares the helpers the change left as they
// were: unescapeCEF, cefTime, fieldFrom and normalize; header fields are
// read with refCEFHeaderField (cef_fuzz_test.go), the plain form of
// cefHeaderField, which the change rewrote.

// oldParseCEFBody parses s starting at "CEF:".
func oldParseCEFBody(s string, ev *event.Event) error {
	n0 := len(ev.Fields)
	i := len("CEF:")
	for k, name := range cefHeaderNames {
		v, j, esc, ok := refCEFHeaderField(s, i)
		if !ok && k == len(cefHeaderNames)-1 && i < len(s) && len(s)-i <= 10 && !strings.ContainsAny(s[i:], `\| `) {
			// Severity without the closing '|' and no extension.
			v, j, esc, ok = s[i:], len(s), false, true
		}
		if !ok {
			ev.Fields = ev.Fields[:n0]
			return errAt("cef", i, "header has "+string(rune('0'+k))+" of 7 fields")
		}
		if esc {
			v = unescapeCEF(v, true)
		}
		add(ev, name, v)
		i = j
	}
	oldCEFExtension(s[i:], ev)
	if v, ok := fieldFrom(ev, n0, "rt"); ok {
		if ns, ok := cefTime(v); ok {
			ev.Time = ns
		}
	}
	normalize(ev, n0, cefMap)
	return nil
}

// oldCEFExtension parses "k=v k2=v with spaces k3=v" and appends the fields.
// A value runs to the space before the next key= (or the end); escapes
// never hide a space.
func oldCEFExtension(s string, ev *event.Event) {
	i, k := 0, -1 // k: the index of the '=' after the key at i, when known
	for i < len(s) {
		if k < 0 {
			for i < len(s) && s[i] == ' ' {
				i++
			}
			k = i
			for k < len(s) && cefKeyByte[s[k]] {
				k++
			}
			if k == i || k >= len(s) || s[k] != '=' {
				// Garbage instead of a key: skip to the next space.
				for i < len(s) && s[i] != ' ' {
					i++
				}
				k = -1
				continue
			}
		}
		start := k + 1 // the key is s[i:k], taken when appending (fewer live registers)
		// The value: find each space (and note backslashes), eight bytes
		// at a time, until one is followed by key=.
		end, next, esc := len(s), -1, false
		for j := start; j < len(s); {
			if j+8 <= len(s) {
				// Fast path: eight bytes at a time.
				m := maskEither(load64(s, j), ' ', '\\')
				if m == 0 {
					j += 8
					continue
				}
				j += bits.TrailingZeros64(m) >> 3
			} else if c := s[j]; c != ' ' && c != '\\' {
				j++
				continue
			}
			if s[j] == '\\' {
				esc = true
				j++
				continue
			}
			e := j + 1
			for e < len(s) && cefKeyByte[s[e]] {
				e++
			}
			if e > j+1 && e < len(s) && s[e] == '=' {
				end, next = j, e
				break
			}
			j = e // s[e] is not a key byte: it may be a space or a backslash
		}
		e := end
		for e > start && s[e-1] == ' ' {
			e--
		}
		v := s[start:e]
		if esc {
			v = unescapeCEF(v, false)
		}
		if v != "" {
			// Appended to ev.Fields, not to a local copy of the slice
			// header: that one held three registers through the scan
			// loops above and made them spill (−3 % instructions).
			ev.Fields = append(ev.Fields, event.Field{Name: s[i : start-1], Value: v})
		}
		i, k = end+1, next
		if next < 0 {
			i = end
		}
	}
}
