package server

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mamori/mamori/internal/alert"
	"github.com/mamori/mamori/internal/api"
	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/detect"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/metric"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/web"
)

// Options configures a node. The zero value of each field means its default.
type Options struct {
	// DataDir holds everything the node keeps (default ./mamori-data).
	DataDir string
	// HTTPAddr is the API listener (default 127.0.0.1:9280).
	HTTPAddr string
	// AdminToken (MAMORI_ADMIN_TOKEN) is valid with the admin role.
	AdminToken string
	// Store options; Dir is set from DataDir.
	Store store.Options
	// Ingest limits for HTTP bodies and lines.
	Body         ingest.BodyLimits
	MaxLineBytes int
	// IngestBufferBytes bounds decoded ingest data waiting for the WAL
	// (default 256 MiB); beyond it requests get 429.
	IngestBufferBytes int64
	// SearchTimeout and SearchMaxMemory bound every query.
	SearchTimeout   time.Duration
	SearchMaxMemory int64
	// HTTPReadTimeout bounds how long a client may take to send a request,
	// body included (default 2m): a slow client cannot hold a connection.
	HTTPReadTimeout time.Duration
	// AuditSigningKey, when set, signs audit checkpoints (keep it outside
	// the data directory).
	AuditSigningKey ed25519.PrivateKey
	// TLSCert and TLSKey serve HTTPS; TLSSelfSigned makes a throw-away
	// certificate for 127.0.0.1/localhost at start.
	TLSCert, TLSKey string
	TLSSelfSigned   bool
	// OIDC, when set, enables single sign-on with an OpenID Connect
	// provider, with group → role mapping.
	OIDC *auth.OIDCConfig
	// LegalHolds are legal holds from the configuration file, besides the
	// ones placed through the API (kept in DATA/holds.json).
	LegalHolds []api.Hold
	// RuleDirs are Sigma rule folders loaded at start (besides the rules
	// uploaded through the API, kept in DATA/rules).
	RuleDirs []string
	// Channels are the notification destinations.
	Channels []alert.Channel
	// Criticality raises the weight of signals about matching entities.
	Criticality []detect.CriticalityRule
	// IntelPaths are threat-intel feed files or folders (CSV, STIX 2.1,
	// MISP JSON), besides DATA/intel; reloaded every 30 s.
	IntelPaths []string
	// IntelReload is how often feeds are checked for changes (default 30s).
	IntelReload time.Duration
	// IntelRetroDays is how far back new indicators are hunted (default 7).
	IntelRetroDays int
	// Monitors are scheduled queries and source-went-quiet checks.
	Monitors []detect.Monitor
	// NoDetection turns live detection off.
	NoDetection bool
	// DetectQueueBytes bounds the memory of events waiting for live
	// detection (default 64 MiB). What does not fit (after DetectQueueWait)
	// is recorded (8 bytes an event) and read back from the store once
	// detection has caught up (docs/detection.md).
	DetectQueueBytes int64
	// DetectQueueWait is how long an ingest batch waits for room in a full
	// detection queue while detection frees none (8 times as long in all)
	// before its events go to a gap: 0 means 1 s, a negative value never
	// waits. Queues under 1 MiB never wait.
	DetectQueueWait time.Duration
	// NoContent leaves out Mamori's content pack (content/), which is
	// otherwise loaded before RuleDirs (#6).
	NoContent bool
	// Receivers configures syslog, GELF, Fluent, Kafka, files and the HTTP
	// receivers (Elasticsearch bulk, Splunk HEC, Sumo, Loki, OTLP).
	Receivers Receivers
	// ShutdownTimeout bounds the drain of in-flight requests (default 30s).
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Listening, if set, is called with the bound HTTP address once the
	// node serves (tests use it with HTTPAddr 127.0.0.1:0).
	Listening func(addr string)
}

