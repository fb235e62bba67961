package loki

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest/pb"
)

// errInvalid is wrapped by payload errors.
var errInvalid = errors.New("invalid push request")

// stream is the decoded labels of one stream, shared by its events.
type stream struct {
	fields []event.Field
	host   string
	source string
}

// newStream picks host and source from the labels.
func newStream(fields []event.Field) stream {
	s := stream{fields: fields[:len(fields):len(fields)]} // appends must copy
	s.host = label(fields, "host", "hostname", "instance", "node_name")
	s.source = label(fields, "service_name", "job", "app")
	return s
}

func label(fields []event.Field, names ...string) string {
	for _, n := range names {
		for _, f := range fields {
			if f.Name == n && f.Value != "" {
				return f.Value
			}
		}
	}
	return ""
}

func (s stream) event(ts int64, line string, meta []event.Field, received int64) event.Event {
	if ts == 0 {
		ts = received
	}
	ev := event.Event{Time: ts, Received: received, Raw: line, Host: s.host, Source: s.source, Fields: s.fields}
	if len(meta) > 0 {
		ev.Fields = append(ev.Fields, meta...)
	}
	return ev
}

// parseLabels parses a Prometheus label set: {name="value", ...}.
func parseLabels(s string) ([]event.Field, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, fmt.Errorf("%w: labels %q: want {name=\"value\", ...}", errInvalid, clip(s))
	}
	body := s[1 : len(s)-1]
	var out []event.Field
	for i := 0; ; {
		for i < len(body) && (body[i] == ' ' || body[i] == ',') {
			i++
		}
		if i >= len(body) {
			return out, nil
		}
		j := i
		for j < len(body) && isLabelChar(body[j]) {
			j++
		}
		if j == i || j+1 >= len(body) || body[j] != '=' || body[j+1] != '"' {
			return nil, fmt.Errorf("%w: labels %q: bad label at offset %d", errInvalid, clip(s), i+1)
		}
		name := body[i:j]
		k := j + 2
		for k < len(body) && body[k] != '"' {
			if body[k] == '\\' {
				k++
			}
			k++
		}
		if k >= len(body) {
			return nil, fmt.Errorf("%w: labels %q: unterminated value", errInvalid, clip(s))
		}
		value, err := strconv.Unquote(body[j+1 : k+1])
		if err != nil {
			value = body[j+2 : k] // keep the text rather than lose the label
		}
		out = append(out, event.Field{Name: name, Value: value})
		i = k + 1
	}
}

func isLabelChar(c byte) bool {
	return c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// decodeProto decodes a (decompressed) PushRequest. On a malformed stream
// it keeps the events decoded before it and returns them with the error.
func decodeProto(b []byte, received int64) ([]event.Event, error) {
	var events []event.Event
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		if f.Num != 1 || f.Type != pb.Bytes {
			continue // unknown fields are skipped, as protobuf wants
		}
		var err error
		if events, err = decodeStream(f.Data, events, received); err != nil {
			return events, err
		}
	}
	if err := r.Err(); err != nil {
		return events, fmt.Errorf("%w: %w", errInvalid, err)
	}
	return events, nil
}

// decodeStream decodes a StreamAdapter {1 labels, 2 entries, 3 hash}.
// Labels may come after the entries, so entries are decoded in a second pass.
func decodeStream(b []byte, events []event.Event, received int64) ([]event.Event, error) {
	var labels string
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		if f.Num == 1 && f.Type == pb.Bytes && !f.Cut {
			labels = string(f.Data)
		}
	}
	fields, err := parseLabels(labels)
	if err != nil {
		return events, err
	}
	st := newStream(fields)
	r = pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		if f.Num != 2 || f.Type != pb.Bytes {
			continue
		}
		ts, line, meta, err := decodeEntry(f.Data)
		if err != nil {
			return events, fmt.Errorf("%w: stream %s: %w", errInvalid, clip(labels), err)
		}
		events = append(events, st.event(ts, line, meta, received))
	}
	if err := r.Err(); err != nil {
		return events, fmt.Errorf("%w: stream %s: %w", errInvalid, clip(labels), err)
	}
	return events, nil
}

