package fluent

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/mamori/mamori/internal/event"
)

// FieldTag keeps the Fluent tag of an event.
const FieldTag = "fluent.tag"

// messageKeys are the record keys whose value is the raw text, in order.
var messageKeys = []string{"message", "log", "msg", "MESSAGE"}

// decodeMessage turns one forward-protocol message into events and returns
// the chunk id to acknowledge ("" when none was asked). Entries that are
// not [time, record] are kept raw with a parse error.
func decodeMessage(v value, received int64, maxDecoded int) ([]event.Event, string, error) {
	if v.kind != kArray || len(v.elems) < 2 || len(v.elems) > 4 {
		return nil, "", fmt.Errorf("%w: want [tag, entries...], got a %s", errInvalid, kindName(v))
	}
	tag, ok := v.elems[0].str()
	if !ok {
		return nil, "", fmt.Errorf("%w: the tag is not a string", errInvalid)
	}
	var events []event.Event
	var option value
	switch second := v.elems[1]; second.kind {
	case kArray: // Forward mode: [tag, [[time, record], ...], option]
		for _, entry := range second.elems {
			events = append(events, entryEvent(entry, tag, received))
		}
		if len(v.elems) > 2 {
			option = v.elems[2]
		}
	case kStr, kBin: // PackedForward: [tag, msgpack stream of entries, option]
		if len(v.elems) > 2 {
			option = v.elems[2]
		}
		stream := second.data
		if optString(option, "compressed") == "gzip" {
			var err error
			if stream, err = gunzip(stream, maxDecoded); err != nil {
				return nil, "", err
			}
		}
		d := decoder{b: stream}
		for d.off < len(d.b) {
			entry, err := d.value(0)
			if err != nil {
				events = append(events, rawEvent(stream[d.off:], tag, received, fmt.Errorf("packed entries: %w", err)))
				break
			}
			events = append(events, entryEvent(entry, tag, received))
		}
	default: // Message mode: [tag, time, record, option]
		if len(v.elems) < 3 {
			return nil, "", fmt.Errorf("%w: message mode without a record", errInvalid)
		}
		events = append(events, entryEvent(value{kind: kArray, elems: v.elems[1:3]}, tag, received))
		if len(v.elems) > 3 {
			option = v.elems[3]
		}
	}
	return events, optString(option, "chunk"), nil
}

func gunzip(b []byte, max int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", errInvalid, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", errInvalid, err)
	}
	if len(out) > max {
		return nil, fmt.Errorf("%w: more than %d bytes once decompressed", errInvalid, max)
	}
	return out, nil
}

// optString returns a string member of the option map.
func optString(option value, key string) string {
	if option.kind != kMap {
		return ""
	}
	for i := 0; i+1 < len(option.elems); i += 2 {
		if k, ok := option.elems[i].str(); ok && k == key {
			s, _ := option.elems[i+1].str()
			return s
		}
	}
	return ""
}

// entryEvent turns [time, record] into an event.
func entryEvent(entry value, tag string, received int64) event.Event {
	if entry.kind != kArray || len(entry.elems) != 2 || entry.elems[1].kind != kMap {
		return rawEvent(entry.appendJSON(nil), tag, received, fmt.Errorf("%w: entry is not [time, record]", errInvalid))
	}
	ev := event.Event{Received: received, Time: received}
	if ns, ok := entry.elems[0].eventTime(); ok && ns > 0 {
		ev.Time = ns
	}
	rec := entry.elems[1]
	msgAt, msgRank := -1, len(messageKeys)
	for i := 0; i+1 < len(rec.elems); i += 2 {
		k, ok := rec.elems[i].str()
		if r := rank(k); ok && r < msgRank && (rec.elems[i+1].kind == kStr || rec.elems[i+1].kind == kBin) {
			msgAt, msgRank = i, r
		}
	}
	for i := 0; i+1 < len(rec.elems); i += 2 {
		if i == msgAt {
			ev.Raw = string(rec.elems[i+1].data)
			continue
		}
		ev.Fields = appendFlat(ev.Fields, string(rec.elems[i].appendText(nil)), rec.elems[i+1])
	}
	if msgAt < 0 {
		ev.Raw = string(rec.appendJSON(nil))
	}
	for _, f := range ev.Fields {
		if (f.Name == "host" || f.Name == "hostname") && ev.Host == "" {
			ev.Host = f.Value
		}
	}
	ev.Fields = append(ev.Fields, event.Field{Name: FieldTag, Value: tag})
	return ev
}

func rank(key string) int {
	for i, k := range messageKeys {
		if k == key {
			return i
		}
	}
	return len(messageKeys)
}

// appendFlat appends a record value: maps flattened with dots, nil left out.
func appendFlat(dst []event.Field, name string, v value) []event.Field {
	switch v.kind {
	case kNil:
		return dst
	case kMap:
		for i := 0; i+1 < len(v.elems); i += 2 {
			dst = appendFlat(dst, name+"."+string(v.elems[i].appendText(nil)), v.elems[i+1])
		}
		return dst
	}
	return append(dst, event.Field{Name: name, Value: string(v.appendText(nil))})
}

func rawEvent(b []byte, tag string, received int64, err error) event.Event {
	return event.Event{Time: received, Received: received, Raw: string(b), Fields: []event.Field{
		{Name: event.FieldParseError, Value: err.Error()}, {Name: FieldTag, Value: tag}}}
}

func kindName(v value) string {
	return [...]string{"nil", "bool", "int", "uint", "float", "string", "binary", "array", "map", "extension"}[v.kind]
}
