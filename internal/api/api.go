package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/metric"
	"github.com/mamori/mamori/internal/store"
)

// Options configures the API handler.
type Options struct {
	Store  store.Engine
	Sink   ingest.Sink // where ingested events go (the server's pipeline)
	Tokens *auth.Tokens
	// Metrics is the registry rendered at /metrics; the handler adds its
	// own families to it.
	Metrics       *metric.Registry
	IngestMetrics *ingest.Metrics
	Logger        *slog.Logger
	// Body limits for ingest; see ingest.BodyLimits.
	Body ingest.BodyLimits
	// MaxLineBytes is the longest ingested line (default 1 MiB).
	MaxLineBytes int
	// Budget bounds decoded-but-not-yet-durable ingest bytes (default 256 MiB).
	Budget *ingest.Budget
	// Search limits applied to every query (a request may only lower them).
	SearchTimeout   time.Duration // default 5m
	SearchMaxMemory int64         // bytes, default 1 GiB
	SearchMaxRows   int64         // rows scanned, default unlimited
	// Receivers are extra HTTP receivers registered on the same mux.
	Receivers []ingest.HTTPReceiver
	Now       func() time.Time
}

// Handler serves the API.
type Handler struct {
	opts  Options
	log   *slog.Logger
	mux   *http.ServeMux
	ready atomic.Bool
	now   func() time.Time

	queries       *metric.CounterVec
	queryDuration *metric.Histogram
}

// New builds the handler. Call SetReady once the node serves.
func New(opts Options) *Handler {
	h := &Handler{opts: opts, log: opts.Logger, mux: http.NewServeMux(), now: opts.Now}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.opts.Budget == nil {
		h.opts.Budget = ingest.NewBudget(256 << 20)
	}
	if h.opts.Metrics == nil {
		h.opts.Metrics = metric.New()
	}
	if h.opts.SearchTimeout <= 0 {
		h.opts.SearchTimeout = 5 * time.Minute
	}
	if h.opts.SearchMaxMemory <= 0 {
		h.opts.SearchMaxMemory = 1 << 30
	}
	h.queries = h.opts.Metrics.Counter("mamori_queries_total", "Search queries run, by outcome.", "outcome")
	h.queryDuration = h.opts.Metrics.Histogram("mamori_query_duration_seconds", "Search query duration.", []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})

	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.Handle("GET /metrics", h.authed(auth.CapSearch, h.metrics))
	h.mux.Handle("POST /api/v1/ingest", h.authed(auth.CapIngest, h.ingest))
	h.mux.Handle("POST /api/v1/search", h.authed(auth.CapSearch, h.search))
	h.mux.Handle("POST /api/v1/tokens", h.authed(auth.CapAdmin, h.createToken))
	h.mux.Handle("GET /api/v1/tokens", h.authed(auth.CapAdmin, h.listTokens))
	h.mux.Handle("DELETE /api/v1/tokens/{id}", h.authed(auth.CapAdmin, h.revokeToken))
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, errNotFound, nil)
	})
	for _, rc := range opts.Receivers {
		rc.Register(h.mux)
	}
	return h
}

// SetReady makes /healthz answer 200.
func (h *Handler) SetReady(ready bool) { h.ready.Store(ready) }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Mux exposes the router so the server can add more handlers (the UI).
func (h *Handler) Mux() *http.ServeMux { return h.mux }

type principalKey struct{}

// PrincipalFrom returns the authenticated caller of a request.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// authed wraps fn with bearer authentication and a capability check.
func (h *Handler) authed(c auth.Capability, fn http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authenticate(r)
		if err != nil {
			h.writeError(w, r, err, nil)
			return
		}
		if !p.Can(c) {
			h.writeError(w, r, fmt.Errorf("%w: %s needs the %s capability", auth.ErrForbidden, r.URL.Path, c), nil)
			return
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func (h *Handler) authenticate(r *http.Request) (auth.Principal, error) {
	if h.opts.Tokens == nil {
		return auth.Principal{}, auth.ErrUnauthenticated
	}
	hdr := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(hdr, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return auth.Principal{}, fmt.Errorf("%w: send Authorization: Bearer TOKEN", auth.ErrUnauthenticated)
	}
	return h.opts.Tokens.Authenticate(secret)
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	if !h.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handler) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.opts.Metrics.Write(w)
	if h.opts.IngestMetrics != nil {
		_ = h.opts.IngestMetrics.WritePrometheus(w) // a write error means the scraper went away
	}
}
