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
	sc := getJSONScratch()
	err := sc.flattenInto(line, ev, format)
	putJSONScratch(sc)
	return err
}

// flattenInto is flattenInto with the caller's scratch: on success
// sc.infos describes the names of the fields appended.
func (sc *jsonDecoder) flattenInto(line []byte, ev *event.Event, format string) error {
	fs, err := sc.flatten(line, ev.Raw, ev.Fields)
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
	sc := getJSONScratch()
	err := sc.flattenInto(line, ev, "json")
	if err == nil {
		// normalizeJSON(ev, n0) with the names the decoder classified
		// (an empty name became emptyKey, which no table knows either).
		// ev.Host as fillHost (which every caller runs after this) would
		// set it from the host.name normalization adds, without its scan.
		// infos are the fields emitted, so the roles hold for them.
		if h, _ := normalizeJSONInfos(ev, n0, sc.infos, &sc.roles, sc.roles.timeIdx, true); h != "" && ev.Host == "" {
			ev.Host = h
		}
	}
	putJSONScratch(sc)
	return err
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
	sc := getJSONScratch()
	err := decodeJSONEvent(line, "", ev, opts, sc)
	putJSONScratch(sc)
	return err
}

// DecodeJSONLine is what the ingest receivers do with one JSON document, in
// one pass over its members' names: DecodeJSONEvent, then (when that
// succeeds) NormalizeJSON of the new fields, then, when ev.Host is still
// empty, ev.Host from the first of the fields host, hostname and host.name
// that is not empty (also after an ErrNoTime). src is "" or string(line):
// a caller that has the line as a string already passes it, and field
// values without escapes are then substrings of it (no copy of the line).
// When the line is not valid JSON, ev is untouched and the error
// (a *JSONError) is returned.
func DecodeJSONLine(line []byte, src string, ev *event.Event, opts JSONEventOptions) error {
	sc := getJSONScratch()
	err := sc.decodeLine(line, src, ev, opts)
	putJSONScratch(sc)
	return err
}

// JSONLineDecoder is DecodeJSONLine with its buffers kept from one line to
// the next instead of taken from a shared pool and given back for each: a
// receiver that decodes the lines of a body in one goroutine keeps one.
// The zero value is ready to use; a JSONLineDecoder must not be used by
// two goroutines at once.
type JSONLineDecoder struct{ d *jsonDecoder }

// Decode is DecodeJSONLine(line, src, ev, opts).
func (j *JSONLineDecoder) Decode(line []byte, src string, ev *event.Event, opts JSONEventOptions) error {
	if j.d == nil {
		j.d = &jsonDecoder{}
	}
	err := j.d.decodeLine(line, src, ev, opts)
	if !j.d.release() {
		j.d = nil // a hostile document: let its buffers go
	}
	return err
}

// decodeLine is DecodeJSONLine with the caller's decoder.
func (sc *jsonDecoder) decodeLine(line []byte, src string, ev *event.Event, opts JSONEventOptions) error {
	n0 := len(ev.Fields)
	err := decodeJSONEvent(line, src, ev, opts, sc)
	general := false
	if err == nil {
		// normalizeJSONInfos is NormalizeJSON(ev, n0) with the names
		// already classified.
		// decodeJSONEvent dropped members, so the time member is looked
		// for again; the ECS names in roles.have still hold unless the
		// caller named the time member (the time, message and metadata
		// names are no ECS names: TestNameInfo).
		_, app := normalizeJSONInfos(ev, n0, sc.infos, &sc.roles, -2, opts.TimeField == "")
		general = !app
	}
	if ev.Host == "" && (err == nil || errors.Is(err, ErrNoTime)) {
		if general {
			ev.Host = hostField(ev) // Windows or CloudTrail: host.name may come from any member
		} else {
			ev.Host = hostOf(ev, n0, sc.infos)
		}
	}
	return err
}

// decodeJSONEvent is DecodeJSONEvent with the caller's scratch; src is as
// for DecodeJSONLine. On return sc.infos describes the names of the fields
// kept, ev.Fields[len before:].
func decodeJSONEvent(line []byte, src string, ev *event.Event, opts JSONEventOptions, sc *jsonDecoder) error {
	// One copy of the line: values without escapes, and Raw when there is
	// no message member, are substrings of it (one allocation per line,
	// not one per member).
	if src == "" || len(src) != len(line) {
		src = string(line)
	}
	n0 := len(ev.Fields)
	fields, err := sc.flatten(line, src, ev.Fields)
	if err != nil {
		sc.infos = sc.infos[:0]
		return err
	}
	infos := sc.infos
	timeIdx, msgIdx := sc.roles.timeIdx, sc.roles.msgIdx
	meta := sc.roles.flags&nameMeta != 0
	if opts.TimeField != "" {
		// Slow path: the time member is named by the caller.
		timeIdx = -1
		for i, f := range fields[n0:] {
			if f.Name == opts.TimeField {
				timeIdx = i
				break
			}
		}
	}
	var timeErr error
	if timeIdx >= 0 {
		if f := &fields[n0+timeIdx]; f.Value == "" {
			timeIdx = -1 // an empty time is no time; keep the member as a field
		} else if ns, ok := ParseTimeValue(f.Value); ok {
			ev.Time = ns
		} else {
			timeErr = fmt.Errorf("%w: %s=%q", ErrNoTime, f.Name, truncate(f.Value, 64))
			timeIdx = -1 // keep it as a field
		}
	}
	if msgIdx >= 0 {
		ev.Raw = fields[n0+msgIdx].Value
	} else {
		ev.Raw = src
	}
	if timeIdx < 0 && msgIdx < 0 && !meta {
		ev.Fields = fields
		return timeErr
	}
	if !meta {
		// Drop the time and message members: one move of the members
		// after them.
		a, b := timeIdx, msgIdx
		if a == b {
			b = -1 // the time member named by TimeField is the message
		} else if a < 0 || (b >= 0 && b < a) {
			a, b = b, a
		}
		// Now a < b, or b < 0 when only a is dropped.
		n := len(infos)
		if b < 0 {
			copy(fields[n0+a:], fields[n0+a+1:n0+n])
			copy(infos[a:], infos[a+1:n])
			n--
		} else {
			// The members between a and b move down one, the ones after
			// b two: each member moves once (the time and message
			// members usually come first, side by side: no first copy).
			if b > a+1 {
				copy(fields[n0+a:], fields[n0+a+1:n0+b])
				copy(infos[a:], infos[a+1:b])
			}
			copy(fields[n0+b-1:], fields[n0+b+1:n0+n])
			copy(infos[b-1:], infos[b+1:n])
			n -= 2
		}
		sc.infos = infos[:n]
		ev.Fields = fields[:n0+n]
		return timeErr
	}
	// Drop the time and message members and move the metadata members
	// into the metadata, keeping infos in step.
	out, k := fields[:n0], 0
	for i, in := range infos {
		if i == timeIdx || i == msgIdx {
			continue
		}
		f := fields[n0+i]
		if in.meta() {
			ev.Set(f.Name, f.Value)
			continue
		}
		out = append(out, f)
		infos[k] = in
		k++
	}
	sc.infos = infos[:k]
	ev.Fields = out
	return timeErr
}

