package otlp

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest/pb"
)

// errInvalid is wrapped by payload errors.
var errInvalid = errors.New("invalid OTLP request")

// maxDepth bounds the nesting of AnyValues.
const maxDepth = 32

// decodeProto decodes an ExportLogsServiceRequest. On damage it returns the
// events of the records before it with the error.
func decodeProto(b []byte, received int64) ([]event.Event, error) {
	var events []event.Event
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		if f.Num != 1 || f.Type != pb.Bytes {
			continue
		}
		var err error
		if events, err = decodeResourceLogs(f.Data, events, received); err != nil {
			return events, err
		}
	}
	return events, wrap(r.Err())
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", errInvalid, err)
}

// decodeResourceLogs decodes ResourceLogs {1 resource, 2 scope_logs}. The
// resource may follow the scopes, so scopes are read in a second pass.
func decodeResourceLogs(b []byte, events []event.Event, received int64) ([]event.Event, error) {
	var resource []event.Field
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		if f.Num == 1 && f.Type == pb.Bytes {
			// A damaged resource keeps the attributes before the damage;
			// the second pass meets the damage again and reports it.
			resource, _ = decodeResource(f.Data)
		}
	}
	info := newScopeInfo(resource)
	r = pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		if f.Num == 2 && f.Type == pb.Bytes {
			var err error
			if events, err = decodeScopeLogs(f.Data, info, events, received); err != nil {
				return events, err
			}
		}
	}
	return events, wrap(r.Err())
}

// decodeResource decodes Resource {1 attributes}.
func decodeResource(b []byte) ([]event.Field, error) {
	var attrs []event.Field
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		if f.Num == 1 && f.Type == pb.Bytes {
			var err error
			if attrs, err = decodeKeyValue(f.Data, "", attrs, 0); err != nil {
				return nil, err
			}
		}
	}
	return attrs, wrap(r.Err())
}

// decodeScopeLogs decodes ScopeLogs {1 scope, 2 log_records}.
func decodeScopeLogs(b []byte, info scopeInfo, events []event.Event, received int64) ([]event.Event, error) {
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		if f.Num == 1 && f.Type == pb.Bytes {
			info.scope, _ = decodeScope(f.Data) // damage is reported by the second pass
		}
	}
	r = pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		if f.Num == 2 && f.Type == pb.Bytes {
			rec, err := decodeRecord(f.Data)
			if err != nil {
				return events, err
			}
			events = append(events, info.event(&rec, received))
		}
	}
	return events, wrap(r.Err())
}

// decodeScope decodes InstrumentationScope {1 name, 2 version, 3 attributes}.
func decodeScope(b []byte) ([]event.Field, error) {
	var out []event.Field
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		switch {
		case f.Num == 1 && f.Type == pb.Bytes && len(f.Data) > 0:
			out = append(out, event.Field{Name: fieldScopeName, Value: string(f.Data)})
		case f.Num == 2 && f.Type == pb.Bytes && len(f.Data) > 0:
			out = append(out, event.Field{Name: fieldScopeVersion, Value: string(f.Data)})
		case f.Num == 3 && f.Type == pb.Bytes:
			var err error
			if out, err = decodeKeyValue(f.Data, "scope.", out, 0); err != nil {
				return nil, err
			}
		}
	}
	return out, wrap(r.Err())
}

// decodeRecord decodes a LogRecord.
func decodeRecord(b []byte) (record, error) {
	var rec record
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		var err error
		switch {
		case f.Num == 1 && f.Type == pb.Fixed64:
			rec.timeNs = int64(f.Val)
		case f.Num == 2 && f.Type == pb.Varint:
			rec.severityNum = f.Int64()
		case f.Num == 3 && f.Type == pb.Bytes:
			rec.severityText = string(f.Data)
		case f.Num == 5 && f.Type == pb.Bytes:
			rec.body, err = decodeAnyValue(f.Data, 0)
			rec.hasBody = true
		case f.Num == 6 && f.Type == pb.Bytes:
			rec.attrs, err = decodeKeyValue(f.Data, "", rec.attrs, 0)
		case f.Num == 8 && f.Type == pb.Fixed32:
			rec.flags = uint32(f.Val)
		case f.Num == 9 && f.Type == pb.Bytes:
			rec.traceID = f.Data
		case f.Num == 10 && f.Type == pb.Bytes:
			rec.spanID = f.Data
		case f.Num == 11 && f.Type == pb.Fixed64:
			rec.observedNs = int64(f.Val)
		case f.Num == 12 && f.Type == pb.Bytes:
			rec.eventName = string(f.Data)
		}
		if err != nil {
			return rec, err
		}
	}
	return rec, wrap(r.Err())
}

