package hec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/httprecv"
	"github.com/mamori/mamori/internal/parse"
)

// Options configures a Receiver. The zero value serves the standard paths,
// takes each event's source from its sourcetype (else "hec") and limits
// bodies to ingest.BodyLimits' defaults.
type Options struct {
	// Disabled makes Register add no routes.
	Disabled bool
	// Source, when set, is the source of every event; a source-bound
	// token overrides it.
	Source string
	// Category is the category of the events.
	Category string
	// Limits bound the request body.
	Limits ingest.BodyLimits
	// MaxLineBytes bounds a line of /raw; default 1 MiB.
	MaxLineBytes int
	// Budget, when set, is charged for decoded bodies until they are
	// appended; when exhausted the request is refused with 503.
	Budget *ingest.Budget
	// Location is the zone of raw timestamps that carry none; nil is UTC.
	Location *time.Location
	// Metrics receives the counts (receiver "hec"); nil discards them.
	Metrics *ingest.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Receiver serves the Splunk HEC API. It implements ingest.HTTPReceiver.
type Receiver struct {
	opts  Options
	sink  ingest.Sink
	auth  ingest.Authenticator
	log   *slog.Logger
	ackID atomic.Int64
	text  parse.Parser      // parse.Auto for text events and /raw lines
	topts parse.TimeOptions // zone of text timestamps without one
}

// New returns a receiver that appends to sink and checks tokens with auth.
func New(sink ingest.Sink, auth ingest.Authenticator, opts Options) (*Receiver, error) {
	if sink == nil || auth == nil {
		return nil, errors.New("hec: a sink and an authenticator are required")
	}
	if opts.MaxLineBytes < 0 {
		return nil, errors.New("hec: negative MaxLineBytes")
	}
	if opts.MaxLineBytes == 0 {
		opts.MaxLineBytes = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	topts := parse.TimeOptions{Location: opts.Location}
	return &Receiver{opts: opts, sink: sink, auth: auth, log: opts.Logger,
		text: ingest.TextParser(nil, topts), topts: topts}, nil
}

// Name implements ingest.HTTPReceiver.
func (r *Receiver) Name() string { return "hec" }

// Register implements ingest.HTTPReceiver.
func (r *Receiver) Register(mux *http.ServeMux) {
	if r.opts.Disabled {
		return
	}
	for _, p := range []string{"/services/collector", "/services/collector/event", "/services/collector/event/1.0"} {
		mux.HandleFunc("POST "+p, r.event)
	}
	for _, p := range []string{"/services/collector/raw", "/services/collector/raw/1.0"} {
		mux.HandleFunc("POST "+p, r.raw)
	}
	for _, p := range []string{"/services/collector/health", "/services/collector/health/1.0"} {
		mux.HandleFunc("GET "+p, r.health)
	}
	mux.HandleFunc("POST /services/collector/ack", r.ack)
}

// reply writes a Splunk-shaped answer.
func reply(w http.ResponseWriter, status, code int, text string, extra ...any) {
	httprecv.SetRetryAfter(w, status)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b := []byte(`{"text":`)
	b = strconv.AppendQuoteToASCII(b, text)
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	for i := 0; i+1 < len(extra); i += 2 {
		b = append(b, ',')
		b = strconv.AppendQuote(b, extra[i].(string))
		b = append(b, ':')
		b = strconv.AppendInt(b, extra[i+1].(int64), 10)
	}
	_, _ = w.Write(append(b, "}\n"...)) // #nosec G705 -- a JSON body with Content-Type application/json; every string is JSON-escaped (a failed write means the client left)
}

// fail answers err with Splunk's status codes.
func (r *Receiver) fail(w http.ResponseWriter, err error) {
	switch status := httprecv.Status(err); status {
	case http.StatusUnauthorized:
		if errors.Is(err, errNoToken) {
			reply(w, status, 2, "Token is required")
		} else {
			reply(w, 403, 4, "Invalid token")
		}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		reply(w, http.StatusServiceUnavailable, 9, "Server is busy")
	case http.StatusRequestEntityTooLarge:
		reply(w, status, 6, "Invalid data format: "+err.Error())
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		reply(w, status, 6, "Invalid data format: "+err.Error())
	default:
		r.log.Error("hec request failed", "err", err)
		reply(w, http.StatusInternalServerError, 8, "Internal server error")
	}
}

var errNoToken = fmt.Errorf("no token: %w", ingest.ErrUnauthorized)

func (r *Receiver) authenticate(req *http.Request) (ingest.Principal, error) {
	secret := httprecv.Credential(req)
	if secret == "" {
		return ingest.Principal{}, errNoToken
	}
	return httprecv.Authenticate(req.Context(), r.auth, secret)
}

func (r *Receiver) health(w http.ResponseWriter, req *http.Request) {
	reply(w, http.StatusOK, 17, "HEC is healthy")
}

// ack reports every acknowledgement id as indexed: ids are only handed out
// after the events were durable.
func (r *Receiver) ack(w http.ResponseWriter, req *http.Request) {
	if _, err := r.authenticate(req); err != nil {
		r.fail(w, err)
		return
	}
	var in struct {
		Acks []int64 `json:"acks"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&in); err != nil {
		reply(w, http.StatusBadRequest, 6, "Invalid data format")
		return
	}
	out := struct {
		Acks map[string]bool `json:"acks"`
	}{Acks: make(map[string]bool, len(in.Acks))}
	for _, id := range in.Acks {
		out.Acks[strconv.FormatInt(id, 10)] = id > 0 && id <= r.ackID.Load()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out) // a failed write means the client left
}

// readBody reads the whole decompressed body within the limits and charges
// the budget; release gives the charge back.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) (body []byte, release func(), err error) {
	rc, err := ingest.OpenBody(w, req, r.opts.Limits)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	body, err = io.ReadAll(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	release = func() {}
	if b := r.opts.Budget; b != nil {
		n := int64(len(body))
		if !b.TryAcquire(n) {
			return nil, nil, fmt.Errorf("hec: %w: ingest memory budget exhausted", ingest.ErrOverloaded)
		}
		release = func() { b.Release(n) }
	}
	return body, release, nil
}

func (r *Receiver) event(w http.ResponseWriter, req *http.Request) {
	p, err := r.authenticate(req)
	if err != nil {
		r.fail(w, err)
		return
	}
	body, release, err := r.readBody(w, req)
	if err != nil {
		r.count(p, "", 0, 1, 0)
		r.fail(w, err)
		return
	}
	defer release()
	now := r.opts.Now().UnixNano()
	var events []event.Event
	bad := 0
	for i := 0; i < len(body); {
		start, end, err := nextObject(body, i)
		if err != nil {
			// Bytes between objects: keep them, they may be someone's data.
			if junk := bytes.TrimSpace(body[i:start]); len(junk) > 0 {
				events = append(events, badEvent(junk, now, err))
			}
			bad++
			if start == i {
				start = len(body)
			}
			i = start
			continue
		}
		if start == end {
			break
		}
		ev, err := decodeEnvelope(body[start:end], now, r.text, r.topts)
		if err != nil {
			bad++
		}
		events = append(events, ev)
		i = end
	}
	if len(events) == 0 {
		reply(w, http.StatusBadRequest, 5, "No data")
		return
	}
	if bad > 0 {
		r.log.Debug("hec events kept raw with a parse error", "count", bad, "remote_addr", req.RemoteAddr)
	}
	r.appendAndReply(w, req, p, events, len(body))
}

func (r *Receiver) raw(w http.ResponseWriter, req *http.Request) {
	p, err := r.authenticate(req)
	if err != nil {
		r.fail(w, err)
		return
	}
	rc, err := ingest.OpenBody(w, req, r.opts.Limits)
	if err != nil {
		r.count(p, "", 0, 1, 0)
		r.fail(w, err)
		return
	}
	defer rc.Close()
	q := req.URL.Query()
	now := r.opts.Now().UnixNano()
	host := q.Get("host")
	var events []event.Event
	n := 0
	var charged int64
	err = httprecv.Lines(rc, r.opts.MaxLineBytes, func(_ int, line []byte, tooLong error) error {
		n += len(line) + 1
		if len(bytes.TrimSpace(line)) == 0 {
			return nil
		}
		if b := r.opts.Budget; b != nil {
			if !b.TryAcquire(int64(len(line))) {
				return fmt.Errorf("hec: %w: ingest memory budget exhausted", ingest.ErrOverloaded)
			}
			charged += int64(len(line))
		}
		// Parsed as the native API parses a text line (parse.Auto:
		// syslog, CEF, LEEF, access logs...); a line that does not parse
		// is kept raw with _parse_error. The query's host wins over the
		// line's.
		ev := event.Event{Received: now, Source: q.Get("sourcetype")}
		ingest.ParseText(r.text, line, &ev, r.topts)
		if ev.Time <= 0 {
			ev.Time = now
		}
		if host != "" {
			ev.Host = host
		}
		for _, kv := range [][2]string{{fieldSplunkSource, "source"}, {fieldSplunkSourcetype, "sourcetype"}, {fieldSplunkIndex, "index"}} {
			if v := q.Get(kv[1]); v != "" {
				ev.Fields = append(ev.Fields, event.Field{Name: kv[0], Value: v})
			}
		}
		if tooLong != nil {
			ev.Fields = append(ev.Fields, event.Field{Name: "hec.truncated", Value: "true"})
		}
		events = append(events, ev)
		return nil
	})
	if r.opts.Budget != nil {
		defer r.opts.Budget.Release(charged)
	}
	if err != nil {
		r.count(p, "", 0, len(events)+1, n)
		r.fail(w, err)
		return
	}
	if len(events) == 0 {
		reply(w, http.StatusBadRequest, 5, "No data")
		return
	}
	r.appendAndReply(w, req, p, events, n)
}

// appendAndReply labels the events, appends them and answers.
func (r *Receiver) appendAndReply(w http.ResponseWriter, req *http.Request, p ingest.Principal, events []event.Event, bytes int) {
	for i := range events {
		ev := &events[i]
		switch {
		case p.Source != "":
			ev.Source = p.Source
		case r.opts.Source != "":
			ev.Source = r.opts.Source
		case ev.Source == "":
			ev.Source = "hec"
		}
		if ev.Category == "" {
			ev.Category = r.opts.Category
		}
	}
	source := events[0].Source
	if err := r.sink.Append(req.Context(), events); err != nil {
		r.count(p, source, 0, len(events), bytes)
		r.fail(w, err)
		return
	}
	r.count(p, source, len(events), 0, bytes)
	if req.Header.Get("X-Splunk-Request-Channel") != "" || req.URL.Query().Get("channel") != "" {
		reply(w, http.StatusOK, 0, "Success", "ackId", r.ackID.Add(1))
		return
	}
	reply(w, http.StatusOK, 0, "Success")
}

// count adds to the metrics under the request's main source.
func (r *Receiver) count(p ingest.Principal, source string, received, rejected, bytes int) {
	switch {
	case p.Source != "":
		source = p.Source
	case r.opts.Source != "":
		source = r.opts.Source
	case source == "":
		source = "hec"
	}
	r.opts.Metrics.Add("hec", source, received, rejected, bytes)
}