// decodeEntry decodes an EntryAdapter {1 timestamp, 2 line, 3 structured
// metadata}.
func decodeEntry(b []byte) (ts int64, line string, meta []event.Field, err error) {
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		switch {
		case f.Num == 1 && f.Type == pb.Bytes:
			if ts, err = decodeTimestamp(f.Data); err != nil {
				return 0, "", nil, err
			}
		case f.Num == 2 && f.Type == pb.Bytes:
			line = string(f.Data)
		case f.Num == 3 && f.Type == pb.Bytes:
			name, value, err := decodePair(f.Data)
			if err != nil {
				return 0, "", nil, err
			}
			meta = append(meta, event.Field{Name: name, Value: value})
		}
	}
	return ts, line, meta, r.Err()
}

// decodeTimestamp decodes google.protobuf.Timestamp {1 seconds, 2 nanos}.
func decodeTimestamp(b []byte) (int64, error) {
	var sec, nsec int64
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		switch {
		case f.Num == 1 && f.Type == pb.Varint:
			sec = f.Int64()
		case f.Num == 2 && f.Type == pb.Varint:
			nsec = int64(int32(f.Val))
		}
	}
	return sec*1e9 + nsec, r.Err()
}

func decodePair(b []byte) (name, value string, err error) {
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		switch {
		case f.Num == 1 && f.Type == pb.Bytes:
			name = string(f.Data)
		case f.Num == 2 && f.Type == pb.Bytes:
			value = string(f.Data)
		}
	}
	return name, value, r.Err()
}

// jsonPush is the JSON form of a push request.
type jsonPush struct {
	Streams []struct {
		Stream map[string]string   `json:"stream"`
		Values [][]json.RawMessage `json:"values"`
	} `json:"streams"`
}

// decodeJSON decodes a JSON push request. A malformed entry fails the
// request: the JSON form has no framing to resynchronise on.
func decodeJSON(b []byte, received int64) ([]event.Event, error) {
	var req jsonPush
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalid, err)
	}
	var events []event.Event
	for si, s := range req.Streams {
		fields := make([]event.Field, 0, len(s.Stream))
		for name, v := range s.Stream {
			fields = append(fields, event.Field{Name: name, Value: v})
		}
		sortFields(fields)
		st := newStream(fields)
		for vi, v := range s.Values {
			ts, line, meta, err := jsonEntry(v)
			if err != nil {
				return events, fmt.Errorf("%w: streams[%d].values[%d]: %w", errInvalid, si, vi, err)
			}
			events = append(events, st.event(ts, line, meta, received))
		}
	}
	return events, nil
}

func jsonEntry(v []json.RawMessage) (int64, string, []event.Field, error) {
	if len(v) < 2 || len(v) > 3 {
		return 0, "", nil, fmt.Errorf("want [timestamp, line] or [timestamp, line, metadata], got %d elements", len(v))
	}
	var tsText, line string
	if err := json.Unmarshal(v[0], &tsText); err != nil {
		return 0, "", nil, fmt.Errorf("timestamp: want a string of Unix nanoseconds: %w", err)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return 0, "", nil, fmt.Errorf("timestamp %q: want Unix nanoseconds", clip(tsText))
	}
	if err := json.Unmarshal(v[1], &line); err != nil {
		return 0, "", nil, fmt.Errorf("line: want a string: %w", err)
	}
	var meta []event.Field
	if len(v) == 3 {
		var m map[string]string
		if err := json.Unmarshal(v[2], &m); err != nil {
			return 0, "", nil, fmt.Errorf("structured metadata: want an object of strings: %w", err)
		}
		for k, val := range m {
			meta = append(meta, event.Field{Name: k, Value: val})
		}
		sortFields(meta)
	}
	return ts, line, meta, nil
}

func sortFields(f []event.Field) {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j].Name < f[j-1].Name; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}
