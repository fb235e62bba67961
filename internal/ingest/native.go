package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/parse"
)

// LineOptions says how DecodeLines turns a body into events.
type LineOptions struct {
	// Meta is copied into every event (Source, Host, Category, Partition).
	Meta event.Event
	// TimeField names the JSON member holding the time (see parse.JSONEventOptions).
	TimeField string
	// Format is "json" (every line is a JSON document), "text" (plain
	// lines) or "" (auto: a line starting with '{' is JSON).
	Format string
	// Parser parses text lines (syslog, CEF, ...); nil means parse.Auto,
	// which recognizes the common formats and keeps unknown text as is.
	Parser parse.Parser
	// MaxLineBytes is the longest line kept; longer lines are rejected with
	// an error (default 1 MiB).
	MaxLineBytes int
	// MaxErrors bounds the error list of the result (default 100); the
	// counts stay exact.
	MaxErrors int
	// Now gives the receive time.
	Now func() int64
	// Budget, when set, is charged for the decoded bytes; when it is
	// exhausted DecodeLines stops with ErrOverloaded.
	Budget *Budget
	// TimeOptions for plain-text timestamps without zone or year.
	TimeOptions parse.TimeOptions
}

// LineError describes one line that was rejected or kept with a parse error.
type LineError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// Result counts what DecodeLines did. Accepted counts stored events
// (including ParseErrors, which are stored raw with _parse_error).
type Result struct {
	Accepted    int         `json:"accepted"`
	Rejected    int         `json:"rejected"`
	ParseErrors int         `json:"parse_errors"`
	Errors      []LineError `json:"errors"`
	// Charged is what was taken from the Budget; give it back with
	// Budget.Release after the events are appended.
	Charged int64 `json:"-"`
}

func (r *Result) addError(max, line int, msg string) {
	if len(r.Errors) < max {
		r.Errors = append(r.Errors, LineError{Line: line, Error: msg})
	}
}

// DecodeLines reads newline-delimited JSON or plain text from rd into
// events. A JSON line that does not parse is kept as a raw event with a
// _parse_error field; an over-long line is rejected with an error; empty
// lines are skipped. A read error (truncated or corrupt compressed body, a
// body over the limit) stops decoding: the events decoded before it are
// returned with the error, so the caller may keep them.
func DecodeLines(rd io.Reader, opts LineOptions) ([]event.Event, Result, error) {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = 1 << 20
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 100
	}
	if opts.Parser == nil { // built once per body, not per line
		opts.Parser = parse.NewAuto(parse.Options{Location: opts.TimeOptions.Location, Now: opts.TimeOptions.Now})
	}
	var res Result
	evs := eventList{size: bodySize(rd)}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(rd)
	defer func() {
		br.Reset(nil) // the pool must not keep the body alive
		readerPool.Put(br)
	}()
	var slab fieldSlab
	var jd parse.JSONLineDecoder // its buffers kept from line to line
	var acc []byte               // a line longer than the read buffer, so far
	overflow := false            // the current line passed MaxLineBytes
	lineNo := 0
	received := opts.Now()
	// reserve is what was taken from the Budget (in res.Charged) and not
	// yet used by a line: the budget is charged in grants, not once per
	// line (an atomic shared by every request).
	var reserve int64
	for {
		chunk, err := br.ReadSlice('\n')
		evs.read += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) {
			if !overflow && len(acc)+len(chunk) <= opts.MaxLineBytes {
				acc = append(acc, chunk...)
			} else {
				overflow, acc = true, acc[:0]
			}
			continue
		}
		line := chunk
		tooLong := overflow
		if len(acc) > 0 {
			line = append(acc, chunk...)
			acc = acc[:0]
		}
		if len(line) > 0 || err == nil {
			lineNo++
		}
		line = trimEOL(line)
		if len(line) > opts.MaxLineBytes {
			tooLong = true
		}
		overflow = false
		switch {
		case tooLong:
			res.Rejected++
			res.addError(opts.MaxErrors, lineNo, fmt.Sprintf("line longer than %d bytes: rejected", opts.MaxLineBytes))
		case isBlank(line):
		default:
			if opts.Budget != nil {
				n := int64(len(line)) + 256
				if n > reserve && !charge(opts.Budget, n, &reserve, &res) {
					opts.Budget.Release(res.Charged)
					res.Charged = 0
					return nil, res, fmt.Errorf("decode line %d: %w", lineNo, ErrOverloaded)
				}
				reserve -= n
			}
			// Decoded in place, in the slot the event keeps.
			ev := evs.next()
			*ev = opts.Meta
			ev.Fields = slab.take(len(opts.Meta.Fields))
			ev.Fields = append(ev.Fields, opts.Meta.Fields...)
			ev.Received = received
			decodeLine(&jd, line, ev, opts, &res, lineNo)
			ev.Fields = slab.keep(ev.Fields)
			res.Accepted++
		}
		if err != nil {
			events := evs.all()
			if err == io.EOF {
				return events, res, nil
			}
			return events, res, err
		}
	}
}

