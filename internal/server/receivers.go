package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/esbulk"
	"github.com/mamori/mamori/internal/ingest/fluent"
	"github.com/mamori/mamori/internal/ingest/gelf"
	"github.com/mamori/mamori/internal/ingest/hec"
	"github.com/mamori/mamori/internal/ingest/kafka"
	"github.com/mamori/mamori/internal/ingest/loki"
	"github.com/mamori/mamori/internal/ingest/otlp"
	"github.com/mamori/mamori/internal/ingest/sumo"
	"github.com/mamori/mamori/internal/ingest/syslog"
	"github.com/mamori/mamori/internal/ingest/tail"
)

// Receivers configures the protocol receivers. Listeners without a Token
// use the node's built-in listener credential (not revocable: set a token
// to make a listener revocable, see docs/ingest.md).
type Receivers struct {
	// Syslog listens on 127.0.0.1:5514 (UDP and TCP) by default; "off"
	// disables an address.
	Syslog syslog.Options
	// SyslogOff turns every syslog listener off.
	SyslogOff bool
	// GELF, Fluent Forward, Kafka and file tailing run only when enabled.
	GELF      *gelf.Options
	Fluent    *fluent.Options
	Kafka     *kafka.Options
	Files     []tail.Options
	ESBulk    esbulk.Options
	HEC       hec.Options
	Sumo      sumo.Options
	Loki      loki.Options
	OTLP      otlp.Options
	NoHTTPAll bool // turn every HTTP receiver off
}

// ingestAuth adapts auth.Auth to ingest.Authenticator.
type ingestAuth struct {
	a        *auth.Auth
	internal string // the built-in listener credential
}

func newIngestAuth(a *auth.Auth) *ingestAuth {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	return &ingestAuth{a: a, internal: "internal-" + hex.EncodeToString(b)}
}

// AuthenticateIngest implements ingest.Authenticator.
func (ia *ingestAuth) AuthenticateIngest(_ context.Context, secret string) (ingest.Principal, error) {
	if secret != "" && secret == ia.internal {
		return ingest.Principal{TokenID: "listener", Name: "built-in listener"}, nil
	}
	p, err := ia.a.AuthenticateToken(secret)
	if err != nil {
		return ingest.Principal{}, fmt.Errorf("%w: %v", ingest.ErrUnauthorized, err)
	}
	if !p.Can(auth.CapIngest) {
		return ingest.Principal{}, fmt.Errorf("%w: token %s lacks the ingest capability", ingest.ErrUnauthorized, p.ID)
	}
	return ingest.Principal{TokenID: p.ID, Name: p.Name, Source: p.Source}, nil
}

// startedReceivers holds what startReceivers built.
type startedReceivers struct {
	http      []ingest.HTTPReceiver
	listeners []ingest.Listener
	syslog    *syslog.Receiver
}

// buildReceivers constructs every configured receiver (binding sockets, so
// a busy port fails the start with a clear error).
func buildReceivers(ctx context.Context, cfg Receivers, dataDir string, sink ingest.Sink, ia *ingestAuth, m *ingest.Metrics, budget *ingest.Budget, body ingest.BodyLimits, log *slog.Logger) (*startedReceivers, error) {
	out := &startedReceivers{}
	tok := func(t string) string {
		if t == "" {
			return ia.internal
		}
		return t
	}
	var errs []error
	if !cfg.SyslogOff {
		o := cfg.Syslog
		o.Token, o.Metrics, o.Logger = tok(o.Token), m, log.With("component", "syslog")
		r, err := syslog.New(ctx, sink, ia, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("syslog receiver (set receivers.syslog addresses or --syslog off): %w", err))
		} else {
			out.syslog = r
			out.listeners = append(out.listeners, r)
		}
	}
	if cfg.GELF != nil {
		o := *cfg.GELF
		o.Token, o.Metrics, o.Logger = tok(o.Token), m, log.With("component", "gelf")
		r, err := gelf.New(ctx, sink, ia, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("gelf receiver: %w", err))
		} else {
			out.listeners = append(out.listeners, r)
			out.http = append(out.http, r)
		}
	}
	if cfg.Fluent != nil {
		o := *cfg.Fluent
		o.Token, o.Metrics, o.Logger = tok(o.Token), m, log.With("component", "fluent")
		r, err := fluent.New(ctx, sink, ia, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("fluent receiver: %w", err))
		} else {
			out.listeners = append(out.listeners, r)
		}
	}
	if cfg.Kafka != nil {
		o := *cfg.Kafka
		o.Token, o.Metrics, o.Logger = tok(o.Token), m, log.With("component", "kafka")
		r, err := kafka.New(ctx, sink, ia, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("kafka consumer: %w", err))
		} else {
			out.listeners = append(out.listeners, r)
		}
	}
	for i, f := range cfg.Files {
		o := f
		o.Token, o.Metrics, o.Logger = tok(o.Token), m, log.With("component", "tail")
		if o.StateFile == "" {
			o.StateFile = filepath.Join(dataDir, "tail", fmt.Sprintf("files-%d.json", i))
		}
		r, err := tail.New(ctx, sink, ia, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("file source %d: %w", i, err))
		} else {
			out.listeners = append(out.listeners, r)
		}
	}
	if !cfg.NoHTTPAll {
		httpRecv := []struct {
			name string
			mk   func() (ingest.HTTPReceiver, error)
		}{
			{"esbulk", func() (ingest.HTTPReceiver, error) {
				o := cfg.ESBulk
				o.Metrics, o.Budget, o.Logger = m, budget, log.With("component", "esbulk")
				if o.Limits == (ingest.BodyLimits{}) {
					o.Limits = body
				}
				return esbulk.New(sink, ia, o)
			}},
			{"hec", func() (ingest.HTTPReceiver, error) {
				o := cfg.HEC
				o.Metrics, o.Logger = m, log.With("component", "hec")
				return hec.New(sink, ia, o)
			}},
			{"sumo", func() (ingest.HTTPReceiver, error) {
				o := cfg.Sumo
				o.Metrics, o.Logger = m, log.With("component", "sumo")
				return sumo.New(sink, ia, o)
			}},
			{"loki", func() (ingest.HTTPReceiver, error) {
				o := cfg.Loki
				o.Metrics, o.Logger = m, log.With("component", "loki")
				return loki.New(sink, ia, o)
			}},
			{"otlp", func() (ingest.HTTPReceiver, error) {
				o := cfg.OTLP
				o.Metrics, o.Logger = m, log.With("component", "otlp")
				return otlp.New(sink, ia, o)
			}},
		}
		for _, hr := range httpRecv {
			r, err := hr.mk()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s receiver: %w", hr.name, err))
				continue
			}
			out.http = append(out.http, r)
		}
	}
	if len(errs) > 0 {
		out.close()
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// close releases sockets bound by receivers that never ran.
func (s *startedReceivers) close() {
	if s.syslog != nil {
		s.syslog.Close()
	}
}

// run serves every listener until ctx ends.
func (s *startedReceivers) run(ctx context.Context, log *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	n := len(s.listeners)
	finished := make(chan struct{}, n)
	for _, l := range s.listeners {
		go func(l ingest.Listener) {
			defer func() { finished <- struct{}{} }()
			if err := l.Run(ctx); err != nil {
				log.Error("receiver stopped", "receiver", l.Name(), "err", err)
			}
		}(l)
	}
	go func() {
		for i := 0; i < n; i++ {
			<-finished
		}
		close(done)
	}()
	return done
}
