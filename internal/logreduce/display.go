package logreduce

import (
	"net/netip"
	"strings"
)

// Display returns template with each variable typed from the value it has
// in example: <IP>, <NUM>, <HEX>, <UUID>, <PATH>, <TIME>, or <*> when the
// type is not obvious or example does not fit the template.
func Display(template, example string) string {
	vals, ok := Values(template, example)
	if !ok {
		return template
	}
	var b strings.Builder
	pieces := strings.Split(template, Wildcard)
	for i, p := range pieces {
		b.WriteString(p)
		if i < len(vals) {
			b.WriteString(typeOf(vals[i]))
		}
	}
	// A clock (and a date written with words around it) is one time.
	return clockReplacer.Replace(b.String())
}

var clockReplacer = strings.NewReplacer("<*>:<NUM>:<NUM>", "<TIME>", "<NUM>:<NUM>:<NUM>", "<TIME>")

// Values returns the values the variables of template take in msg, matching
// the template's constant pieces left to right (white space runs count as
// one space). ok is false when msg does not fit template.
func Values(template, msg string) (vals []string, ok bool) {
	msg = strings.Join(splitWords(nil, msg), " ")
	pieces := strings.Split(template, Wildcard)
	if !strings.HasPrefix(msg, pieces[0]) {
		return nil, false
	}
	rest := msg[len(pieces[0]):]
	for i := 1; i < len(pieces); i++ {
		p := pieces[i]
		var j int
		switch {
		case i == len(pieces)-1:
			if !strings.HasSuffix(rest, p) {
				return nil, false
			}
			j = len(rest) - len(p)
		case p == "":
			j = 0
		default:
			j = strings.Index(rest, p)
		}
		if j < 0 {
			return nil, false
		}
		vals = append(vals, rest[:j])
		rest = rest[j+len(p):]
	}
	if len(pieces) == 1 && rest != "" {
		return nil, false
	}
	return vals, true
}

// typeOf names the obvious type of a variable value.
func typeOf(v string) string {
	v = strings.Trim(v, "/[]()")
	switch {
	case v == "":
		return Wildcard
	case isNum(v):
		return "<NUM>"
	case isIP(v):
		return "<IP>"
	case isUUID(v):
		return "<UUID>"
	case isHexValue(v):
		return "<HEX>"
	case isTime(v):
		return "<TIME>"
	case strings.Count(v, "/") >= 2 || strings.Count(v, `\`) >= 2:
		return "<PATH>"
	}
	return Wildcard
}

func isNum(v string) bool {
	if v[0] == '-' || v[0] == '+' {
		v = v[1:]
	}
	dots := 0
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '.':
			dots++
		case charClass[v[i]]&clDigit == 0:
			return false
		}
	}
	return v != "" && dots <= 1 && v[0] != '.' && v[len(v)-1] != '.'
}

func isIP(v string) bool {
	if h, _, ok := strings.Cut(v, ":"); ok && strings.Count(v, ":") == 1 {
		v = h // ip:port
	}
	_, err := netip.ParseAddr(v)
	return err == nil
}

func isUUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	for i := 0; i < len(v); i++ {
		switch i {
		case 8, 13, 18, 23:
			if v[i] != '-' {
				return false
			}
		default:
			if charClass[v[i]]&clHex == 0 {
				return false
			}
		}
	}
	return true
}

func isHexValue(v string) bool {
	if len(v) > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') {
		v = v[2:]
	} else if len(v) < 6 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if charClass[v[i]]&clHex == 0 {
			return false
		}
	}
	return true
}

// isTime reports a clock time or date: digits joined by ':' '-' '/' '.'
// or ',' with at least two separators, and no letters other than T and Z.
func isTime(v string) bool {
	seps, digits := 0, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case charClass[c]&clDigit != 0:
			digits++
		case c == ':' || c == '-' || c == '/' || c == '.' || c == ',' || c == 'T' || c == 'Z' || c == ' ':
			seps++
		default:
			return false
		}
	}
	return seps >= 2 && digits >= 4 && (strings.Contains(v, ":") || strings.Count(v, "-") == 2)
}
