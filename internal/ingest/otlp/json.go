package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// The OTLP/JSON encoding: lowerCamelCase names, 64-bit integers as strings
// or numbers, trace and span ids in hex.
type jsonRequest struct {
	ResourceLogs []struct {
		Resource struct {
			Attributes []jsonKV `json:"attributes"`
		} `json:"resource"`
		ScopeLogs []struct {
			Scope struct {
				Name       string   `json:"name"`
				Version    string   `json:"version"`
				Attributes []jsonKV `json:"attributes"`
			} `json:"scope"`
			LogRecords []jsonRecord `json:"logRecords"`
		} `json:"scopeLogs"`
	} `json:"resourceLogs"`
}

type jsonKV struct {
	Key   string  `json:"key"`
	Value jsonAny `json:"value"`
}

type jsonAny struct {
	StringValue *string         `json:"stringValue"`
	BoolValue   *bool           `json:"boolValue"`
	IntValue    json.RawMessage `json:"intValue"`
	DoubleValue json.RawMessage `json:"doubleValue"`
	ArrayValue  *struct {
		Values []jsonAny `json:"values"`
	} `json:"arrayValue"`
	KvlistValue *struct {
		Values []jsonKV `json:"values"`
	} `json:"kvlistValue"`
	BytesValue *string `json:"bytesValue"`
}

type jsonRecord struct {
	TimeUnixNano         json.RawMessage `json:"timeUnixNano"`
	ObservedTimeUnixNano json.RawMessage `json:"observedTimeUnixNano"`
	SeverityNumber       json.RawMessage `json:"severityNumber"`
	SeverityText         string          `json:"severityText"`
	Body                 *jsonAny        `json:"body"`
	Attributes           []jsonKV        `json:"attributes"`
	Flags                uint32          `json:"flags"`
	TraceID              string          `json:"traceId"`
	SpanID               string          `json:"spanId"`
	EventName            string          `json:"eventName"`
}

// decodeJSON decodes an ExportLogsServiceRequest in OTLP/JSON.
func decodeJSON(b []byte, received int64) ([]event.Event, error) {
	var req jsonRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalid, err)
	}
	var events []event.Event
	for ri, rl := range req.ResourceLogs {
		resource, err := jsonFields(rl.Resource.Attributes, "", nil, 0)
		if err != nil {
			return events, fmt.Errorf("resourceLogs[%d]: %w", ri, err)
		}
		info := newScopeInfo(resource)
		for si, sl := range rl.ScopeLogs {
			info.scope = nil
			if sl.Scope.Name != "" {
				info.scope = append(info.scope, event.Field{Name: fieldScopeName, Value: sl.Scope.Name})
			}
			if sl.Scope.Version != "" {
				info.scope = append(info.scope, event.Field{Name: fieldScopeVersion, Value: sl.Scope.Version})
			}
			if info.scope, err = jsonFields(sl.Scope.Attributes, "scope.", info.scope, 0); err != nil {
				return events, fmt.Errorf("resourceLogs[%d].scopeLogs[%d]: %w", ri, si, err)
			}
			for li := range sl.LogRecords {
				rec, err := jsonToRecord(&sl.LogRecords[li])
				if err != nil {
					return events, fmt.Errorf("resourceLogs[%d].scopeLogs[%d].logRecords[%d]: %w", ri, si, li, err)
				}
				events = append(events, info.event(&rec, received))
			}
		}
	}
	return events, nil
}

