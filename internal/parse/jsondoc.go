package parse

import (
	"errors"
	"fmt"

	"github.com/mamori/mamori/internal/event"
)

// JSON documents: the "json" parser flattens any object (FlattenJSON),
// takes the time from the first of TimeKeys, and normalizes known shapes
// (Windows, CloudTrail) or common member names (jsonMap). Unlike
// DecodeJSONEvent it keeps ev.Raw as the whole line and every member as a
// field, like every other Parser.

// jsonMap maps member names common in application JSON logs to ECS.
var jsonMap = newFieldMap(
	mapping{"src_ip", "source.ip", ecsIP},
	mapping{"source_ip", "source.ip", ecsIP},
	mapping{"client_ip", "source.ip", ecsIP},
	mapping{"remote_addr", "source.ip", ecsIP},
	mapping{"ip", "source.ip", ecsIP},
	mapping{"dst_ip", "destination.ip", ecsIP},
	mapping{"src_port", "source.port", ecsInt},
	mapping{"dst_port", "destination.port", ecsInt},
	mapping{"user", "user.name", ecsText},
	mapping{"username", "user.name", ecsText},
	mapping{"user_name", "user.name", ecsText},
	mapping{"user_id", "user.id", ecsText},
	mapping{"host", "host.name", ecsText},
	mapping{"hostname", "host.name", ecsText},
	mapping{"level", "log.level", ecsLower},
	mapping{"severity", "log.level", ecsLower},
	mapping{"service", "service.name", ecsText},
	mapping{"event", "event.action", ecsText},
	mapping{"action", "event.action", ecsText},
	mapping{"url", "url.full", ecsText},
	mapping{"method", "http.request.method", ecsText},
	mapping{"status", "http.response.status_code", ecsInt},
	mapping{"user_agent", "user_agent.original", ecsText},
)

// jsonParser adapts a function over the line bytes to Parser.
type jsonParser struct {
	name string
	fn   func(line []byte, ev *event.Event) error
}

func (p jsonParser) Name() string { return p.name }

func (p jsonParser) Parse(line []byte, ev *event.Event) error {
	rawString(line, ev)
	n0 := len(ev.Fields)
	err := p.fn(line, ev)
	fillHost(ev, n0)
	return err
}

// flattenInto appends the flattened members of line to ev.Fields.
func flattenInto(line []byte, ev *event.Event, format string) error {
	fs, err := flattenJSON(line, ev.Raw, ev.Fields)
	if err != nil {
		var je *JSONError
		if errors.As(err, &je) {
			return &Error{Format: format, Offset: je.Offset, Msg: "invalid JSON: " + je.Msg}
		}
		return &Error{Format: format, Msg: err.Error()}
	}
	for i := len(ev.Fields); i < len(fs); i++ {
		if fs[i].Name == "" {
			fs[i].Name = emptyKey // {"": 1} is valid JSON; a field needs a name
		}
	}
	ev.Fields = fs
	return nil
}

// emptyKey names the member of an empty JSON key.
const emptyKey = "empty_key"

// parseJSON is the "json" parser.
func parseJSON(line []byte, ev *event.Event) error {
	n0 := len(ev.Fields)
	if err := flattenInto(line, ev, "json"); err != nil {
		return err
	}
	// ev.Host as fillHost (which every caller runs after this) would set
	// it from the host.name normalization adds, without its scan.
	if h := normalizeJSON(ev, n0); h != "" && ev.Host == "" {
		ev.Host = h
	}
	return nil
}

// NormalizeJSON sets ev.Time (when zero) from the time member and adds ECS
// fields to the flattened JSON members in ev.Fields[from:]: Windows events
// (Winlogbeat, evtx_dump), CloudTrail records, or common application
// member names. Receivers that decode JSON themselves (DecodeJSONEvent)
// call it afterwards.
func NormalizeJSON(ev *event.Event, from int) { normalizeJSON(ev, from) }

// normalizeJSON is NormalizeJSON; for application JSON it returns the
// host.name it added (see normalize), else "".
func normalizeJSON(ev *event.Event, from int) (host string) {
	sh := shapeOf(ev.Fields[from:])
	switch {
	case sh.windows:
		if ev.Time == 0 {
			windowsTime(ev, from)
		}
		normalizeWindows(ev, from)
	case sh.cloudTrail():
		if ev.Time == 0 {
			setTimeFrom(ev, from, sh.eventTime)
		}
		normalizeCloudTrail(ev, from)
	default:
		if ev.Time == 0 {
			setTimeFrom(ev, from, sh.time)
		}
		return normalize(ev, from, jsonMap)
	}
	return ""
}

// jsonShape is what NormalizeJSON needs to know of a document's members,
// found in one pass with one switch per member: whether it is a Windows
// event (isWindowsDoc) or a CloudTrail record (isCloudTrail), and which
// member holds its time.
type jsonShape struct {
	windows          bool
	ctSource, ctName bool
	time, eventTime  int // index of the time member (the first of TimeKeys), of the first eventTime; -1 when none
	timeRank         int
}

func (sh *jsonShape) cloudTrail() bool { return sh.ctSource && sh.ctName }