// normalizeJSONInfos is normalizeJSON(ev, from) where infos describes the
// names of ev.Fields[from:] and r what the decoder learned of them:
// application JSON (the common case) is normalized from infos without
// looking names up again and app is true; Windows and CloudTrail
// documents take normalizeJSON's own path (false). host is what
// normalizeJSON returns. timeIdx is the index in infos of the time member
// (-1: none; -2: look for it), and haveOK says whether r.have is the
// union of the ECS bits of infos.
func normalizeJSONInfos(ev *event.Event, from int, infos []nameClass, r *docRoles, timeIdx int, haveOK bool) (host string, app bool) {
	flags := r.flags
	if len(infos) != len(ev.Fields)-from {
		return normalizeJSON(ev, from), false // BUG guard: infos out of step
	}
	if flags&nameWindows != 0 || flags&(nameCTSource|nameCTName) == nameCTSource|nameCTName {
		return normalizeJSON(ev, from), false
	}
	if ev.Time == 0 {
		if timeIdx == -2 {
			timeIdx = -1
			timeRank := int8(len(TimeKeys))
			for i, in := range infos {
				if r := in.timeRank; r >= 0 && r < timeRank {
					timeIdx, timeRank = i, r
				}
			}
		}
		setTimeFrom(ev, from, timeIdx)
	}
	have := r.have
	if !haveOK {
		have = 0
		for _, in := range infos {
			have |= in.ecsBit()
		}
	}
	return normalizeInfos(ev, from, infos, have), true
}

// normalizeInfos is normalize(ev, from, jsonMap) where infos describes the
// names of ev.Fields[from:] (their keys in jsonMap) and have is the union
// of their ECS bits; it returns what normalize returns.
func normalizeInfos(ev *event.Event, from int, infos []nameClass, have uint64) string {
	fm := jsonMap
	fs := ev.Fields
	if from > 0 {
		var pending [pendingCap]uint64
		h, _ := fm.scan(fs[:from], 0, from, &pending, true)
		have |= h
	}
	had := have
	// Appending never changes the fields already in fs.
	out := fs
	ents := fm.ents
	for i, in := range infos {
		if in.mapped() {
			out, have = appendECS(out, ents[in.ecsLo:in.ecsHi], fs[from+i].Value, have)
		}
	}
	ev.Fields = out
	// The host.name added, as normalize finds it.
	if hb := uint64(1) << (fm.hostTarget & 63); fm.hostTarget != noTarget && had&hb == 0 && have&hb != 0 {
		for i := len(fs); i < len(out); i++ {
			if out[i].Name == "host.name" {
				return out[i].Value
			}
		}
	}
	return ""
}

// hostOf returns the first non-empty value of the fields host, hostname and
// host.name of ev (in that order of preference), as ev.Get would find
// them; infos describes the names of ev.Fields[from:len(infos)+from]. The
// fields NormalizeJSON appended after those are not looked at: the only
// host name it adds, host.name, copies host or hostname, which come first.
func hostOf(ev *event.Event, from int, infos []nameClass) string {
	if from > 0 || len(infos) > len(ev.Fields) {
		return hostField(ev) // Slow path: fields before the document's (the receiver's)
	}
	// The first field of each name, as Get finds it.
	var first [4]int
	for i, in := range infos {
		if r := in.hostRank(); r != 0 && first[r] == 0 {
			first[r] = i + 1
		}
	}
	for r := 1; r <= 3; r++ {
		if i := first[r]; i != 0 && ev.Fields[i-1].Value != "" {
			return ev.Fields[i-1].Value
		}
	}
	return ""
}

// hostField is the first non-empty of the fields host, hostname and
// host.name of ev, or "".
func hostField(ev *event.Event) string {
	for _, k := range [...]string{"host", "hostname", "host.name"} {
		if v, ok := ev.Get(k); ok && v != "" {
			return v
		}
	}
	return ""
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
