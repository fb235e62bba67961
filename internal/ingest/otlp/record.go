package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"github.com/mamori/mamori/internal/jsonstr"
	"strconv"

	"github.com/mamori/mamori/internal/event"
)

// Field names of the record metadata.
const (
	fieldSeverityText   = "severity_text"
	fieldSeverityNumber = "severity_number"
	fieldTraceID        = "trace_id"
	fieldSpanID         = "span_id"
	fieldTraceFlags     = "trace_flags"
	fieldScopeName      = "scope.name"
	fieldScopeVersion   = "scope.version"
	fieldEventName      = "event.name"
	bodyPrefix          = "body."
)

// value is a decoded AnyValue: its text, and for a kvlist its members
// flattened (with dotted names) so they can become fields.
type value struct {
	text    string
	isStr   bool
	members []event.Field
}

// record collects one log record while it is decoded.
type record struct {
	timeNs, observedNs int64
	severityNum        int64
	severityText       string
	body               value
	hasBody            bool
	attrs              []event.Field
	traceID, spanID    []byte
	flags              uint32
	eventName          string
}

// scopeInfo is what a resource and a scope add to each of their records.
type scopeInfo struct {
	resource []event.Field // resource attributes
	scope    []event.Field // scope.name, scope.version and scope attributes
	host     string
	service  string
}

func newScopeInfo(resource []event.Field) scopeInfo {
	s := scopeInfo{resource: resource}
	for _, f := range resource {
		switch f.Name {
		case "host.name":
			s.host = f.Value
		case "service.name":
			s.service = f.Value
		}
	}
	return s
}

// event builds the event of a record.
func (s *scopeInfo) event(r *record, received int64) event.Event {
	ev := event.Event{Received: received, Host: s.host, Source: s.service}
	switch {
	case r.timeNs != 0:
		ev.Time = r.timeNs
	case r.observedNs != 0:
		ev.Time = r.observedNs
	default:
		ev.Time = received
	}
	if r.hasBody {
		ev.Raw = r.body.text
	}
	n := len(s.resource) + len(s.scope) + len(r.attrs) + len(r.body.members) + 6
	ev.Fields = make([]event.Field, 0, n)
	ev.Fields = append(ev.Fields, s.resource...)
	ev.Fields = append(ev.Fields, s.scope...)
	ev.Fields = append(ev.Fields, r.attrs...)
	for _, m := range r.body.members {
		ev.Fields = append(ev.Fields, event.Field{Name: bodyPrefix + m.Name, Value: m.Value})
	}
	add := func(name, v string) {
		if v != "" {
			ev.Fields = append(ev.Fields, event.Field{Name: name, Value: v})
		}
	}
	add(fieldSeverityText, r.severityText)
	if r.severityNum != 0 {
		add(fieldSeverityNumber, strconv.FormatInt(r.severityNum, 10))
	}
	if !allZero(r.traceID) {
		add(fieldTraceID, hex.EncodeToString(r.traceID))
	}
	if !allZero(r.spanID) {
		add(fieldSpanID, hex.EncodeToString(r.spanID))
	}
	if r.flags != 0 {
		add(fieldTraceFlags, strconv.FormatUint(uint64(r.flags&0xff), 16))
	}
	add(fieldEventName, r.eventName)
	return ev
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func bytesText(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }
