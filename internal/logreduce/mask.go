package logreduce

// Variable masking: the hot path. A message is cut into words at white
// space; each word is masked by replacing the parts that are variables with
// Wildcard. The rules follow the published canonical form of log templates
// (Khan et al., ICSE 2022: double space, path-like strings, digits,
// booleans, words concatenated with variables, dot-separated and
// consecutive variables) plus general typing of hexadecimal and
// identifier-like tokens. The same function canonicalizes a finished
// template, because Wildcard inside a word is itself treated as a variable.

import (
	"math/bits"
	"strings"
)

// Wildcard marks a variable in a template.
const Wildcard = "<*>"

// charClass bits.
const (
	clSpace     = 1 << iota // white space: separates words
	clPathDelim             // splits a word into segments: , ! ; : = | " ' [ ] ( ) { }
	clTokDelim              // splits a segment into subtokens: . - + @ # $ % &
	clDigit
	clLetter // ASCII letters
	clHex    // 0-9 a-f A-F
	clAngle  // '<': may start a Wildcard
	clSlash  // '/': joins parts of a segment
)

var charClass [256]uint8

func init() {
	for _, c := range " \t\n\r\v\f" {
		charClass[c] |= clSpace
	}
	for _, c := range ",!;:=|\"'[](){}" {
		charClass[c] |= clPathDelim
	}
	for _, c := range ".-+@#$%&" {
		charClass[c] |= clTokDelim
	}
	for c := '0'; c <= '9'; c++ {
		charClass[c] |= clDigit | clHex
	}
	for c := 'a'; c <= 'z'; c++ {
		charClass[c] |= clLetter
		charClass[c-'a'+'A'] |= clLetter
	}
	for c := 'a'; c <= 'f'; c++ {
		charClass[c] |= clHex
		charClass[c-'a'+'A'] |= clHex
	}
	charClass['<'] |= clAngle
	charClass['/'] |= clSlash
}

// classesOf returns the classes every byte of s has (all) and the classes
// some byte of s has (some).
func classesOf(s string) (all, some uint8) {
	all = 0xff
	for i := 0; i < len(s); i++ {
		cl := charClass[s[i]]
		all &= cl
		some |= cl
	}
	return all, some
}

// splitWords appends the white-space separated words of s to dst.
func splitWords(dst []string, s string) []string {
	i := 0
	for i < len(s) {
		for i < len(s) && charClass[s[i]]&clSpace != 0 {
			i++
		}
		start := i
		i = wordEnd(s, i)
		if i > start {
			dst = append(dst, s[start:i])
		}
	}
	return dst
}

// wordEnd returns the index of the first white-space byte of s at or after
// i, or len(s).
func wordEnd(s string, i int) int {
	// Fast path: eight bytes at a time, stopping at the first byte <= ' '
	// (every white-space byte is one; bytes >= 0x80 never match).
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for i+8 <= len(s) {
		x := loadUint64(s, i)
		m := (x - ones*0x21) &^ x & highs
		if m == 0 {
			i += 8
			continue
		}
		i += bits.TrailingZeros64(m) >> 3 // the first flagged byte is exact
		if charClass[s[i]]&clSpace != 0 {
			return i
		}
		i++ // a control byte that is not white space
	}
	for i < len(s) && (s[i] > ' ' || charClass[s[i]]&clSpace == 0) {
		i++
	}
	return i
}

// appendMaskedWord appends the masked form of the word w (no white space) to
// dst. It reads w once: the classes of each segment are gathered on the way
// and passed on, so the common segments (plain words, no digits) need no
// second look.
func appendMaskedWord(dst []byte, w string) []byte {
	start := 0
	all, some := uint8(0xff), uint8(0)
	for i := 0; i < len(w); i++ {
		cl := charClass[w[i]]
		if cl&clPathDelim == 0 {
			all &= cl
			some |= cl
			continue
		}
		dst = appendMaskedPart(dst, w, start, i, all, some)
		dst = append(dst, w[i])
		start = i + 1
		all, some = 0xff, 0
	}
	return appendMaskedPart(dst, w, start, len(w), all, some)
}