// budgetGrant is the most DecodeLines takes from a Budget at a time for
// the lines to come; the rest of a grant is released with the charge when
// the request ends.
const budgetGrant = 64 << 10

// charge tops *reserve (counted in res.Charged) up to at least n bytes
// from b: a grant of up to budgetGrant when it fits (at most 1/64 of the
// budget, so small budgets are charged line by line as before), else just
// what is missing.
func charge(b *Budget, n int64, reserve *int64, res *Result) bool {
	if g := min(int64(budgetGrant), b.limit/64) - *reserve; g > n && b.TryAcquire(g) {
		*reserve += g
		res.Charged += g
		return true
	}
	need := n - *reserve
	if !b.TryAcquire(need) {
		return false
	}
	*reserve += need
	res.Charged += need
	return true
}

// trimEOL drops the trailing CRs and LFs of line (bytes.TrimRight(line,
// "\r\n") without building a cutset per call).
func trimEOL(line []byte) []byte {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	return line
}

// isBlank reports whether line is empty or only white space; a line that
// starts with a printable ASCII byte is answered without bytes.TrimSpace.
func isBlank(line []byte) bool {
	if len(line) > 0 && line[0] > ' ' && line[0] < utf8.RuneSelf {
		return false
	}
	return len(bytes.TrimSpace(line)) == 0
}

func decodeLine(jd *parse.JSONLineDecoder, line []byte, ev *event.Event, opts LineOptions, res *Result, lineNo int) {
	isJSON := opts.Format == "json" || (opts.Format == "" && len(line) > 0 && (line[0] == '{' || bytes.TrimLeft(line, " \t")[0] == '{'))
	if opts.Format != "text" && isJSON {
		// Decoded, normalized (ECS names beside the original ones) and
		// ev.Host set from the host members, in one pass.
		err := jd.Decode(line, "", ev, parse.JSONEventOptions{TimeField: opts.TimeField})
		switch {
		case err == nil:
		case isJSONError(err):
			ev.Raw = string(line)
			ev.Fields = append(ev.Fields[:0], event.Field{Name: event.FieldParseError, Value: err.Error()})
			res.ParseErrors++
			res.addError(opts.MaxErrors, lineNo, err.Error()+": kept raw")
		default: // the time was not understood: keep the event, note it
			ev.Fields = append(ev.Fields, event.Field{Name: event.FieldParseError, Value: err.Error()})
			res.ParseErrors++
			res.addError(opts.MaxErrors, lineNo, err.Error())
		}
	} else {
		// The receivers' shared text step (decode.go): raw kept byte-exact,
		// _invalid_utf8 marked, the time detected when the parser found none.
		if err := ParseText(opts.Parser, line, ev, opts.TimeOptions); err != nil {
			res.ParseErrors++
			res.addError(opts.MaxErrors, lineNo, fmt.Sprintf("%s: %v: kept raw", opts.Parser.Name(), err))
		}
	}
	if ev.Time == 0 {
		ev.Time = ev.Received
	}
}

// isJSONError reports whether err is a *parse.JSONError (a line that is
// not JSON, as opposed to a time that was not understood). Apart from
// decodeLine so the target of errors.As is allocated only on errors.
func isJSONError(err error) bool {
	var je *parse.JSONError
	return errors.As(err, &je)
}

