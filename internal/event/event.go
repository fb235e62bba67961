package event

import (
	"strconv"
	"time"
)

// Metadata field names. Metadata fields start with an underscore.
const (
	FieldTime      = "_time"
	FieldRaw       = "_raw"
	FieldSource    = "_source"
	FieldHost      = "_host"
	FieldCategory  = "_category"
	FieldPartition = "_partition"
	FieldReceived  = "_received"
	// FieldParseError is set when the input could not be parsed; the event
	// then keeps the input verbatim in Raw.
	FieldParseError = "_parse_error"
)

// DefaultPartition is where events go when no routing rule picks another.
const DefaultPartition = "main"

// Field is one name/value pair of an event. Values are kept as text; typed
// interpretation (numbers, IPs, times) happens where it is needed.
type Field struct {
	Name  string
	Value string
}

// Event is one log record.
//
// Raw is the message exactly as the sender wrote it: the whole line for plain
// text, or the message value (_msg, message, msg) of a JSON document. A JSON
// document without a message keeps the whole document as Raw. Fields are
// ordered and may repeat a name only by mistake of a parser; Get returns the
// first.
type Event struct {
	Time      int64 // Unix nanoseconds
	Received  int64 // Unix nanoseconds, when the server accepted it
	Raw       string
	Source    string
	Host      string
	Category  string
	Partition string
	Fields    []Field
}

// Get returns the value of the named field, including the metadata fields,
// and whether the event has it.
func (e *Event) Get(name string) (string, bool) {
	if len(name) > 0 && name[0] == '_' {
		switch name {
		case FieldTime:
			return FormatTime(e.Time), true
		case FieldRaw:
			return e.Raw, true
		case FieldSource:
			return e.Source, e.Source != ""
		case FieldHost:
			return e.Host, e.Host != ""
		case FieldCategory:
			return e.Category, e.Category != ""
		case FieldPartition:
			return e.Partition, e.Partition != ""
		case FieldReceived:
			return FormatTime(e.Received), e.Received != 0
		}
	}
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			return e.Fields[i].Value, true
		}
	}
	return "", false
}

// Set replaces the value of the named field or appends it. Metadata names
// set the corresponding metadata (a _time that does not parse is ignored).
func (e *Event) Set(name, value string) {
	if len(name) > 0 && name[0] == '_' {
		switch name {
		case FieldTime:
			if ns, ok := ParseTime(value); ok {
				e.Time = ns
			}
			return
		case FieldRaw:
			e.Raw = value
			return
		case FieldSource:
			e.Source = value
			return
		case FieldHost:
			e.Host = value
			return
		case FieldCategory:
			e.Category = value
			return
		case FieldPartition:
			e.Partition = value
			return
		}
	}
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			e.Fields[i].Value = value
			return
		}
	}
	e.Fields = append(e.Fields, Field{Name: name, Value: value})
}

// Clone returns a deep copy of the event's field slice (strings are immutable
// and shared).
func (e *Event) Clone() Event {
	c := *e
	c.Fields = append([]Field(nil), e.Fields...)
	return c
}

// IsMeta reports whether name is a metadata field name.
func IsMeta(name string) bool { return len(name) > 0 && name[0] == '_' }

// FormatTime formats Unix nanoseconds as RFC 3339 with nanoseconds, in UTC.
func FormatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// AppendTime appends FormatTime(ns) to dst.
func AppendTime(dst []byte, ns int64) []byte {
	return time.Unix(0, ns).UTC().AppendFormat(dst, time.RFC3339Nano)
}

// ParseTime parses RFC 3339 (any precision) or a decimal Unix time in
// seconds, milliseconds, microseconds or nanoseconds (chosen by magnitude).
func ParseTime(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	if c := s[0]; c >= '0' && c <= '9' && len(s) >= 9 && len(s) <= 20 {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return EpochToNanos(n), true
		}
		if ns, ok := parseEpochFraction(s); ok {
			return ns, true
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), true
	}
	return 0, false
}

// EpochToNanos interprets an integer Unix time by its magnitude: seconds
// (up to year 5138), milliseconds, microseconds or nanoseconds.
func EpochToNanos(n int64) int64 {
	switch {
	case n < 1e11:
		return n * 1e9
	case n < 1e14:
		return n * 1e6
	case n < 1e17:
		return n * 1e3
	default:
		return n
	}
}

// parseEpochFraction parses "seconds.fraction" exactly (no float rounding).
func parseEpochFraction(s string) (int64, bool) {
	dot := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			dot = i
			break
		}
	}
	if dot <= 0 || dot == len(s)-1 || len(s)-dot-1 > 9 {
		return 0, false
	}
	sec, err := strconv.ParseInt(s[:dot], 10, 64)
	if err != nil || sec >= 1e11 {
		return 0, false
	}
	frac := s[dot+1:]
	f, err := strconv.ParseUint(frac, 10, 64)
	if err != nil {
		return 0, false
	}
	for i := len(frac); i < 9; i++ {
		f *= 10
	}
	return sec*1e9 + int64(f), true
}