// appendMaskedPart masks the segment w[start:end], whose bytes have the
// classes all and some (see classesOf).
func appendMaskedPart(dst []byte, w string, start, end int, all, some uint8) []byte {
	s := w[start:end]
	if start > 0 && w[start-1] == '=' && some&clTokDelim != 0 && isDottedName(s) {
		// The value of a key=value pair that is a dotted name
		// (com.example.app, android.intent.action.MAIN) is a variable.
		return append(dst, Wildcard...)
	}
	return maskSegment(dst, s, all, some)
}

// isDottedName reports whether s has at least two dots between letters
// (a.b.c).
func isDottedName(s string) bool {
	dots := 0
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '.' && charClass[s[i-1]]&(clLetter|clDigit) != 0 && charClass[s[i+1]]&clLetter != 0 {
			dots++
		}
	}
	return dots >= 2
}

// isPath reports whether s is a path-like string: one or more "/name" parts.
func isPath(s string) bool {
	if len(s) < 2 || s[0] != '/' || s[len(s)-1] == '/' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] == '/' && s[i-1] == '/' {
			return false
		}
	}
	return true
}

// isHostname reports whether s is a DNS name ending in a common top-level
// domain (www.example.com, q1.cdn.example.hk). Dotted names that end
// otherwise (org.apache.Foo, com.android.phone) are code names, constants.
func isHostname(s string) bool {
	dot := -1
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c == '.' {
			dot = i
			break
		}
		if charClass[c]&clLetter == 0 {
			return false
		}
	}
	if dot <= 0 || len(s)-dot-1 < 2 || len(s)-dot-1 > 6 {
		return false
	}
	for i := 0; i < dot; i++ {
		c := s[i]
		if charClass[c]&(clLetter|clDigit) == 0 && c != '-' && c != '.' && c != '_' {
			return false
		}
		if c == '.' && (i == 0 || s[i-1] == '.') {
			return false
		}
	}
	switch strings.ToLower(s[dot+1:]) {
	case "com", "net", "org", "edu", "gov", "mil", "int", "io", "info", "biz", "local", "lan", "corp", "internal",
		"arpa", "cn", "hk", "jp", "kr", "tw", "uk", "de", "fr", "ru", "nl", "eu", "us", "ca", "au", "in", "br", "it", "es", "se", "ch":
		return true
	}
	return false
}

// appendMaskedSegment masks a segment (a part of a word between path
// delimiters) and appends it to dst.
func appendMaskedSegment(dst []byte, s string) []byte {
	all, some := classesOf(s)
	return maskSegment(dst, s, all, some)
}

// maskSegment is appendMaskedSegment for a segment whose classes are known.
func maskSegment(dst []byte, s string, all, some uint8) []byte {
	if len(s) == 0 {
		return dst
	}
	// Fast path: a plain word of letters is a constant unless it names a
	// value.
	if all&clLetter != 0 {
		if len(s) >= 3 && len(s) <= 5 && isValueWord(s) {
			return append(dst, Wildcard...)
		}
		return append(dst, s...)
	}
	digits, angle := some&clDigit != 0, some&clAngle != 0
	if !digits && !angle && s[0] != '/' && (len(s) != 36 || strings.Count(s, "-") != 4) {
		// Fast path: no digits, no path: only a host name or value words
		// between token delimiters (a.true) can be variables.
		if some&clTokDelim == 0 {
			// One subtoken, not all letters: no value word.
			return append(dst, s...)
		}
		if charClass[s[len(s)-1]]&clLetter != 0 && isHostname(s) {
			return append(dst, Wildcard...)
		}
		return appendValueWords(dst, s)
	}
	// Slow path: typed values, then subtokens. Host names and versions
	// have dots.
	dotted := some&clTokDelim != 0
	if (s[0] == '/' && isPath(s)) || (len(s) == 36 && isUUID(s)) || (dotted && charClass[s[len(s)-1]]&clLetter != 0 && isHostname(s)) || (dotted && isVersion(s)) {
		return append(dst, Wildcard...)
	}
	if some&clSlash == 0 {
		return maskSubtokens(dst, s)
	}
	if k := strings.IndexByte(s, '/'); k >= 0 {
		// Parts joined by '/' (host/ip, 2016/9/27, hdfs://host:port) are
		// masked one by one.
		for {
			dst = appendMaskedSegment(dst, s[:k])
			if k == len(s) {
				return dst
			}
			dst = append(dst, '/')
			s = s[k+1:]
			if k = strings.IndexByte(s, '/'); k < 0 {
				k = len(s)
			}
		}
	}
	return maskSubtokens(dst, s)
}

