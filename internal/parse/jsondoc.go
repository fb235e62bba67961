package parse

import (
	"errors"

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
	NormalizeJSON(ev, n0)
	return nil
}

// NormalizeJSON sets ev.Time (when zero) from the time member and adds ECS
// fields to the flattened JSON members in ev.Fields[from:]: Windows events
// (Winlogbeat, evtx_dump), CloudTrail records, or common application
// member names. Receivers that decode JSON themselves (DecodeJSONEvent)
// call it afterwards.
func NormalizeJSON(ev *event.Event, from int) {
	switch {
	case isWindowsDoc(ev, from):
		if ev.Time == 0 {
			windowsTime(ev, from)
		}
		normalizeWindows(ev, from)
	case isCloudTrail(ev, from):
		if ev.Time == 0 {
			jsonTime(ev, from, "eventTime")
		}
		normalizeCloudTrail(ev, from)
	default:
		if ev.Time == 0 {
			jsonTime(ev, from, "")
		}
		normalize(ev, from, jsonMap)
	}
}

// jsonTime sets ev.Time from the named member, or the first of TimeKeys.
func jsonTime(ev *event.Event, from int, name string) {
	best := len(TimeKeys)
	val := ""
	for i := from; i < len(ev.Fields); i++ {
		n := ev.Fields[i].Name
		if name != "" {
			if n == name {
				val = ev.Fields[i].Value
				break
			}
			continue
		}
		if r := timeKeyRank(n); r >= 0 && r < best {
			best, val = r, ev.Fields[i].Value
		}
	}
	if ns, ok := ParseTimeValue(val); ok {
		ev.Time = ns
	}
}