// decodeKeyValue decodes KeyValue {1 key, 2 value} and appends it to dst as
// fields named prefix+key; a kvlist value is flattened with dots.
func decodeKeyValue(b []byte, prefix string, dst []event.Field, depth int) ([]event.Field, error) {
	key, val, err := decodeKV(b, depth+1)
	if err != nil {
		return dst, err
	}
	return appendValue(dst, prefix+key, val), nil
}

// appendValue appends a value under name: a kvlist as its members.
func appendValue(dst []event.Field, name string, v value) []event.Field {
	if v.members != nil {
		for _, m := range v.members {
			dst = append(dst, event.Field{Name: name + "." + m.Name, Value: m.Value})
		}
		return dst
	}
	if v.text == "" && !v.isStr {
		return dst // an empty AnyValue
	}
	return append(dst, event.Field{Name: name, Value: v.text})
}

// decodeAnyValue decodes an AnyValue. The text of arrays and kvlists is
// their JSON; jsonForm gives each value's JSON for nesting.
func decodeAnyValue(b []byte, depth int) (value, error) {
	if depth > maxDepth {
		return value{}, fmt.Errorf("%w: values nested deeper than %d", errInvalid, maxDepth)
	}
	var v value
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		switch {
		case f.Num == 1 && f.Type == pb.Bytes:
			v = value{text: string(f.Data), isStr: true}
		case f.Num == 2 && f.Type == pb.Varint:
			v = value{text: strconv.FormatBool(f.Val != 0)}
		case f.Num == 3 && f.Type == pb.Varint:
			v = value{text: strconv.FormatInt(f.Int64(), 10)}
		case f.Num == 4 && f.Type == pb.Fixed64:
			v = value{text: formatDouble(f.Double())}
		case f.Num == 5 && f.Type == pb.Bytes:
			var err error
			if v, err = decodeArray(f.Data, depth); err != nil {
				return v, err
			}
		case f.Num == 6 && f.Type == pb.Bytes:
			var err error
			if v, err = decodeKVList(f.Data, depth); err != nil {
				return v, err
			}
		case f.Num == 7 && f.Type == pb.Bytes:
			v = value{text: bytesText(f.Data), isStr: true}
		}
	}
	return v, wrap(r.Err())
}

func formatDouble(d float64) string { return strconv.FormatFloat(d, 'g', -1, 64) }

// jsonForm returns the JSON text of a value.
func jsonForm(v value) []byte {
	if v.isStr {
		return appendJSONString(nil, v.text)
	}
	if v.text == "" || v.text == "NaN" || v.text == "+Inf" || v.text == "-Inf" {
		if v.text == "" {
			return []byte("null")
		}
		return appendJSONString(nil, v.text)
	}
	return []byte(v.text)
}

// decodeArray decodes ArrayValue {1 values}.
func decodeArray(b []byte, depth int) (value, error) {
	out := []byte{'['}
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		if f.Num != 1 || f.Type != pb.Bytes {
			continue
		}
		el, err := decodeAnyValue(f.Data, depth+1)
		if err != nil {
			return value{}, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, elementJSON(el)...)
	}
	return value{text: string(append(out, ']'))}, wrap(r.Err())
}

// decodeKVList decodes KeyValueList {1 values}: its text is a JSON object
// and its members the flattened fields.
func decodeKVList(b []byte, depth int) (value, error) {
	out := []byte{'{'}
	members := []event.Field{}
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		if f.Num != 1 || f.Type != pb.Bytes {
			continue
		}
		key, el, err := decodeKV(f.Data, depth+1)
		if err != nil {
			return value{}, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendJSONString(out, key)
		out = append(out, ':')
		out = append(out, elementJSON(el)...)
		members = appendValue(members, key, el)
	}
	return value{text: string(append(out, '}')), members: members}, wrap(r.Err())
}

// decodeKV decodes one KeyValue into its key and value.
func decodeKV(b []byte, depth int) (string, value, error) {
	var key string
	var val value
	r := pb.NewReader(b)
	for {
		f, ok := r.Next()
		if !ok {
			break
		}
		switch {
		case f.Num == 1 && f.Type == pb.Bytes:
			key = string(f.Data)
		case f.Num == 2 && f.Type == pb.Bytes:
			var err error
			if val, err = decodeAnyValue(f.Data, depth); err != nil {
				return "", val, err
			}
		}
	}
	return key, val, wrap(r.Err())
}

// DecodeLogs decodes an ExportLogsServiceRequest (protobuf, or OTLP/JSON
// when asJSON) into events, for transports other than HTTP (Kafka). On
// damage it returns the events of the records before it with the error.
func DecodeLogs(b []byte, asJSON bool, received int64) ([]event.Event, error) {
	if asJSON {
		return decodeJSON(b, received)
	}
	return decodeProto(b, received)
}
