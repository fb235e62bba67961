package logreduce

import (
	"fmt"
	"strings"
)

// KeyNames appends to dst the key names of a raw message, for
// `logreduce keys` on events whose fields were not extracted at ingest: the
// top-level member names of a JSON object, else the keys of the key=value
// pairs (logfmt, kv, CEF extensions). Quoted kv values may hold spaces and
// '='; they are skipped. Duplicates are kept (AddKeys removes them).
// Malformed JSON gives the names read before the fault and an error; the
// kv form never fails. It does not decode escapes in JSON names.
func KeyNames(dst []string, raw string) ([]string, error) {
	s := strings.TrimLeft(raw, " \t\r\n")
	if strings.HasPrefix(s, "{") {
		return jsonKeyNames(dst, []byte(s))
	}
	return kvKeyNames(dst, s), nil
}

// jsonKeyNames appends the member names of the JSON object b.
func jsonKeyNames(dst []string, b []byte) ([]string, error) {
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		return dst, nil
	}
	for {
		ks, ke, err := scanString(b, i)
		if err != nil {
			return dst, fmt.Errorf("json keys: %w", err)
		}
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return dst, fmt.Errorf("json keys: missing colon at %d", i)
		}
		dst = append(dst, string(b[ks+1:ke-1]))
		_, ve, err := scanValue(b, skipSpace(b, i+1))
		if err != nil {
			return dst, fmt.Errorf("json keys: value: %w", err)
		}
		i = skipSpace(b, ve)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return dst, nil
		default:
			return dst, fmt.Errorf("json keys: unexpected end at %d", i)
		}
	}
}

// kvKeyNames appends the keys of the key=value pairs of s: a key is a run
// of letters, digits and "_.-@" right before '=', starting a word (after
// white space or '|').
func kvKeyNames(dst []string, s string) []string {
	for i := 0; i < len(s); {
		// At the start of a word.
		j := i
		for j < len(s) && isKeyByte(s[j]) {
			j++
		}
		if j > i && j < len(s) && s[j] == '=' {
			dst = append(dst, s[i:j])
			j++
			if j < len(s) && (s[j] == '"' || s[j] == '\'') {
				// A quoted value: skip to its closing quote.
				q := s[j]
				j++
				for j < len(s) && s[j] != q {
					if s[j] == '\\' {
						j++
					}
					j++
				}
			}
		}
		// Skip to the next word ('|' also ends one: CEF's header).
		for j < len(s) && !isKVSep(s[j]) {
			j++
		}
		for j < len(s) && isKVSep(s[j]) {
			j++
		}
		i = j
	}
	return dst
}

func isKeyByte(c byte) bool {
	return charClass[c]&(clLetter|clDigit) != 0 || c == '_' || c == '.' || c == '-' || c == '@'
}

func isKVSep(c byte) bool { return c == ' ' || c == '\t' || c == '|' }
