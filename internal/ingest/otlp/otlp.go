package otlp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/httprecv"
	"github.com/mamori/mamori/internal/ingest/pb"
)

// Options configures a Receiver. The zero value takes sources from
// service.name (else "otlp") and limits bodies to ingest.BodyLimits' defaults.
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
	// Budget, when set, is charged for decoded bodies until they are
	// appended; when exhausted the request is refused with 429.
	Budget *ingest.Budget
	// Metrics receives the counts (receiver "otlp"); nil discards them.
	Metrics *ingest.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Receiver serves OTLP/HTTP logs. It implements ingest.HTTPReceiver.
type Receiver struct {
	opts Options
	sink ingest.Sink
	auth ingest.Authenticator
	log  *slog.Logger
}

// New returns a receiver that appends to sink and checks credentials with auth.
func New(sink ingest.Sink, auth ingest.Authenticator, opts Options) (*Receiver, error) {
	if sink == nil || auth == nil {
		return nil, errors.New("otlp: a sink and an authenticator are required")
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
func (r *Receiver) Name() string { return "otlp" }

// Register implements ingest.HTTPReceiver.
func (r *Receiver) Register(mux *http.ServeMux) {
	if r.opts.Disabled {
		return
	}
	mux.HandleFunc("POST /v1/logs", r.export)
	mux.HandleFunc("POST "+GRPCPath, r.grpcExport)
}

func (r *Receiver) export(w http.ResponseWriter, req *http.Request) {
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	asJSON := ct == "application/json"
	if !asJSON && ct != "application/x-protobuf" && ct != "" {
		r.fail(w, asJSON, fmt.Errorf("%w: unsupported Content-Type %q (want application/x-protobuf or application/json)", httprecv.ErrInvalid, ct))
		return
	}
	p, err := httprecv.Authenticate(req.Context(), r.auth, httprecv.Credential(req))
	if err != nil {
		r.fail(w, asJSON, err)
		return
	}
	source := r.opts.Source
	if p.Source != "" {
		source = p.Source
	}
	body, err := ingest.OpenBody(w, req, r.opts.Limits)
	if err != nil {
		r.fail(w, asJSON, err)
		return
	}
	b, err := io.ReadAll(body)
	body.Close()
	if err != nil {
		r.opts.Metrics.Add("otlp", metricSource(source), 0, 1, 0)
		r.fail(w, asJSON, fmt.Errorf("read body: %w", err))
		return
	}
	if bud := r.opts.Budget; bud != nil {
		if !bud.TryAcquire(int64(len(b))) {
			r.fail(w, asJSON, fmt.Errorf("otlp: %w: ingest memory budget exhausted", ingest.ErrOverloaded))
			return
		}
		defer bud.Release(int64(len(b)))
	}
	received := r.opts.Now().UnixNano()
	var events []event.Event
	if asJSON {
		events, err = decodeJSON(b, received)
	} else {
		events, err = decodeProto(b, received)
	}
	r.label(events, source)
	if err != nil && len(events) > 0 {
		// Keep the records before the damage; the sender gets the 400.
		if aerr := r.sink.Append(req.Context(), events); aerr != nil {
			err = aerr
		} else {
			r.opts.Metrics.Add("otlp", events[0].Source, len(events), 0, len(b))
			err = fmt.Errorf("%w (the %d records before it were kept)", err, len(events))
			events = nil
		}
	} else if err == nil && len(events) > 0 {
		err = r.sink.Append(req.Context(), events)
	}
	ms := metricSource(source)
	if len(events) > 0 {
		ms = events[0].Source
	}
	if err != nil {
		r.opts.Metrics.Add("otlp", ms, 0, max(len(events), 1), len(b))
		r.fail(w, asJSON, err)
		return
	}
	r.opts.Metrics.Add("otlp", ms, len(events), 0, len(b))
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}\n") // a failed write means the client left
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK) // an empty ExportLogsServiceResponse
}

func metricSource(s string) string {
	if s == "" {
		return "otlp"
	}
	return s
}

func (r *Receiver) label(events []event.Event, source string) {
	for i := range events {
		ev := &events[i]
		if source != "" {
			ev.Source = source
		} else if ev.Source == "" {
			ev.Source = "otlp"
		}
		ev.Category = r.opts.Category
	}
}

// fail answers with a google.rpc.Status in the request's encoding.
func (r *Receiver) fail(w http.ResponseWriter, asJSON bool, err error) {
	if errors.Is(err, errInvalid) || errors.Is(err, pb.ErrMalformed) {
		err = fmt.Errorf("%w: %w", httprecv.ErrInvalid, err)
	}
	status := httprecv.Status(err)
	if status == http.StatusInternalServerError {
		r.log.Error("otlp export failed", "err", err)
	}
	httprecv.SetRetryAfter(w, status)
	code := grpcCode(status)
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		b := []byte(`{"code":` + strconv.Itoa(code) + `,"message":`)
		b = appendJSONString(b, err.Error())
		_, _ = w.Write(append(b, "}\n"...)) // #nosec G705 -- a JSON body with Content-Type application/json; the message is JSON-escaped (a failed write means the client left)
		return
	}
	var b []byte
	b = pb.AppendVarintField(b, 1, uint64(code))
	b = pb.AppendBytes(b, 2, []byte(err.Error()))
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(status)
	_, _ = w.Write(b) // a failed write means the client left
}

// grpcCode maps an HTTP status to the google.rpc.Code OTLP clients expect.
func grpcCode(status int) int {
	switch status {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		return 3 // INVALID_ARGUMENT
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusRequestEntityTooLarge:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return 14 // UNAVAILABLE
	}
	return 13 // INTERNAL
}