// fieldSlab hands out field slices carved from large shared arrays, so
// decoding an event does not grow its field slice one allocation at a
// time: take lends a window with spare capacity at the slab's end, and
// keep gives back what the event did not use. An event with more fields
// than its window simply reallocates its own slice.
type fieldSlab struct {
	buf    []event.Field
	window int // the size of the window last taken
}

// fieldWindow is the capacity lent to each event; most log events have
// fewer fields.
const fieldWindow = 32

// take lends a window of at least min fields.
func (s *fieldSlab) take(min int) []event.Field {
	n := max(fieldWindow, min)
	if cap(s.buf)-len(s.buf) < n {
		s.buf = make([]event.Field, 0, max(128*fieldWindow, n))
	}
	s.window = n
	return s.buf[len(s.buf) : len(s.buf) : len(s.buf)+n]
}

// keep ends the loan of the window last taken, whose fields are now fs:
// the used part stays the event's (its capacity cut, so later events
// cannot write into it), the rest goes back to the slab.
func (s *fieldSlab) keep(fs []event.Field) []event.Field {
	at := len(s.buf)
	switch {
	case len(fs) == 0:
		return nil
	case &s.buf[:at+1][at] == &fs[0]:
		s.buf = s.buf[:at+len(fs)]
	default:
		// Reallocated (or resliced: then it may still point into the
		// window, which must not be lent again).
		s.buf = s.buf[:at+s.window]
	}
	return fs[:len(fs):len(fs)]
}

// readerPool holds the 64 KiB line readers of DecodeLines (one per body
// otherwise: a large allocation the runtime must clear).
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// bodySize is the number of bytes rd will yield, or -1 when unknown: the
// Content-Length of an uncompressed request body (OpenBody), or Len of an
// in-memory reader (bytes.Reader, strings.Reader, bytes.Buffer).
func bodySize(rd io.Reader) int64 {
	switch r := rd.(type) {
	case *body:
		return r.size
	case interface{ Len() int }:
		return int64(r.Len())
	}
	return -1
}

// eventList collects decoded events. When the body's size is known, the
// events of its first chunk give the average line length, and one slice
// sized for the whole body (with some slack) holds the rest: no copy at
// the end. Otherwise (or when the estimate falls short) events go into
// chunks, so a body of many events is not copied at every doubling of one
// slice, and all copies them once into a slice of the exact length.
type eventList struct {
	chunks [][]event.Event
	cur    []event.Event
	n      int
	size   int64 // bytes the body holds, -1 when unknown
	read   int64 // bytes of the body read so far
	sized  bool  // cur was sized from the estimate
}

// firstChunk is the capacity of the first chunk, whose lines estimate the
// body's average line length.
const firstChunk = 64

// maxSized bounds the estimated events allocated at once (~2 MiB): the
// size is announced by the client (Content-Length) before the body has
// arrived, so a body of short lines, or a client that stalls, gets chunks
// that grow with what it really sent.
const maxSized = 1 << 14

// next appends a slot for one more event and returns it; the caller fills
// every field of it.
func (l *eventList) next() *event.Event {
	if len(l.cur) == cap(l.cur) {
		l.grow()
	}
	l.cur = l.cur[:len(l.cur)+1]
	l.n++
	return &l.cur[len(l.cur)-1]
}

func (l *eventList) grow() {
	if l.n == firstChunk && len(l.chunks) == 0 && !l.sized && l.size > l.read && l.read > 0 {
		// The estimate: the rest of the body at the average line
		// length so far, plus an eighth and a few lines of slack.
		rest := (l.size - l.read) * int64(l.n) / l.read
		if rest <= maxSized {
			l.sized = true
			n := l.n + int(rest+rest/8) + 16
			cur := make([]event.Event, len(l.cur), n)
			copy(cur, l.cur)
			l.cur = cur
			return
		}
	}
	if len(l.cur) > 0 {
		l.chunks = append(l.chunks, l.cur)
	}
	l.cur = make([]event.Event, 0, min(4096, max(firstChunk, 2*l.n)))
}

func (l *eventList) all() []event.Event {
	if l.n == 0 {
		return nil
	}
	if len(l.chunks) == 0 {
		return l.cur
	}
	out := make([]event.Event, 0, l.n)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return append(out, l.cur...)
}