func (o *Options) setDefaults() {
	if o.DataDir == "" {
		o.DataDir = "mamori-data"
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = "127.0.0.1:9280"
	}
	if o.IngestBufferBytes <= 0 {
		o.IngestBufferBytes = 256 << 20
	}
	if o.HTTPReadTimeout <= 0 {
		o.HTTPReadTimeout = 2 * time.Minute
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run starts a node and serves until ctx is cancelled, then shuts down in
// order. It returns an error when the node cannot start or fails.
func Run(ctx context.Context, opts Options) error {
	opts.setDefaults()
	log := opts.Logger
	reg := metric.New()

	// One node per data directory: a second one would corrupt the store.
	unlock, err := LockDataDir(opts.DataDir)
	if err != nil {
		return err
	}
	defer func() {
		if err := unlock(); err != nil {
			log.Error("unlock data directory", "err", err)
		}
	}()

	// Legal holds are read before the store opens: its retention must
	// never run without them.
	holds, err := api.OpenHolds(api.HoldsOptions{Path: filepath.Join(opts.DataDir, "holds.json"), Config: opts.LegalHolds})
	if err != nil {
		return err
	}
	sopts := opts.Store
	sopts.Dir = filepath.Join(opts.DataDir, "store")
	sopts.Holds = holds // retention and the disk budget skip held parts
	if sopts.CheckpointKey == nil {
		// The audit key signs the store's manifest checkpoints too (the
		// signatures are domain-separated).
		sopts.CheckpointKey = opts.AuditSigningKey
	}
	// Each signed store checkpoint is also recorded in the audit log, so
	// the store's head is anchored in the audit log's own chain. The audit
	// log opens after the store: checkpoints before that are not recorded.
	var auditRef atomic.Pointer[auth.AuditLog]
	if sopts.OnCheckpoint == nil {
		sopts.OnCheckpoint = func(c store.Checkpoint, _ []byte) {
			if a := auditRef.Load(); a != nil {
				_ = a.Append(auth.Record{Actor: "system", Action: "store_checkpoint", Details: map[string]string{ // best effort; the checkpoint file is the record
					"n": strconv.FormatUint(c.N, 10), "seq": strconv.FormatUint(c.Seq, 10), "head": c.Head}})
			}
		}
	}
	if sopts.Logger == nil {
		sopts.Logger = log.With("component", "store")
	}
	st, err := store.Open(sopts)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	stClosed := false
	defer func() {
		if !stClosed {
			if err := st.Close(); err != nil {
				log.Error("close store", "err", err)
			}
		}
	}()
	registerStoreMetrics(reg, st)

	authDir := filepath.Join(opts.DataDir, "auth")
	au, err := auth.Open(auth.Options{Dir: authDir, AdminToken: opts.AdminToken, Logger: log.With("component", "auth")})
	if err != nil {
		return fmt.Errorf("open auth: %w", err)
	}
	var sso *auth.OIDC
	if opts.OIDC != nil {
		if sso, err = au.NewOIDC(*opts.OIDC); err != nil {
			return fmt.Errorf("single sign-on: %w", err)
		}
	}

	pipe := NewPipeline(st, nil)
	auditStore := newAuditStorer(pipe, log.With("component", "audit"))
	auditStoreClosed := false
	defer func() {
		if !auditStoreClosed {
			auditStore.close()
		}
	}()
	auditPath := filepath.Join(authDir, "audit.log")
	audit, err := auth.OpenAudit(auth.AuditOptions{Path: auditPath, SigningKey: opts.AuditSigningKey, OnRecord: auditStore.offer})
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	auditClosed := false
	defer func() {
		if !auditClosed {
			auditRef.Store(nil)
			if err := audit.Close(); err != nil {
				log.Error("close audit log", "err", err)
			}
		}
	}()
	_ = audit.Append(auth.Record{Actor: "system", Action: "start", Details: map[string]string{"data": opts.DataDir}}) // best effort; a failure shows in verify
	auditRef.Store(audit)
	im := &ingest.Metrics{}
	dt, err := startDetection(opts, st, pipe, reg, log)
	if err != nil {
		return err
	}
	defer dt.close()
	budget := ingest.NewBudget(opts.IngestBufferBytes)
	ia := newIngestAuth(au)
	recvCtx, recvStop := context.WithCancel(context.Background())
	defer recvStop()
	recv, err := buildReceivers(recvCtx, opts.Receivers, opts.DataDir, pipe, ia, im, budget, opts.Body, log)
	if err != nil {
		return err
	}
	h := api.New(api.Options{
		Receivers:       recv.http,
		Store:           st,
		Sink:            pipe,
		Live:            Live{P: pipe},
		Detector:        dt.det,
		Incidents:       dt.corr,
		Outbox:          dt.outbox,
		LookupDir:       filepath.Join(opts.DataDir, "lookups"),
		LogReduceDir:    filepath.Join(opts.DataDir, "logreduce"),
		UIDir:           filepath.Join(opts.DataDir, "ui"), // saved searches, dashboards, storage settings
		Auth:            au,
		Audit:           audit,
		AuditPath:       auditPath,
		OIDC:            sso,
		Holds:           holds,
		Metrics:         reg,
		IngestMetrics:   im,
		Logger:          log.With("component", "api"),
		Body:            opts.Body,
		MaxLineBytes:    opts.MaxLineBytes,
		Budget:          budget,
		SearchTimeout:   opts.SearchTimeout,
		SearchMaxMemory: opts.SearchMaxMemory,
	})

	h.Mux().Handle("/", web.New(web.Options{Logger: log.With("component", "web")}))
	tcfg, err := tlsConfig(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen http: %w", err)
	}
	var handler http.Handler = h
	scheme := "http"
	if tcfg != nil {
		ln = tls.NewListener(ln, tcfg)
		handler = withHSTS(h)
		scheme = "https"
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	protos.SetUnencryptedHTTP2(true) // OTLP/gRPC without TLS
	hs := &http.Server{
		Protocols:         &protos,
		Handler:           handler,
		ReadHeaderTimeout: min(10*time.Second, opts.HTTPReadTimeout),
		ReadTimeout:       opts.HTTPReadTimeout, // a slow client cannot hold a request forever
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	recvDone := recv.run(recvCtx, log)
	h.SetReady(true)
	log.Info("listening", "url", scheme+"://"+ln.Addr().String(), "data", opts.DataDir)
	if opts.Listening != nil {
		opts.Listening(ln.Addr().String())
	}

	<-gctx.Done()
	log.Info("shutting down")
	h.SetReady(false)
	recvStop()
	<-recvDone
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	gerr := g.Wait()
	dt.close()
	_ = audit.Append(auth.Record{Actor: "system", Action: "stop"}) // best effort
	auditClosed = true
	auditRef.Store(nil)
	if err := audit.Close(); err != nil {
		log.Error("close audit log", "err", err)
	}
	auditStoreClosed = true
	auditStore.close() // its last records reach the store before it closes
	stClosed = true
	if err := st.Close(); err != nil {
		return errors.Join(gerr, fmt.Errorf("close store: %w", err))
	}
	log.Info("stopped")
	return gerr
}
