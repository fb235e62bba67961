package parse

import (
	"strconv"

	"github.com/mamori/mamori/internal/event"
)

// Parser parses one line into ev. Parse appends to ev.Fields, sets ev.Time
// when the content has a timestamp, and sets ev.Raw to the line (keeping an
// existing ev.Raw that already equals it). The line is not retained: values
// point into ev.Raw. Implementations are safe for concurrent use.
type Parser interface {
	Name() string
	Parse(line []byte, ev *event.Event) error
}

// Error is a parse failure: the format, the byte offset in the line where
// parsing stopped, and what was wrong there.
type Error struct {
	Format string
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	return "parse " + e.Format + ": offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func errAt(format string, off int, msg string) error {
	return &Error{Format: format, Offset: off, Msg: msg}
}

// ParseLine runs p on line the way every caller should: on failure the
// fields p added are removed, the line stays in ev.Raw, and
// event.FieldParseError holds the error text. The error is returned for
// counting; the event is usable either way.
func ParseLine(p Parser, line []byte, ev *event.Event) error {
	n0 := len(ev.Fields)
	err := p.Parse(line, ev)
	if err != nil {
		ev.Fields = append(ev.Fields[:n0], event.Field{Name: event.FieldParseError, Value: err.Error()})
		rawString(line, ev)
	}
	return err
}

// rawString sets ev.Raw to line (without a copy when it already holds the
// same bytes) and returns it, so that field values can be substrings of it.
func rawString(line []byte, ev *event.Event) string {
	if ev.Raw != string(line) {
		ev.Raw = string(line)
	}
	return ev.Raw
}

// add appends a field unless the value is empty.
func add(ev *event.Event, name, value string) {
	if value != "" {
		ev.Fields = append(ev.Fields, event.Field{Name: name, Value: value})
	}
}

// parserFunc adapts a function to Parser.
type parserFunc struct {
	name string
	fn   func(s string, ev *event.Event) error
}

func (p parserFunc) Name() string { return p.name }

func (p parserFunc) Parse(line []byte, ev *event.Event) error {
	n0 := len(ev.Fields)
	err := p.fn(trimEOL(rawString(line, ev)), ev)
	fillHost(ev, n0)
	return err
}

// trimEOL drops a trailing CR/LF that framing left on the line: Raw keeps
// it, field values do not.
func trimEOL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// fillHost sets an empty ev.Host from the parsed host.name.
func fillHost(ev *event.Event, from int) {
	if ev.Host != "" {
		return
	}
	if h, ok := fieldFrom(ev, from, "host.name"); ok {
		ev.Host = h
	}
}

// ASCII helpers; fast path: ASCII only.

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// atoi parses a small non-negative decimal; ok is false on anything else.
func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// indexByte is strings.IndexByte from an offset; -1 when absent.
func indexByteFrom(s string, from int, c byte) int {
	for i := from; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// nextToken returns the run of non-space bytes at s[i:] and the index after it.
func nextToken(s string, i int) (string, int) {
	j := i
	for j < len(s) && s[j] != ' ' {
		j++
	}
	return s[i:j], j
}

func skipSpaces(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}
