package esbulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/httprecv"
	"github.com/mamori/mamori/internal/parse"
)

// Options configures a Receiver. The zero value serves under /es and at
// POST /_bulk, reports Elasticsearch 8.17.0, and takes the source of each
// document from its agent.type (Beats) or else its index.
type Options struct {
	// Disabled makes Register add no routes.
	Disabled bool
	// Prefix is the path the shipper's URL ends with; default "/es".
	Prefix string
	// NoRootBulk stops answering POST /_bulk at the root.
	NoRootBulk bool
	// Version is the Elasticsearch version reported by GET /; Beats and
	// Logstash refuse a server older than themselves. Default "8.17.0".
	Version string
	// Source, when set, is the source of every event; a source-bound
	// token overrides it.
	Source string
	// Category is the category of the events.
	Category string
	// TimeField names the document member with the event time; default
	// @timestamp and the other usual names (see parse.JSONEventOptions).
	TimeField string
	// Limits bound the request body.
	Limits ingest.BodyLimits
	// MaxDocBytes is the largest document line; larger ones fail with 413
	// in their item. Default 8 MiB.
	MaxDocBytes int
	// Budget, when set, is charged for decoded documents until they are
	// appended; when exhausted the request is refused with 429.
	Budget *ingest.Budget
	// Metrics receives the counts (receiver "esbulk"); nil discards them.
	Metrics *ingest.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Validate reports problems of the options.
func (o Options) Validate() error {
	var errs []error
	if o.Prefix != "" && (!strings.HasPrefix(o.Prefix, "/") || strings.HasSuffix(o.Prefix, "/") || strings.ContainsAny(o.Prefix, "{} ")) {
		errs = append(errs, errors.New(`esbulk prefix: want a path like "/es"`))
	}
	if o.MaxDocBytes < 0 {
		errs = append(errs, errors.New("esbulk: negative MaxDocBytes"))
	}
	return errors.Join(errs...)
}

// Receiver serves the Elasticsearch-compatible API. It implements
// ingest.HTTPReceiver.
type Receiver struct {
	opts Options
	sink ingest.Sink
	auth ingest.Authenticator
	log  *slog.Logger
	root []byte // the GET / answer
}

// New returns a receiver that appends to sink and checks credentials with auth.
func New(sink ingest.Sink, auth ingest.Authenticator, opts Options) (*Receiver, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if sink == nil || auth == nil {
		return nil, errors.New("esbulk: a sink and an authenticator are required")
	}
	if opts.Prefix == "" {
		opts.Prefix = "/es"
	}
	if opts.Version == "" {
		opts.Version = "8.17.0"
	}
	if opts.MaxDocBytes == 0 {
		opts.MaxDocBytes = 8 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Receiver{opts: opts, sink: sink, auth: auth, log: opts.Logger}
	r.root = []byte(`{"name":"mamori","cluster_name":"mamori","cluster_uuid":"bWFtb3JpLW1hbW9yaQ","version":{"number":` +
		strconv.Quote(opts.Version) + `,"build_flavor":"default","build_type":"docker","build_hash":"mamori","build_date":"2026-01-01T00:00:00.000Z","build_snapshot":false,"lucene_version":"9.12.0","minimum_wire_compatibility_version":"7.17.0","minimum_index_compatibility_version":"7.0.0"},"tagline":"You Know, for Search"}` + "\n")
	return r, nil
}

// Name implements ingest.HTTPReceiver.
func (r *Receiver) Name() string { return "esbulk" }

// Register implements ingest.HTTPReceiver.
func (r *Receiver) Register(mux *http.ServeMux) {
	if r.opts.Disabled {
		return
	}
	p := r.opts.Prefix
	handle := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, r.wrap(h)) }
	for _, m := range []string{"POST", "PUT"} {
		handle(m+" "+p+"/_bulk", r.bulk)
		handle(m+" "+p+"/{index}/_bulk", r.bulk)
		handle(m+" "+p+"/{index}/_doc", r.doc)
		handle(m+" "+p+"/{index}/_doc/{id}", r.doc)
		handle(m+" "+p+"/{index}/_create/{id}", r.doc)
		if !r.opts.NoRootBulk {
			handle(m+" /_bulk", r.bulk)
		}
	}
	handle("GET "+p+"/{$}", r.handshake)
	handle("GET "+p, r.handshake)
	handle("GET "+p+"/_license", r.static(`{"license":{"status":"active","uid":"mamori","type":"basic","issue_date_in_millis":0,"max_nodes":1000}}`))
	handle("GET "+p+"/_xpack", r.static(`{"build":{"hash":"mamori"},"license":{"uid":"mamori","type":"basic","mode":"basic","status":"active"},"features":{"ilm":{"available":true,"enabled":true},"security":{"available":true,"enabled":true}}}`))
	handle("GET "+p+"/_cluster/health", r.static(`{"cluster_name":"mamori","status":"green","timed_out":false,"number_of_nodes":1,"number_of_data_nodes":1,"active_primary_shards":1,"active_shards":1,"relocating_shards":0,"initializing_shards":0,"unassigned_shards":0}`))
	handle("GET "+p+"/_cluster/health/{index...}", r.static(`{"cluster_name":"mamori","status":"green","timed_out":false}`))
	handle("GET "+p+"/_nodes/{rest...}", r.static(`{"_nodes":{"total":1,"successful":1,"failed":0},"cluster_name":"mamori","nodes":{}}`))
	// Template, ILM, pipeline and data stream probes: say that everything
	// exists and every change is acknowledged, so shippers go on to _bulk.
	handle(p+"/", r.probe)
}