// shapeOf classifies fs (TestJSONShape keeps it in step with isWindowsDoc,
// isCloudTrail and TimeKeys).
func shapeOf(fs []event.Field) jsonShape {
	sh := jsonShape{time: -1, eventTime: -1, timeRank: len(TimeKeys)}
	for i := range fs {
		r := -1
		switch fs[i].Name {
		case "winlog.event_id", "Event.System.EventID", "Event.System.EventID.#text":
			sh.windows = true
		case "eventSource":
			sh.ctSource = true
		case "eventName":
			sh.ctName = true
		case "_time":
			r = 0
		case "@timestamp":
			r = 1
		case "timestamp":
			r = 2
		case "time":
			r = 3
		case "ts":
			r = 4
		case "eventTime":
			r = 5
			if sh.eventTime < 0 {
				sh.eventTime = i
			}
		}
		if r >= 0 && r < sh.timeRank {
			sh.time, sh.timeRank = i, r
		}
	}
	return sh
}

// setTimeFrom sets ev.Time from ev.Fields[from+i] when i >= 0 and its value
// is a time.
func setTimeFrom(ev *event.Event, from, i int) {
	if i < 0 {
		return
	}
	if ns, ok := ParseTimeValue(ev.Fields[from+i].Value); ok {
		ev.Time = ns
	}
}

// Receivers (the native NDJSON API, Kafka, file tailing, HEC, Elasticsearch
// bulk) decode a JSON document into an event with DecodeJSONEvent, then
// NormalizeJSON.

// JSONEventOptions says how a JSON document becomes an event.
type JSONEventOptions struct {
	// TimeField names the member that holds the event time; "" means the
	// first of _time, @timestamp, timestamp, time, ts, eventTime.
	TimeField string
}

// TimeKeys are the members searched for the event time, in order.
var TimeKeys = []string{"_time", "@timestamp", "timestamp", "time", "ts", "eventTime"}

// MessageKeys are the members whose value becomes the event's Raw message.
var MessageKeys = []string{"_msg", "message", "msg"}

// ErrNoTime is wrapped by DecodeJSONEvent when a time member exists but
// cannot be parsed; the event is still filled in.
var ErrNoTime = errors.New("time member not understood")

// DecodeJSONEvent fills ev from one JSON document: the time from the time
// member (left unchanged when there is none), Raw from the first message
// member (the whole line when there is none), metadata members (_source,
// _host, _category, _partition) into the metadata, and every other member
// into ev.Fields. The time and message members are not kept as fields.
// When the line is not valid JSON, ev is untouched and the error is returned.
func DecodeJSONEvent(line []byte, ev *event.Event, opts JSONEventOptions) error {
	// One copy of the line: values without escapes, and Raw when there is
	// no message member, are substrings of it (one allocation per line,
	// not one per member).
	src := string(line)
	n0 := len(ev.Fields)
	fields, err := flattenJSON(line, src, ev.Fields)
	if err != nil {
		return err
	}
	timeIdx, msgIdx := -1, -1
	timeRank, msgRank := len(TimeKeys), len(MessageKeys)
	for i := n0; i < len(fields); i++ {
		name := fields[i].Name
		tr, mr := keyRanks(name)
		if opts.TimeField != "" {
			tr = -1
			if name == opts.TimeField {
				tr = 0
			}
		}
		if tr >= 0 && tr < timeRank {
			timeIdx, timeRank = i, tr
		}
		if mr >= 0 && mr < msgRank {
			msgIdx, msgRank = i, mr
		}
	}
	var timeErr error
	if timeIdx >= 0 && fields[timeIdx].Value == "" {
		timeIdx = -1 // an empty time is no time; keep the member as a field
	}
	if timeIdx >= 0 {
		if ns, ok := ParseTimeValue(fields[timeIdx].Value); ok {
			ev.Time = ns
		} else {
			timeErr = fmt.Errorf("%w: %s=%q", ErrNoTime, fields[timeIdx].Name, truncate(fields[timeIdx].Value, 64))
			timeIdx = -1 // keep it as a field
		}
	}
	if msgIdx >= 0 {
		ev.Raw = fields[msgIdx].Value
	} else {
		ev.Raw = src
	}
	out := fields[:n0]
	for i := n0; i < len(fields); i++ {
		if i == timeIdx || i == msgIdx {
			continue
		}
		f := fields[i]
		if len(f.Name) > 0 && f.Name[0] == '_' { // metadata names all start with '_'
			switch f.Name {
			case event.FieldSource, event.FieldHost, event.FieldCategory, event.FieldPartition:
				ev.Set(f.Name, f.Value)
				continue
			}
		}
		out = append(out, f)
	}
	ev.Fields = out
	return timeErr
}

// keyRanks returns the index of name in TimeKeys and in MessageKeys (-1
// when not there), as one switch: the compiler makes it a search by length
// and bytes. It runs for every member of every JSON document (TestKeyRanks
// keeps it in step with TimeKeys and MessageKeys).
func keyRanks(name string) (timeRank, msgRank int) {
	switch name {
	case "_time":
		return 0, -1
	case "@timestamp":
		return 1, -1
	case "timestamp":
		return 2, -1
	case "time":
		return 3, -1
	case "ts":
		return 4, -1
	case "eventTime":
		return 5, -1
	case "_msg":
		return -1, 0
	case "message":
		return -1, 1
	case "msg":
		return -1, 2
	}
	return -1, -1
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
