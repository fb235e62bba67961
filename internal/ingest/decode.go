package ingest

import (
	"errors"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/parse"
)

// The receivers that read JSON documents or text lines themselves (Kafka,
// file tailing, Splunk HEC, Elasticsearch bulk) decode them with DecodeJSON
// and ParseText, so the same document or line gives the same fields as
// through DecodeLines (the native API); each keeps its own metadata (host,
// source, index...) around them.

// DecodeJSON decodes one JSON document into ev as DecodeLines does, but
// leaves the host to the caller: parse.DecodeJSONEvent, then, when that
// succeeds, parse.NormalizeJSON of the fields it added (ECS names such as
// user.name, source.ip or log.level beside the original ones, Windows and
// CloudTrail mappings). ev.Host is set only from a _host member; the
// caller picks the host from the fields when it wants one. The error is
// DecodeJSONEvent's: a *parse.JSONError leaves ev untouched (the caller
// keeps the line raw), an error wrapping parse.ErrNoTime leaves the event
// filled in but not normalized, with a _parse_error field that names the
// time member it did not understand, as DecodeLines does: the event is
// still to be stored (with the caller's fallback time).
func DecodeJSON(line []byte, ev *event.Event, opts parse.JSONEventOptions) error {
	n0 := len(ev.Fields)
	err := parse.DecodeJSONEvent(line, ev, opts)
	switch {
	case err == nil:
		parse.NormalizeJSON(ev, n0)
	case errors.Is(err, parse.ErrNoTime):
		ev.Fields = append(ev.Fields, event.Field{Name: event.FieldParseError, Value: err.Error()})
	}
	return err
}

// TextParser returns the parser DecodeLines uses for text lines: p, or,
// when p is nil, parse.NewAuto with the zone and clock of topts. Build it
// once per receiver (or per body), not per line.
func TextParser(p parse.Parser, topts parse.TimeOptions) parse.Parser {
	if p != nil {
		return p
	}
	return parse.NewAuto(parse.Options{Location: topts.Location, Now: topts.Now})
}

// ParseText parses one text line into ev as DecodeLines does: parse.ParseLine
// with p (nil means parse.Auto; on a parse error the fields p added are
// replaced by _parse_error, which is also returned, and the event is still
// to be stored), Raw set to the line byte-exact, an _invalid_utf8 field
// when the line is not UTF-8, and ev.Time, when still zero, from
// parse.DetectTimeIn with topts. ev.Time stays zero when the line has no
// time: the caller applies its own fallback (receive or record time).
// A parser may set ev.Host (a syslog HOSTNAME); a caller whose host must
// win sets it afterwards.
func ParseText(p parse.Parser, line []byte, ev *event.Event, topts parse.TimeOptions) error {
	if p == nil {
		p = parse.Auto
	}
	err := parse.ParseLine(p, line, ev)
	if ev.Raw != string(line) {
		ev.Raw = string(line) // byte-exact, whatever the parser did
	}
	if !utf8.Valid(line) {
		ev.Fields = append(ev.Fields, event.Field{Name: "_invalid_utf8", Value: "true"})
	}
	if ev.Time == 0 {
		if ns, ok := parse.DetectTimeIn(ev.Raw, topts); ok {
			ev.Time = ns
		}
	}
	return err
}
