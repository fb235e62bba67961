package api

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/alert"
	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/metric"
	"github.com/mamori/mamori/internal/store"
)

// Options configures the API handler.
type Options struct {
	Store store.Engine
	Sink  ingest.Sink // where ingested events go (the server's pipeline)
	Auth  *auth.Auth
	// Audit receives an audit record for every login, search and change;
	// nil disables auditing.
	Audit     *auth.AuditLog
	AuditPath string
	// RateLimit bounds API requests per token or session (per second, with
	// a burst of twice that); 0 means 100. Login attempts are limited per
	// client address separately.
	RateLimit float64
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
	// Detector runs the rules; nil disables the rule and signal routes.
	Detector *detect.Detector
	// Incidents groups signals; nil disables the incident routes.
	Incidents *detect.Correlator
	// Outbox delivers notifications; nil disables the notification routes.
	Outbox *alert.Outbox
	// LogReduceDir keeps the users' logreduce corrections ("" disables).
	LogReduceDir string
	// LookupDir keeps uploaded lookup tables ("" disables uploads).
	LookupDir string
	// Live feeds the live tail; nil disables it.
	Live LiveSource
	// Receivers are extra HTTP receivers registered on the same mux.
	Receivers []ingest.HTTPReceiver
	// OIDC, when set, enables single sign-on (/api/v1/oidc/...).
	OIDC *auth.OIDC
	// Holds, when set, enables the legal-hold routes (/api/v1/holds).
	Holds *Holds
	Now   func() time.Time

	// UIDir keeps the UI's server-side state: saved searches, dashboards
	// and storage settings changed at run time ("" disables those routes).
	UIDir string
	// Retention, when set, lets admins change retention and the disk
	// budget at run time; nil means the Store's, if it implements
	// RetentionControl, else read-only.
	Retention RetentionControl
}

// Handler serves the API.
type Handler struct {
	opts        Options
	limiter     *rateLimiter // per principal
	lookups     *lookupStore
	corrections *corrections
	ui          *uiState     // saved searches, dashboards, storage settings, first-run setup
	logins      *rateLimiter // per client address
	log         *slog.Logger
	mux         *http.ServeMux
	ready       atomic.Bool
	now         func() time.Time

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
	if h.opts.RateLimit <= 0 {
		h.opts.RateLimit = 100
	}
	h.lookups = &lookupStore{dir: h.opts.LookupDir}
	h.corrections = &corrections{dir: h.opts.LogReduceDir}
	h.ui = newUIState(h)
	h.limiter = newRateLimiter(h.opts.RateLimit, 2*h.opts.RateLimit, h.now)
	h.logins = newRateLimiter(10.0/60, 10, h.now)
	h.queries = h.opts.Metrics.Counter("mamori_queries_total", "Search queries run, by outcome.", "outcome")
	h.queryDuration = h.opts.Metrics.Histogram("mamori_query_duration_seconds", "Search query duration.", []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})

	h.mux.HandleFunc("GET /healthz", h.healthz)
	for _, rt := range h.routes() {
		if rt.cap == "" {
			h.mux.HandleFunc(rt.pattern, rt.fn)
			continue
		}
		h.mux.Handle(rt.pattern, h.authed(rt.cap, rt.fn))
	}
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
