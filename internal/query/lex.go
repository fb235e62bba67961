package query

import (
	"strings"
)

// The query text is scanned on demand by the parser: the search expression,
// stage arguments and value expressions cut words differently (a search
// term may hold '-', '/' and '.', an expression treats them as operators),
// so the parser asks for the kind of token it expects at each point.

// isWordChar reports whether c may appear in a bare search word.
func isWordChar(c byte) bool {
	switch c {
	case '(', ')', '|', '"', '=', '<', '>', '!':
		return false
	}
	return c > ' ' && c != 0x7f
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '.'
}

// scanner holds the text and the read position.
type scanner struct {
	src string
	pos int
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

func (s *scanner) skipSpace() {
	for s.pos < len(s.src) && isSpace(s.src[s.pos]) {
		s.pos++
	}
}

// peek returns the next byte after spaces, or 0 at the end.
func (s *scanner) peek() byte {
	s.skipSpace()
	if s.pos >= len(s.src) {
		return 0
	}
	return s.src[s.pos]
}

// peekN reports whether the text after spaces starts with lit.
func (s *scanner) peekLit(lit string) bool {
	s.skipSpace()
	return s.pos <= len(s.src) && strings.HasPrefix(s.src[s.pos:], lit)
}

// accept consumes lit when the text after spaces starts with it.
func (s *scanner) accept(lit string) bool {
	if s.peekLit(lit) {
		s.pos += len(lit)
		return true
	}
	return false
}

// peekWord returns the identifier-like word at the position (lower-cased)
// without consuming it.
func (s *scanner) peekWord() string {
	s.skipSpace()
	i := s.pos
	for i < len(s.src) && (isIdentChar(s.src[i]) || s.src[i] == '-') {
		i++
	}
	return strings.ToLower(s.src[s.pos:i])
}

// acceptKeyword consumes the case-insensitive keyword kw when it is the
// next whole word.
func (s *scanner) acceptKeyword(kw string) bool {
	s.skipSpace()
	end := s.pos + len(kw)
	if end > len(s.src) || !strings.EqualFold(s.src[s.pos:end], kw) {
		return false
	}
	if end < len(s.src) && isIdentChar(s.src[end]) {
		return false
	}
	s.pos = end
	return true
}

// ident scans an identifier (field or operator name) or a %"quoted name".
func (s *scanner) ident() (string, bool) {
	s.skipSpace()
	if strings.HasPrefix(s.src[s.pos:], `%"`) {
		s.pos++
		v, err := s.quoted()
		return v, err == ""
	}
	start := s.pos
	if s.pos < len(s.src) && isIdentStart(s.src[s.pos]) {
		s.pos++
		for s.pos < len(s.src) && isIdentChar(s.src[s.pos]) {
			s.pos++
		}
	}
	for s.pos > start && s.src[s.pos-1] == '.' {
		s.pos--
	}
	return s.src[start:s.pos], s.pos > start
}

// word scans a bare search word: a run of isWordChar bytes.
func (s *scanner) word() string {
	s.skipSpace()
	start := s.pos
	for s.pos < len(s.src) && isWordChar(s.src[s.pos]) {
		s.pos++
	}
	return s.src[start:s.pos]
}

// quoted scans a "..." or '...' literal starting at the position and returns
// its unescaped text, or a non-empty error message.
func (s *scanner) quoted() (string, string) {
	s.skipSpace()
	if s.pos >= len(s.src) || (s.src[s.pos] != '"' && s.src[s.pos] != '\'') {
		return "", "expected a quoted string"
	}
	q := s.src[s.pos]
	s.pos++
	var b []byte
	start := s.pos
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == q:
			s.pos++
			if b == nil {
				return s.src[start : s.pos-1], ""
			}
			return string(b), ""
		case c == '\\' && s.pos+1 < len(s.src):
			if b == nil {
				b = append(b, s.src[start:s.pos]...)
			}
			s.pos++
			switch e := s.src[s.pos]; e {
			case 'n':
				b = append(b, '\n')
			case 't':
				b = append(b, '\t')
			case 'r':
				b = append(b, '\r')
			case '"', '\'', '\\':
				b = append(b, e)
			default:
				// Keep unknown escapes (regexps in strings need them).
				b = append(b, '\\', e)
			}
			s.pos++
		default:
			if b != nil {
				b = append(b, c)
			}
			s.pos++
		}
	}
	return "", "unterminated string"
}