// maskSubtokens masks the subtokens of a segment without '/' and appends
// them to dst.
func maskSubtokens(dst []byte, s string) []byte {
	from := len(dst)
	wilds := 0
	start := 0
	// host-NN: letter words joined by '-' ending in a number (msra-sa-41,
	// node-3) name a host or instance: one variable.
	hostNN := true
	for i := 0; i <= len(s); i++ {
		if i < len(s) && charClass[s[i]]&clTokDelim == 0 {
			continue
		}
		sub := s[start:i]
		if i < len(s) && s[i] == '-' && (sub == "" || sub[len(sub)-1] == '_') && i+1 < len(s) && charClass[s[i+1]]&clDigit != 0 {
			// A minus sign in front of a number belongs to the number
			// (-27, blk_-1608999687919862906).
			continue
		}
		n := len(dst)
		dst = appendMaskedSubtoken(dst, sub)
		for j := n; j+3 <= len(dst); j++ {
			if dst[j] == '<' && isWildAt(dst, j) {
				wilds++
			}
		}
		if i < len(s) {
			hostNN = hostNN && s[i] == '-' && isLetters(sub)
			dst = append(dst, s[i])
		} else {
			hostNN = hostNN && start > 0 && len(dst)-n == 3 && wilds == 1
		}
		start = i + 1
	}
	if hostNN {
		return append(dst[:from], Wildcard...)
	}
	if wilds < 2 {
		return dst
	}
	return collapseWildcards(dst, from)
}

// isVersion reports a version number: digits joined by dots (and dashes),
// with at least one dot, optionally after a 'v' (v1.0.0, 2.6.5-1.358).
func isVersion(s string) bool {
	if len(s) < 3 || (charClass[s[0]]&clDigit == 0 && ((s[0] != 'v' && s[0] != 'V') || charClass[s[1]]&clDigit == 0)) {
		return false
	}
	if s[0] == 'v' || s[0] == 'V' {
		s = s[1:]
	}
	if len(s) < 3 || charClass[s[0]]&clDigit == 0 || charClass[s[len(s)-1]]&clDigit == 0 {
		return false
	}
	dots := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			dots++
		case c == '-' || charClass[c]&clDigit != 0:
		default:
			return false
		}
		if (c == '.' || c == '-') && charClass[s[i-1]]&clDigit == 0 {
			return false
		}
	}
	return dots > 0
}

// appendValueWords appends s with its value-word subtokens masked.
func appendValueWords(dst []byte, s string) []byte {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && charClass[s[i]]&clTokDelim == 0 {
			continue
		}
		sub := s[start:i]
		if len(sub) >= 3 && len(sub) <= 5 && isLetters(sub) && isValueWord(sub) {
			dst = append(dst, Wildcard...)
		} else {
			dst = append(dst, sub...)
		}
		if i < len(s) {
			dst = append(dst, s[i])
		}
		start = i + 1
	}
	return dst
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&clLetter == 0 {
			return false
		}
	}
	return s != ""
}

// appendMaskedSubtoken masks a subtoken (a part of a segment between token
// delimiters) and appends it to dst.
func appendMaskedSubtoken(dst []byte, t string) []byte {
	if len(t) == 0 {
		return dst
	}
	if isVariableToken(t) {
		return append(dst, Wildcard...)
	}
	// Digit runs that do not touch a letter are numbers (blk_123, 2016/9/27);
	// a run inside a word (ssh2, u0, Office16) is part of the name.
	from := len(dst)
	masked := false
	hasSlash := false
	for i := 0; i < len(t); {
		c := t[i]
		if c == '/' {
			hasSlash = true
		}
		if charClass[c]&clDigit == 0 {
			if c == '<' && i+3 <= len(t) && t[i:i+3] == Wildcard {
				masked = true
			}
			dst = append(dst, c)
			i++
			continue
		}
		j := i
		for j < len(t) && charClass[t[j]]&clDigit != 0 {
			j++
		}
		if (i == 0 || charClass[t[i-1]]&clLetter == 0) && (j == len(t) || charClass[t[j]]&clLetter == 0) {
			dst = append(dst, Wildcard...)
			masked = true
		} else {
			dst = append(dst, t[i:j]...)
		}
		i = j
	}
	if masked && !hasSlash {
		// A word concatenated with a variable is a variable.
		return append(dst[:from], Wildcard...)
	}
	return dst
}

