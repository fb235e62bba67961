package sumo

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/httprecv"
	"github.com/mamori/mamori/internal/parse"
)

// FieldSourceName keeps X-Sumo-Name (Sumo's _sourceName, often a path).
const FieldSourceName = "sumo.source_name"

// maxHeaderFields bounds X-Sumo-Fields.
const maxHeaderFields = 64

// Options configures a Receiver. The zero value gives events the source
// "sumo" and limits bodies to ingest.BodyLimits' defaults.
type Options struct {
	// Disabled makes Register add no routes.
	Disabled bool
	// Source is the source of the events; default "sumo". A source-bound
	// token overrides it.
	Source string
	// Limits bound the request body.
	Limits ingest.BodyLimits
	// MaxLineBytes bounds a line; longer ones are rejected. Default 1 MiB.
	MaxLineBytes int
	// Budget, when set, is charged for decoded lines until they are
	// appended; when exhausted the request is refused with 429.
	Budget *ingest.Budget
	// Location is the zone of timestamps without one; nil means UTC.
	Location *time.Location
	// Metrics receives the counts (receiver "sumo"); nil discards them.
	Metrics *ingest.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Receiver serves the Sumo Logic HTTP source API. It implements
// ingest.HTTPReceiver.
type Receiver struct {
	opts Options
	sink ingest.Sink
	auth ingest.Authenticator
	log  *slog.Logger
}

// New returns a receiver that appends to sink and checks URL tokens with auth.
func New(sink ingest.Sink, auth ingest.Authenticator, opts Options) (*Receiver, error) {
	if sink == nil || auth == nil {
		return nil, errors.New("sumo: a sink and an authenticator are required")
	}
	if opts.MaxLineBytes < 0 {
		return nil, errors.New("sumo: negative MaxLineBytes")
	}
	if opts.Source == "" {
		opts.Source = "sumo"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Receiver{opts: opts, sink: sink, auth: auth, log: opts.Logger}, nil
}

// Name implements ingest.HTTPReceiver.
func (r *Receiver) Name() string { return "sumo" }

// Register implements ingest.HTTPReceiver.
func (r *Receiver) Register(mux *http.ServeMux) {
	if r.opts.Disabled {
		return
	}
	mux.HandleFunc("POST /receiver/v1/http/{token}", r.serve)
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	p, err := httprecv.Authenticate(req.Context(), r.auth, req.PathValue("token"))
	if err != nil {
		r.fail(w, err)
		return
	}
	source := r.opts.Source
	if p.Source != "" {
		source = p.Source
	}
	body, err := ingest.OpenBody(w, req, r.opts.Limits)
	if err != nil {
		r.opts.Metrics.Add("sumo", source, 0, 1, 0)
		r.fail(w, err)
		return
	}
	defer body.Close()
	extra, err := headerFields(req.Header.Get("X-Sumo-Fields"))
	if err != nil {
		r.fail(w, err)
		return
	}
	if name := req.Header.Get("X-Sumo-Name"); name != "" {
		extra = append(extra, event.Field{Name: FieldSourceName, Value: name})
	}
	cb := &countingReader{r: body}
	events, res, err := ingest.DecodeLines(cb, ingest.LineOptions{
		Meta:         event.Event{Source: source, Host: req.Header.Get("X-Sumo-Host"), Category: req.Header.Get("X-Sumo-Category")},
		MaxLineBytes: r.opts.MaxLineBytes,
		Now:          func() int64 { return r.opts.Now().UnixNano() },
		Budget:       r.opts.Budget,
		TimeOptions:  parse.TimeOptions{Location: r.opts.Location},
	})
	if r.opts.Budget != nil {
		defer r.opts.Budget.Release(res.Charged)
	}
	if err == nil && len(extra) > 0 {
		for i := range events {
			events[i].Fields = append(events[i].Fields, extra...)
		}
	}
	if err == nil && len(events) > 0 {
		err = r.sink.Append(req.Context(), events)
	}
	if err != nil {
		r.opts.Metrics.Add("sumo", source, 0, len(events)+res.Rejected, cb.n)
		r.fail(w, err)
		return
	}
	r.opts.Metrics.Add("sumo", source, len(events), res.Rejected, cb.n)
	w.WriteHeader(http.StatusOK)
}

func (r *Receiver) fail(w http.ResponseWriter, err error) {
	status := httprecv.Status(err)
	if status == http.StatusInternalServerError {
		r.log.Error("sumo request failed", "err", err)
	}
	httprecv.SetRetryAfter(w, status)
	http.Error(w, err.Error(), status)
}

// headerFields parses X-Sumo-Fields: "name=value,name2=value2".
func headerFields(h string) ([]event.Field, error) {
	if strings.TrimSpace(h) == "" {
		return nil, nil
	}
	var out []event.Field
	for part := range strings.SplitSeq(h, ",") {
		name, value, ok := strings.Cut(part, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || event.IsMeta(name) {
			return nil, fmt.Errorf("X-Sumo-Fields: %w: want name=value pairs, got %q", httprecv.ErrInvalid, part)
		}
		if len(out) == maxHeaderFields {
			return nil, fmt.Errorf("X-Sumo-Fields: %w: more than %d fields", httprecv.ErrInvalid, maxHeaderFields)
		}
		out = append(out, event.Field{Name: name, Value: value})
	}
	return out, nil
}

// countingReader counts the decoded bytes for the metrics.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
