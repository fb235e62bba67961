package gelf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/ingest/httprecv"
)

// Off disables a listener when given as its address.
const Off = "off"

// DefaultAddr is where the UDP and TCP listeners bind by default.
const DefaultAddr = "127.0.0.1:12201"

// Options configures a Receiver. The zero value listens on 127.0.0.1:12201
// (UDP and TCP), serves POST /gelf, and batches up to 1000 messages or 50 ms.
type Options struct {
	// UDPAddr and TCPAddr are the listen addresses; "" means DefaultAddr
	// and Off disables the listener.
	UDPAddr, TCPAddr string
	// NoHTTP makes Register add no route.
	NoHTTP bool
	// Token is the credential of the UDP and TCP listeners, checked with
	// the Authenticator at start and every 30s. HTTP requests bring their
	// own.
	Token string
	// Source is the source of the events; default "gelf". A source-bound
	// token overrides it.
	Source string
	// Category is the category of the events.
	Category string
	// MaxMessageBytes bounds a message once decompressed; default 1 MiB.
	MaxMessageBytes int
	// MaxBatch is the most messages passed to one Sink.Append; default 1000.
	MaxBatch int
	// FlushInterval is the longest a message waits for its batch; default 50ms.
	FlushInterval time.Duration
	// MaxConns bounds concurrent TCP connections; default 1024.
	MaxConns int
	// ChunkTimeout drops chunked messages incomplete for longer; default 5s.
	ChunkTimeout time.Duration
	// Limits bound HTTP request bodies.
	Limits ingest.BodyLimits
	// Metrics receives the counts (receiver "gelf"); nil discards them.
	Metrics *ingest.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.UDPAddr == "" {
		o.UDPAddr = DefaultAddr
	}
	if o.TCPAddr == "" {
		o.TCPAddr = DefaultAddr
	}
	if o.Source == "" {
		o.Source = "gelf"
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 1 << 20
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 50 * time.Millisecond
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 1024
	}
	if o.ChunkTimeout <= 0 {
		o.ChunkTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Receiver serves GELF. It implements ingest.Listener (UDP, TCP) and
// ingest.HTTPReceiver (POST /gelf).
type Receiver struct {
	opts Options
	sink ingest.Sink
	auth ingest.Authenticator
	log  *slog.Logger

	udp net.PacketConn
	tcp net.Listener

	cred *ingest.Credential

	conns ingest.ConnSet
}

// New binds the listeners and checks the token; call Run to serve them.
func New(ctx context.Context, sink ingest.Sink, auth ingest.Authenticator, opts Options) (*Receiver, error) {
	if sink == nil || auth == nil {
		return nil, errors.New("gelf: a sink and an authenticator are required")
	}
	opts = opts.withDefaults()
	r := &Receiver{opts: opts, sink: sink, auth: auth, log: opts.Logger,
		cred: &ingest.Credential{Auth: auth, Token: opts.Token, Now: opts.Now}}
	if opts.UDPAddr != Off || opts.TCPAddr != Off {
		if _, err := r.currentPrincipal(ctx); err != nil {
			return nil, fmt.Errorf("gelf token: %w", err)
		}
	}
	var err error
	if opts.UDPAddr != Off {
		if r.udp, err = net.ListenPacket("udp", opts.UDPAddr); err != nil {
			return nil, fmt.Errorf("gelf listen udp: %w", err)
		}
		if uc, ok := r.udp.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(4 << 20) // best effort: the kernel may cap it
		}
	}
	if opts.TCPAddr != Off {
		if r.tcp, err = net.Listen("tcp", opts.TCPAddr); err != nil {
			r.Close()
			return nil, fmt.Errorf("gelf listen tcp: %w", err)
		}
	}
	return r, nil
}

// Name implements ingest.Listener and ingest.HTTPReceiver.
func (r *Receiver) Name() string { return "gelf" }

// UDPAddr returns the bound UDP address, nil when off.
func (r *Receiver) UDPAddr() net.Addr {
	if r.udp == nil {
		return nil
	}
	return r.udp.LocalAddr()
}

// TCPAddr returns the bound TCP address, nil when off.
func (r *Receiver) TCPAddr() net.Addr {
	if r.tcp == nil {
		return nil
	}
	return r.tcp.Addr()
}

// Close closes the listeners; use it when Run is not called.
func (r *Receiver) Close() error {
	var errs []error
	if r.udp != nil {
		errs = append(errs, r.udp.Close())
	}
	if r.tcp != nil {
		errs = append(errs, r.tcp.Close())
	}
	return errors.Join(errs...)
}

// Run serves UDP and TCP until ctx is cancelled, then closes the sockets
// and returns once the pending batches were appended or refused.
func (r *Receiver) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if r.udp != nil {
		wg.Go(func() { r.serveUDP(ctx) })
	}
	if r.tcp != nil {
		r.conns.Max = r.opts.MaxConns
		wg.Go(func() { r.conns.Serve(r.tcp, func(c net.Conn) { r.serveConn(ctx, c) }) })
	}
	<-ctx.Done()
	_ = r.Close() // errors here only repeat that the sockets are closing
	r.conns.Shutdown()
	wg.Wait()
	return nil
}

func (r *Receiver) currentPrincipal(ctx context.Context) (ingest.Principal, error) {
	return r.cred.Principal(ctx)
}

// Register implements ingest.HTTPReceiver: POST /gelf with one GELF JSON
// document, or several separated by newlines or NULs.
func (r *Receiver) Register(mux *http.ServeMux) {
	if r.opts.NoHTTP {
		return
	}
	mux.HandleFunc("POST /gelf", r.serveHTTP)
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	p, err := httprecv.Authenticate(req.Context(), r.auth, httprecv.Credential(req))
	if err == nil {
		var body io.ReadCloser
		if body, err = ingest.OpenBody(w, req, r.opts.Limits); err == nil {
			var b []byte
			b, err = io.ReadAll(body)
			body.Close()
			if err == nil {
				now := r.opts.Now().UnixNano()
				var events []event.Event
				for _, msg := range splitMessages(b) {
					ev, _ := decodeMessage(msg, now) // a bad document is kept raw
					events = append(events, ev)
				}
				if len(events) == 0 {
					err = fmt.Errorf("%w: empty body", httprecv.ErrInvalid)
				} else {
					err = r.appendEvents(req.Context(), p, events, len(b))
				}
			}
		}
	}
	if err != nil {
		status := httprecv.Status(err)
		httprecv.SetRetryAfter(w, status)
		http.Error(w, err.Error(), status)
		return
	}
	w.WriteHeader(http.StatusAccepted) // what Graylog answers
}

// splitMessages splits a body or stream chunk at NUL and LF.
func splitMessages(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == 0 || b[i] == '\n' {
			if msg := trim(b[start:i]); len(msg) > 0 {
				out = append(out, msg)
			}
			start = i + 1
		}
	}
	return out
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\r' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// appendEvents labels events and appends them, counting the outcome.
func (r *Receiver) appendEvents(ctx context.Context, p ingest.Principal, events []event.Event, n int) error {
	source := r.opts.Source
	if p.Source != "" {
		source = p.Source
	}
	for i := range events {
		events[i].Source = source
		events[i].Category = r.opts.Category
	}
	if err := r.sink.Append(ctx, events); err != nil {
		r.opts.Metrics.Add("gelf", source, 0, len(events), n)
		return err
	}
	r.opts.Metrics.Add("gelf", source, len(events), 0, n)
	return nil
}