// isVariableToken reports whether a whole subtoken is a variable: a number,
// a hexadecimal value, a long identifier mixing digits and letters, or a
// value word (true, false, null, root, admin).
func isVariableToken(t string) bool {
	if t == Wildcard {
		return true
	}
	var digits, hex, letters int
	for i := 0; i < len(t); i++ {
		cl := charClass[t[i]]
		if cl&clDigit != 0 {
			digits++
		}
		if cl&clHex != 0 {
			hex++
		}
		if cl&clLetter != 0 {
			letters++
		}
	}
	switch {
	case digits == len(t):
		return true
	case digits > 0 && charClass[t[0]]&clDigit != 0 && letters <= 3 && digits+letters == len(t):
		return true // a number with a unit: 16K, 126MB, 10ms, 80x25
	case len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') && hex == len(t)-1:
		return true
	case digits > 0 && hex == len(t) && len(t) >= 6:
		return true // bare hexadecimal: addresses, hashes, object ids
	case digits >= 4 && digits+letters == len(t) && len(t) >= 16:
		return true // long random identifiers
	}
	if digits == 0 && len(t) >= 3 && len(t) <= 5 {
		return isValueWord(t)
	}
	return false
}

// isValueWord reports whether t is one of the words that stand for a value
// rather than a message: booleans, null and the common default accounts.
func isValueWord(t string) bool {
	// Cheap filter on length and first letter: the 3-letter words are
	// capitalized names, the others start with one of a few letters.
	if len(t) < 3 || len(t) > 5 {
		return false
	}
	switch c := t[0] | 0x20; len(t) {
	case 3:
		if t[0] < 'A' || t[0] > 'Z' {
			return false
		}
	case 4:
		if c != 't' && c != 'n' && c != 'r' {
			return false
		}
	case 5:
		if c != 'f' && c != 'a' {
			return false
		}
	}
	var b [5]byte
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch string(b[:len(t)]) {
	case "true", "false", "null", "root", "admin":
		return true
	}
	if len(t) == 3 && t[0] >= 'A' && t[0] <= 'Z' {
		// Month and weekday names are parts of dates.
		switch string(b[:3]) {
		case "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
			"mon", "tue", "wed", "thu", "fri", "sat", "sun":
			return true
		}
	}
	return false
}

// collapseWildcards rewrites dst[from:] so that "<*>.<*>" and "<*><*>"
// become one "<*>".
func collapseWildcards(dst []byte, from int) []byte {
	w := from
	for r := from; r < len(dst); {
		if isWildAt(dst, r) {
			if w-from >= 3 && isWildAt(dst, w-3) {
				r += 3 // "<*><*>"
				continue
			}
			if w-from >= 4 && dst[w-1] == '.' && isWildAt(dst, w-4) {
				w-- // "<*>.<*>"
				r += 3
				continue
			}
			copy(dst[w:], Wildcard)
			w += 3
			r += 3
			continue
		}
		dst[w] = dst[r]
		w++
		r++
	}
	return dst[:w]
}

func isWildAt(b []byte, i int) bool {
	return i+3 <= len(b) && b[i] == '<' && b[i+1] == '*' && b[i+2] == '>'
}

// Canonical returns template in canonical form: single spaces, and every
// variable rule of appendMaskedWord applied, so that two spellings of the
// same template compare equal.
func Canonical(template string) string {
	var buf []byte
	for i, w := range splitWords(nil, template) {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = appendMaskedWord(buf, w)
	}
	return string(buf)
}
