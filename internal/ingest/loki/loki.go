package loki

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/httprecv"
)

// FieldTenant keeps the X-Scope-OrgID header of a push.
const FieldTenant = "loki.tenant"

// Options configures a Receiver. The zero value takes sources from the
// labels (else "loki") and limits bodies to ingest.BodyLimits' defaults.
type Options struct {
	// Disabled makes Register add no routes.
	Disabled bool
	// Source, when set, is the source of every event; a source-bound
	// token overrides it.
	Source string
	// Category is the category of the events.
	Category string
	// Limits bound the request body (MaxDecodedBytes also bounds snappy).
	Limits ingest.BodyLimits
	// Budget, when set, is charged for decoded bodies until they are
	// appended; when exhausted the request is refused with 429.
	Budget *ingest.Budget
	// Metrics receives the counts (receiver "loki"); nil discards them.
	Metrics *ingest.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Receiver serves the Loki push API. It implements ingest.HTTPReceiver.
type Receiver struct {
	opts Options
	sink ingest.Sink
	auth ingest.Authenticator
	log  *slog.Logger
}

// New returns a receiver that appends to sink and checks credentials with auth.
func New(sink ingest.Sink, auth ingest.Authenticator, opts Options) (*Receiver, error) {
	if sink == nil || auth == nil {
		return nil, errors.New("loki: a sink and an authenticator are required")
	}
	if opts.Limits.MaxBytes <= 0 {
		opts.Limits.MaxBytes = 64 << 20
	}
	if opts.Limits.MaxDecodedBytes <= 0 {
		opts.Limits.MaxDecodedBytes = 8 * opts.Limits.MaxBytes
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
func (r *Receiver) Name() string { return "loki" }

// Register implements ingest.HTTPReceiver.
func (r *Receiver) Register(mux *http.ServeMux) {
	if r.opts.Disabled {
		return
	}
	mux.HandleFunc("POST /loki/api/v1/push", r.push)
	mux.HandleFunc("POST /api/prom/push", r.push) // the legacy path older Promtails use
	mux.HandleFunc("GET /loki/ready", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ready\n") // a failed write means the client left
	})
}

func (r *Receiver) push(w http.ResponseWriter, req *http.Request) {
	p, err := httprecv.Authenticate(req.Context(), r.auth, httprecv.Credential(req))
	if err != nil {
		r.fail(w, err)
		return
	}
	events, n, err := r.decode(w, req)
	if err == nil && len(events) > 0 && r.opts.Budget != nil {
		if !r.opts.Budget.TryAcquire(int64(n)) {
			err = fmt.Errorf("loki: %w: ingest memory budget exhausted", ingest.ErrOverloaded)
		} else {
			defer r.opts.Budget.Release(int64(n))
		}
	}
	source := r.opts.Source
	if p.Source != "" {
		source = p.Source
	}
	tenant := req.Header.Get("X-Scope-OrgID")
	for i := range events {
		ev := &events[i]
		if source != "" || ev.Source == "" {
			ev.Source = source
			if ev.Source == "" {
				ev.Source = "loki"
			}
		}
		ev.Category = r.opts.Category
		if tenant != "" {
			ev.Fields = append(ev.Fields, event.Field{Name: FieldTenant, Value: tenant})
		}
	}
	metricSource := source
	if metricSource == "" {
		metricSource = "loki"
		if len(events) > 0 {
			metricSource = events[0].Source
		}
	}
	if err == nil && len(events) > 0 {
		err = r.sink.Append(req.Context(), events)
	} else if errors.Is(err, errInvalid) && len(events) > 0 {
		// Keep the entries before the damage; the sender gets the 400.
		if aerr := r.sink.Append(req.Context(), events); aerr != nil {
			err = aerr
		} else {
			r.opts.Metrics.Add("loki", metricSource, len(events), 0, 0)
			err = fmt.Errorf("%w (the %d entries before it were kept)", err, len(events))
			events = nil
		}
	}
	if err != nil {
		r.opts.Metrics.Add("loki", metricSource, 0, max(len(events), 1), n)
		r.fail(w, err)
		return
	}
	r.opts.Metrics.Add("loki", metricSource, len(events), 0, n)
	w.WriteHeader(http.StatusNoContent)
}

// decode reads and decodes the body by its Content-Type; it returns the
// events and the decoded size.
func (r *Receiver) decode(w http.ResponseWriter, req *http.Request) ([]event.Event, int, error) {
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	body, err := ingest.OpenBody(w, req, r.opts.Limits)
	if err != nil {
		return nil, 0, err
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, 0, fmt.Errorf("read body: %w", err)
	}
	received := r.opts.Now().UnixNano()
	switch ct {
	case "application/json":
		evs, err := decodeJSON(b, received)
		return evs, len(b), err
	case "", "application/x-protobuf", "application/octet-stream":
		n, err := snappy.DecodedLen(b)
		if err != nil {
			return nil, len(b), fmt.Errorf("%w: snappy: %w", errInvalid, err)
		}
		if int64(n) > r.opts.Limits.MaxDecodedBytes {
			return nil, len(b), fmt.Errorf("%w: snappy body decodes to %d bytes, the limit is %d", ingest.ErrTooLarge, n, r.opts.Limits.MaxDecodedBytes)
		}
		raw, err := snappy.Decode(nil, b)
		if err != nil {
			return nil, len(b), fmt.Errorf("%w: snappy: %w", errInvalid, err)
		}
		evs, err := decodeProto(raw, received)
		return evs, len(raw), err
	}
	return nil, len(b), fmt.Errorf("%w: unsupported Content-Type %q (want application/x-protobuf or application/json)", errInvalid, ct)
}

func (r *Receiver) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, errInvalid) {
		err = fmt.Errorf("%w: %w", httprecv.ErrInvalid, err)
	}
	status := httprecv.Status(err)
	if status == http.StatusInternalServerError {
		r.log.Error("loki push failed", "err", err)
	}
	httprecv.SetRetryAfter(w, status)
	http.Error(w, err.Error(), status)
}