// wrap sets the product header every response needs and checks the
// credential.
func (r *Receiver) wrap(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		p, err := httprecv.Authenticate(req.Context(), r.auth, httprecv.Credential(req))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="mamori", ApiKey`)
			r.fail(w, err)
			return
		}
		h(w, req.WithContext(withPrincipal(req.Context(), p)))
	})
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p ingest.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

func principalOf(ctx context.Context) ingest.Principal {
	p, _ := ctx.Value(principalKey{}).(ingest.Principal)
	return p
}

func (r *Receiver) handshake(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(r.root) // a failed write means the client left
}

func (r *Receiver) static(body string) http.HandlerFunc {
	b := []byte(body + "\n")
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b) // a failed write means the client left
	}
}

func (r *Receiver) probe(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		_, _ = w.Write([]byte("{}\n")) // a failed write means the client left
	default:
		_, _ = w.Write([]byte(`{"acknowledged":true}` + "\n"))
	}
}

// fail answers a whole-request error in the Elasticsearch error shape.
func (r *Receiver) fail(w http.ResponseWriter, err error) {
	status := httprecv.Status(err)
	httprecv.SetRetryAfter(w, status)
	typ := "illegal_argument_exception"
	switch status {
	case http.StatusUnauthorized:
		typ = "security_exception"
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		typ = "es_rejected_execution_exception"
	case http.StatusRequestEntityTooLarge:
		typ = "content_too_long_exception"
	case http.StatusInternalServerError:
		typ = "exception"
		r.log.Error("esbulk request failed", "err", err)
	}
	b := append([]byte(`{"error":{"root_cause":[{"type":"`+typ+`","reason":`), nil...)
	b = appendJSONString(b, err.Error())
	b = append(b, `}],"type":"`+typ+`","reason":`...)
	b = appendJSONString(b, err.Error())
	b = append(b, `},"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b) // a failed write means the client left
}

func (r *Receiver) bulk(w http.ResponseWriter, req *http.Request) {
	r.serve(w, req, false)
}

func (r *Receiver) doc(w http.ResponseWriter, req *http.Request) {
	r.serve(w, req, true)
}

// serve decodes a bulk body (or, for single, one document), appends the
// events and answers after the sink returned.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request, single bool) {
	start := r.opts.Now()
	body, err := ingest.OpenBody(w, req, r.opts.Limits)
	if err != nil {
		r.opts.Metrics.Add("esbulk", r.sourceName(principalOf(req.Context()), nil), 0, 1, 0)
		r.fail(w, err)
		return
	}
	defer body.Close()
	d := &decoder{
		defaultIndex: req.PathValue("index"),
		opts:         parse.JSONEventOptions{TimeField: r.opts.TimeField},
		maxDoc:       r.opts.MaxDocBytes,
		received:     start.UnixNano(),
		budget:       r.opts.Budget,
	}
	var events []event.Event
	var items []item
	if single {
		events, items, err = d.single(body, req)
	} else {
		events, items, err = d.decode(body)
	}
	if d.budget != nil {
		defer d.budget.Release(d.charged)
	}
	p := principalOf(req.Context())
	if err == nil {
		r.label(events, p)
		err = r.sink.Append(req.Context(), events)
	}
	if err != nil {
		r.count(events, p, false, d.bytes)
		r.fail(w, err)
		return
	}
	r.count(events, p, true, d.bytes)
	w.Header().Set("Content-Type", "application/json")
	if single {
		if len(items) == 1 && items[0].status >= 300 {
			r.fail(w, errors.New(items[0].errMsg))
			return
		}
		w.WriteHeader(http.StatusCreated)
		out := []byte(`{"_index":`)
		out = appendJSONString(out, items[0].index)
		out = append(out, `,"_id":`...)
		out = appendJSONString(out, items[0].id)
		_, _ = w.Write(append(out, `,"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1}`+"\n"...))
		return
	}
	_, _ = w.Write(appendResponse(nil, items, r.opts.Now().Sub(start).Milliseconds())) // a failed write means the client left
}