// regex scans a /.../ literal; '\/' is an escaped slash and other escapes
// are kept for the regexp compiler.
func (s *scanner) regex() (string, string) {
	s.skipSpace()
	if s.pos >= len(s.src) || s.src[s.pos] != '/' {
		return "", "expected a /regexp/"
	}
	s.pos++
	var b []byte
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		if c == '\\' && s.pos+1 < len(s.src) {
			if s.src[s.pos+1] == '/' {
				b = append(b, '/')
			} else {
				b = append(b, c, s.src[s.pos+1])
			}
			s.pos += 2
			continue
		}
		if c == '/' {
			s.pos++
			return string(b), ""
		}
		b = append(b, c)
		s.pos++
	}
	return "", "unterminated regexp"
}

// number scans an unsigned decimal number (digits, optional fraction and
// exponent) and returns its text.
func (s *scanner) number() string {
	s.skipSpace()
	start := s.pos
	for s.pos < len(s.src) && s.src[s.pos] >= '0' && s.src[s.pos] <= '9' {
		s.pos++
	}
	if s.pos < len(s.src) && s.src[s.pos] == '.' && s.pos+1 < len(s.src) && s.src[s.pos+1] >= '0' && s.src[s.pos+1] <= '9' {
		s.pos++
		for s.pos < len(s.src) && s.src[s.pos] >= '0' && s.src[s.pos] <= '9' {
			s.pos++
		}
	}
	if s.pos > start && s.pos < len(s.src) && (s.src[s.pos] == 'e' || s.src[s.pos] == 'E') {
		j := s.pos + 1
		if j < len(s.src) && (s.src[j] == '+' || s.src[j] == '-') {
			j++
		}
		if j < len(s.src) && s.src[j] >= '0' && s.src[j] <= '9' {
			for j < len(s.src) && s.src[j] >= '0' && s.src[j] <= '9' {
				j++
			}
			s.pos = j
		}
	}
	return s.src[start:s.pos]
}

// atStageEnd reports whether the next token ends the stage: '|' or the end.
func (s *scanner) atStageEnd() bool {
	c := s.peek()
	return c == 0 || c == '|'
}

// skipToPipe moves to the next top-level '|', skipping quoted strings and
// /regexps/ that follow "matches" or "regex".
func (s *scanner) skipToPipe() {
	prevWord := ""
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == '|':
			return
		case (c == '(' || c == '[') && s.matchClose(s.pos) > 0:
			// A nested query: its pipes are not this stage's end.
			s.pos = s.matchClose(s.pos)
			prevWord = ""
		case c == '"' || c == '\'':
			if _, msg := s.quoted(); msg != "" {
				s.pos = len(s.src)
			}
			prevWord = ""
		case c == '/' && (prevWord == "matches" || prevWord == "regex"):
			if _, msg := s.regex(); msg != "" {
				s.pos = len(s.src)
			}
			prevWord = ""
		case isIdentStart(c):
			start := s.pos
			for s.pos < len(s.src) && isIdentChar(s.src[s.pos]) {
				s.pos++
			}
			prevWord = strings.ToLower(s.src[start:s.pos])
		case isSpace(c):
			s.pos++
		default:
			prevWord = ""
			s.pos++
		}
	}
}

// matchClose returns the offset just past the bracket that closes the '('
// or '[' at open, skipping quoted strings and nested brackets, or -1 when
// it is not closed.
func (s *scanner) matchClose(open int) int {
	sub := scanner{src: s.src, pos: open}
	var stack []byte
	for sub.pos < len(sub.src) {
		switch c := sub.src[sub.pos]; c {
		case '(', '[':
			stack = append(stack, c)
			sub.pos++
		case ')', ']':
			want := byte('(')
			if c == ']' {
				want = '['
			}
			if len(stack) == 0 || stack[len(stack)-1] != want {
				return -1
			}
			stack = stack[:len(stack)-1]
			sub.pos++
			if len(stack) == 0 {
				return sub.pos
			}
		case '"', '\'':
			if _, msg := sub.quoted(); msg != "" {
				return -1
			}
		default:
			sub.pos++
		}
	}
	return -1
}
