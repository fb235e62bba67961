package esbulk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/httprecv"
	"github.com/mamori/mamori/internal/parse"
)

// fieldIndex keeps the index (or data stream) a document was sent to.
const fieldIndex = "es.index"

// item is the outcome of one bulk action, in request order.
type item struct {
	action string // "index", "create", "update", "delete" or "" (unreadable)
	index  string
	id     string
	status int    // 201 created, or a 4xx
	errMsg string // when status is not 201
	event  int    // index into the events, -1 when none
}

// decoder turns a bulk body into events and items.
type decoder struct {
	defaultIndex string
	opts         parse.JSONEventOptions
	maxDoc       int
	received     int64
	budget       *ingest.Budget
	charged      int64
	bytes        int
}

var idSeq atomic.Uint64

// decode reads action/document line pairs. Malformed lines become failed
// items and decoding goes on; it stops only at a body read error (too
// large, bad compression) or when the budget is exhausted, returning what
// it decoded so far with the error.
func (d *decoder) decode(body io.Reader) ([]event.Event, []item, error) {
	var events []event.Event
	var items []item
	var pending *item // an action waiting for its document line
	err := httprecv.Lines(body, d.maxDoc, func(n int, line []byte, tooLong error) error {
		d.bytes += len(line) + 1
		if pending == nil {
			if len(bytes.TrimSpace(line)) == 0 {
				return nil
			}
			it := d.action(line)
			if it.status != 0 || it.action == "delete" {
				items = append(items, it)
				return nil
			}
			pending = &it
			return nil
		}
		it := *pending
		pending = nil
		switch {
		case it.action == "update":
			it.status, it.errMsg = 400, "update is not supported: events are append-only"
		case tooLong != nil:
			it.status, it.errMsg = 413, tooLong.Error()
		default:
			if d.budget != nil {
				if !d.budget.TryAcquire(int64(len(line))) {
					return fmt.Errorf("bulk: %w: ingest memory budget exhausted", ingest.ErrOverloaded)
				}
				d.charged += int64(len(line))
			}
			events = append(events, d.document(line, it.index))
			it.status, it.event = 201, len(events)-1
		}
		items = append(items, it)
		return nil
	})
	if err == nil && pending != nil {
		it := *pending
		it.status, it.errMsg = 400, "action without a document line"
		items = append(items, it)
	}
	return events, items, err
}

// action reads an action line such as {"index":{"_index":"x","_id":"1"}}.
func (d *decoder) action(line []byte) item {
	it := item{index: d.defaultIndex, event: -1}
	name, ok := firstKey(line)
	fields, err := parse.FlattenJSON(line, nil)
	if !ok || err != nil {
		it.status, it.errMsg = 400, "malformed action/metadata line: "+errText(err, "want {\"index\":{...}}")
		return it
	}
	it.action = name
	switch name {
	case "index", "create", "update", "delete":
	default:
		it.status, it.errMsg = 400, "unknown action "+strconv.Quote(name)
		return it
	}
	for _, f := range fields {
		switch f.Name {
		case name + "._index":
			it.index = f.Value
		case name + "._id":
			it.id = f.Value
		}
	}
	if it.id == "" {
		it.id = "m" + strconv.FormatUint(idSeq.Add(1), 36)
	}
	if it.action == "delete" {
		it.status, it.errMsg = 400, "delete is not supported: events are append-only"
	}
	return it
}

func errText(err error, def string) string {
	if err != nil {
		return err.Error()
	}
	return def
}

// firstKey returns the first member name of a JSON object line.
func firstKey(line []byte) (string, bool) {
	i := 0
	skip := func() {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
			i++
		}
	}
	skip()
	if i >= len(line) || line[i] != '{' {
		return "", false
	}
	i++
	skip()
	if i >= len(line) || line[i] != '"' {
		return "", false
	}
	j := bytes.IndexByte(line[i+1:], '"')
	if j < 0 {
		return "", false
	}
	return string(line[i+1 : i+1+j]), true
}

// document turns one document line into an event. A line that is not a
// JSON object is kept raw with a parse error.
func (d *decoder) document(line []byte, index string) event.Event {
	ev := event.Event{Received: d.received}
	// Decoded and normalized as the native API does (ECS names beside
	// the shipper's); the host is picked below, Beats' names first.
	if err := ingest.DecodeJSON(line, &ev, d.opts); err != nil && !errors.Is(err, parse.ErrNoTime) {
		ev = event.Event{Received: d.received, Raw: string(line)}
		ev.Fields = append(ev.Fields, event.Field{Name: event.FieldParseError, Value: err.Error()})
	}
	if ev.Time == 0 {
		ev.Time = d.received
	}
	if ev.Host == "" {
		ev.Host = firstField(ev.Fields, "host.name", "host.hostname", "agent.hostname", "hostname", "host")
	}
	if index != "" {
		ev.Fields = append(ev.Fields, event.Field{Name: fieldIndex, Value: index})
	}
	return ev
}

func firstField(fields []event.Field, names ...string) string {
	for _, name := range names {
		for i := range fields {
			if fields[i].Name == name {
				return fields[i].Value
			}
		}
	}
	return ""
}

// appendResponse appends the _bulk response for items.
func appendResponse(dst []byte, items []item, tookMs int64) []byte {
	errs := false
	for _, it := range items {
		if it.status >= 300 {
			errs = true
		}
	}
	dst = append(dst, `{"took":`...)
	dst = strconv.AppendInt(dst, tookMs, 10)
	dst = append(dst, `,"errors":`...)
	dst = strconv.AppendBool(dst, errs)
	dst = append(dst, `,"items":[`...)
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		action := it.action
		if action == "" || (action != "create" && action != "update" && action != "delete") {
			action = "index"
		}
		dst = append(dst, '{')
		dst = appendJSONString(dst, action)
		dst = append(dst, `:{"_index":`...)
		dst = appendJSONString(dst, it.index)
		dst = append(dst, `,"_id":`...)
		dst = appendJSONString(dst, it.id)
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(it.status), 10)
		if it.status < 300 {
			dst = append(dst, `,"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1}}`...)
			continue
		}
		dst = append(dst, `,"error":{"type":`...)
		dst = appendJSONString(dst, errorType(it.status))
		dst = append(dst, `,"reason":`...)
		dst = appendJSONString(dst, it.errMsg)
		dst = append(dst, `}}}`...)
	}
	return append(dst, "]}\n"...)
}

func errorType(status int) string {
	switch status {
	case 413:
		return "document_too_large_exception"
	case 429:
		return "es_rejected_execution_exception"
	}
	return "illegal_argument_exception"
}