// single reads the body of POST {index}/_doc as one document.
func (d *decoder) single(body io.Reader, req *http.Request) ([]event.Event, []item, error) {
	var line []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		line = append(line, buf[:n]...)
		if len(line) > d.maxDoc {
			return nil, nil, errTooLarge(d.maxDoc)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, err
		}
	}
	d.bytes = len(line)
	id := req.PathValue("id")
	if id == "" {
		id = "m" + strconv.FormatUint(idSeq.Add(1), 36)
	}
	it := item{action: "index", index: d.defaultIndex, id: id, status: 201}
	ev := d.document(compactLines(line), d.defaultIndex)
	return []event.Event{ev}, []item{it}, nil
}

func errTooLarge(limit int) error {
	return fmt.Errorf("%w: document over %d bytes", ingest.ErrTooLarge, limit)
}

// compactLines joins a pretty-printed document onto one line (JSON allows
// the newlines FlattenJSON skips anyway; this only trims the end).
func compactLines(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// label sets the source, category and forced source of the events.
func (r *Receiver) label(events []event.Event, p ingest.Principal) {
	for i := range events {
		ev := &events[i]
		ev.Source = r.sourceName(p, ev)
		if ev.Category == "" {
			ev.Category = r.opts.Category
		}
	}
}

// sourceName picks an event's source: the token's bound source, the
// configured one, the shipper named in the document, the index, or
// "elasticsearch".
func (r *Receiver) sourceName(p ingest.Principal, ev *event.Event) string {
	switch {
	case p.Source != "":
		return p.Source
	case r.opts.Source != "":
		return r.opts.Source
	case ev == nil:
		return "elasticsearch"
	case ev.Source != "":
		return ev.Source
	}
	if s := firstField(ev.Fields, "agent.type"); s != "" {
		return s
	}
	if s := firstField(ev.Fields, fieldIndex); s != "" {
		return s
	}
	return "elasticsearch"
}

// count adds the events to the metrics by source.
func (r *Receiver) count(events []event.Event, p ingest.Principal, ok bool, bytes int) {
	if r.opts.Metrics == nil {
		return
	}
	if len(events) == 0 {
		r.opts.Metrics.Add("esbulk", r.sourceName(p, nil), 0, 0, bytes)
		return
	}
	// Runs of one source are the common case: one Add per run.
	start := 0
	for i := 1; i <= len(events); i++ {
		if i < len(events) && events[i].Source == events[start].Source {
			continue
		}
		n := i - start
		b := 0
		if start == 0 {
			b = bytes
		}
		if ok {
			r.opts.Metrics.Add("esbulk", events[start].Source, n, 0, b)
		} else {
			r.opts.Metrics.Add("esbulk", events[start].Source, 0, n, b)
		}
		start = i
	}
}
