package hec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
)

// Field names for the Splunk metadata that has no Mamori equivalent.
const (
	fieldSplunkSource     = "splunk.source"
	fieldSplunkSourcetype = "splunk.sourcetype"
	fieldSplunkIndex      = "splunk.index"
)

// envelope is one HEC event object.
type envelope struct {
	Time       json.RawMessage            `json:"time"`
	Host       string                     `json:"host"`
	Source     string                     `json:"source"`
	Sourcetype string                     `json:"sourcetype"`
	Index      string                     `json:"index"`
	Event      json.RawMessage            `json:"event"`
	Fields     map[string]json.RawMessage `json:"fields"`
}

// nextObject finds the next JSON object in b from i: it returns its bounds,
// or, when something else is in the way, an error and the offset to go on
// from. end is len(b) and err nil when only white space is left.
func nextObject(b []byte, i int) (start, end int, err error) {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i >= len(b) {
		return len(b), len(b), nil
	}
	if b[i] != '{' {
		j := bytes.IndexByte(b[i:], '{')
		if j < 0 {
			return len(b), len(b), fmt.Errorf("offset %d: want a JSON object", i)
		}
		return i + j, i + j, fmt.Errorf("offset %d: want a JSON object, skipped %d bytes", i, j)
	}
	depth, inStr := 0, false
	for j := i; j < len(b); j++ {
		c := b[j]
		if inStr {
			switch c {
			case '\\':
				j++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i, j + 1, nil
			}
		}
	}
	return len(b), len(b), fmt.Errorf("offset %d: unterminated JSON object", i)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// decodeEnvelope turns one HEC event object into an event, its event
// member decoded as the native API decodes a line: an object decoded and
// normalized (ingest.DecodeJSON), a string parsed by text (ingest.ParseText
// with topts; a string that does not parse is kept with _parse_error). The
// envelope's metadata (time, host, sourcetype, source, index, fields) wins
// over what the event member gives. A malformed object is kept raw with a
// parse error; err reports it.
func decodeEnvelope(obj []byte, received int64, text parse.Parser, topts parse.TimeOptions) (event.Event, error) {
	ev := event.Event{Received: received}
	var env envelope
	if err := json.Unmarshal(obj, &env); err != nil {
		return badEvent(obj, received, err), fmt.Errorf("invalid event: %w", err)
	}
	if len(env.Event) == 0 || string(env.Event) == "null" {
		return badEvent(obj, received, errors.New("no event member")), errors.New("event field is required")
	}
	switch env.Event[0] {
	case '"':
		var s string
		if err := json.Unmarshal(env.Event, &s); err != nil {
			return badEvent(obj, received, err), err
		}
		ingest.ParseText(text, []byte(s), &ev, topts)
	case '{':
		if err := ingest.DecodeJSON(env.Event, &ev, parse.JSONEventOptions{}); err != nil && !errors.Is(err, parse.ErrNoTime) {
			return badEvent(obj, received, err), err
		}
	default:
		ev.Raw = string(env.Event) // a number or an array: kept as its text
	}
	if len(env.Time) > 0 && string(env.Time) != "null" {
		t := string(env.Time)
		if t[0] == '"' {
			if u, err := strconv.Unquote(t); err == nil {
				t = u
			}
		}
		if ns, ok := parse.ParseTimeValue(t); ok {
			ev.Time = ns
		}
	}
	if ev.Time == 0 {
		ev.Time = received
	}
	if env.Host != "" {
		ev.Host = env.Host
	}
	if env.Sourcetype != "" {
		ev.Source = env.Sourcetype
	}
	add := func(name, v string) {
		if v != "" {
			ev.Fields = append(ev.Fields, event.Field{Name: name, Value: v})
		}
	}
	add(fieldSplunkSource, env.Source)
	add(fieldSplunkSourcetype, env.Sourcetype)
	add(fieldSplunkIndex, env.Index)
	names := make([]string, 0, len(env.Fields))
	for name := range env.Fields {
		names = append(names, name)
	}
	sort.Strings(names) // a stable field order
	for _, name := range names {
		add(name, jsonText(env.Fields[name]))
	}
	return ev, nil
}

// jsonText returns a JSON value as text: strings unquoted, the rest as
// written.
func jsonText(raw json.RawMessage) string {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

func badEvent(obj []byte, received int64, err error) event.Event {
	return event.Event{Time: received, Received: received, Raw: string(obj),
		Fields: []event.Field{{Name: event.FieldParseError, Value: err.Error()}}}
}