func jsonToRecord(j *jsonRecord) (record, error) {
	rec := record{severityText: j.SeverityText, flags: j.Flags, eventName: j.EventName}
	var err error
	if rec.timeNs, err = jsonInt(j.TimeUnixNano); err != nil {
		return rec, fmt.Errorf("%w: timeUnixNano: %w", errInvalid, err)
	}
	if rec.observedNs, err = jsonInt(j.ObservedTimeUnixNano); err != nil {
		return rec, fmt.Errorf("%w: observedTimeUnixNano: %w", errInvalid, err)
	}
	if rec.severityNum, err = jsonInt(j.SeverityNumber); err != nil {
		rec.severityNum = 0 // an enum name ("SEVERITY_NUMBER_INFO"): the text says enough
	}
	if j.Body != nil {
		if rec.body, err = j.Body.toValue(0); err != nil {
			return rec, err
		}
		rec.hasBody = true
	}
	if rec.attrs, err = jsonFields(j.Attributes, "", nil, 0); err != nil {
		return rec, err
	}
	if rec.traceID, err = hexID(j.TraceID); err != nil {
		return rec, fmt.Errorf("%w: traceId: %w", errInvalid, err)
	}
	if rec.spanID, err = hexID(j.SpanID); err != nil {
		return rec, fmt.Errorf("%w: spanId: %w", errInvalid, err)
	}
	return rec, nil
}

// hexID decodes a hex id; base64 is accepted too, as some exporters send it.
func hexID(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// jsonInt reads an integer written as a number or a string.
func jsonInt(raw json.RawMessage) (int64, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, nil
	}
	if s[0] == '"' {
		u, err := strconv.Unquote(s)
		if err != nil {
			return 0, err
		}
		s = u
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	u, err := strconv.ParseUint(s, 10, 64)
	return int64(u), err
}

func jsonFields(kvs []jsonKV, prefix string, dst []event.Field, depth int) ([]event.Field, error) {
	for i := range kvs {
		v, err := kvs[i].Value.toValue(depth + 1)
		if err != nil {
			return dst, err
		}
		dst = appendValue(dst, prefix+kvs[i].Key, v)
	}
	return dst, nil
}

func (a *jsonAny) toValue(depth int) (value, error) {
	if depth > maxDepth {
		return value{}, fmt.Errorf("%w: values nested deeper than %d", errInvalid, maxDepth)
	}
	switch {
	case a.StringValue != nil:
		return value{text: *a.StringValue, isStr: true}, nil
	case a.BoolValue != nil:
		return value{text: strconv.FormatBool(*a.BoolValue)}, nil
	case len(a.IntValue) > 0:
		n, err := jsonInt(a.IntValue)
		if err != nil {
			return value{}, fmt.Errorf("%w: intValue: %w", errInvalid, err)
		}
		return value{text: strconv.FormatInt(n, 10)}, nil
	case len(a.DoubleValue) > 0:
		var d float64
		if err := json.Unmarshal(a.DoubleValue, &d); err != nil {
			return value{}, fmt.Errorf("%w: doubleValue: %w", errInvalid, err)
		}
		return value{text: formatDouble(d)}, nil
	case a.BytesValue != nil:
		return value{text: *a.BytesValue, isStr: true}, nil
	case a.ArrayValue != nil:
		out := []byte{'['}
		for i := range a.ArrayValue.Values {
			el, err := a.ArrayValue.Values[i].toValue(depth + 1)
			if err != nil {
				return value{}, err
			}
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, elementJSON(el)...)
		}
		return value{text: string(append(out, ']'))}, nil
	case a.KvlistValue != nil:
		out := []byte{'{'}
		members := []event.Field{}
		for i, kv := range a.KvlistValue.Values {
			el, err := kv.Value.toValue(depth + 1)
			if err != nil {
				return value{}, err
			}
			if i > 0 {
				out = append(out, ',')
			}
			out = appendJSONString(out, kv.Key)
			out = append(out, ':')
			out = append(out, elementJSON(el)...)
			members = appendValue(members, kv.Key, el)
		}
		return value{text: string(append(out, '}')), members: members}, nil
	}
	return value{}, nil
}

// elementJSON is the JSON of a value nested in an array or kvlist.
func elementJSON(v value) []byte {
	if v.members != nil {
		return []byte(v.text)
	}
	return jsonForm(v)
}
