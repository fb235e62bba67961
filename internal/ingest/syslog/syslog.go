package syslog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
)

// Off disables a listener when given as its address.
const Off = "off"

// DefaultAddr is where the UDP and TCP listeners bind by default.
const DefaultAddr = "127.0.0.1:5514"

// Options configures a Receiver. The zero value listens on 127.0.0.1:5514
// (UDP and TCP), reads zoneless timestamps as UTC, and batches up to 1000
// messages or 50 ms.
type Options struct {
	// UDPAddr and TCPAddr are the listen addresses; "" means DefaultAddr
	// and Off disables the listener.
	UDPAddr, TCPAddr string
	// TLSAddr is the RFC 5425 listener; "" or Off disables it. It needs
	// CertFile and KeyFile, or TLSConfig.
	TLSAddr string
	// CertFile and KeyFile are the server certificate and key (PEM).
	CertFile, KeyFile string
	// ClientCAFile, when set, makes TLS clients present a certificate
	// signed by one of these CAs (PEM).
	ClientCAFile string
	// TLSConfig overrides CertFile, KeyFile and ClientCAFile.
	TLSConfig *tls.Config

	// Token is the ingest credential of this listener, checked with the
	// Authenticator at start and every AuthRecheck, so revoking it stops
	// the listener's ingest.
	Token string
	// AuthRecheck is how often the token is checked again; default 30s.
	AuthRecheck time.Duration

	// Source is the source of the events; default "syslog". A
	// source-bound token overrides it.
	Source string
	// Category is the category of the events; default none.
	Category string
	// Location is the zone of timestamps that carry none (RFC 3164);
	// nil means UTC. A missing year is inferred so that the time is not
	// in the future.
	Location *time.Location
	// SkipMessage turns off parsing of the message content.
	SkipMessage bool

	// MaxMessageBytes is the longest message kept; longer ones are cut
	// and get syslog.truncated=true. Default 64 KiB.
	MaxMessageBytes int
	// MaxBatch is the most messages passed to one Sink.Append; default 1000.
	MaxBatch int
	// FlushInterval is the longest a message waits for its batch to fill;
	// default 50ms.
	FlushInterval time.Duration
	// MaxConns bounds concurrent TCP and TLS connections; default 1024.
	MaxConns int
	// IdleTimeout closes TCP connections silent for this long; default 0,
	// never.
	IdleTimeout time.Duration

	// Metrics receives the counts (receiver "syslog"); nil discards them.
	Metrics *ingest.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Validate reports every problem of the options.
func (o Options) Validate() error {
	var errs []error
	for _, a := range []struct{ name, addr string }{{"udp", o.UDPAddr}, {"tcp", o.TCPAddr}, {"tls", o.TLSAddr}} {
		if a.addr == "" || a.addr == Off {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("syslog %s address: %w", a.name, err))
		}
	}
	if o.TLSAddr != "" && o.TLSAddr != Off && o.TLSConfig == nil && (o.CertFile == "" || o.KeyFile == "") {
		errs = append(errs, errors.New("syslog tls: needs a certificate and key"))
	}
	if o.MaxMessageBytes < 0 || o.MaxBatch < 0 || o.FlushInterval < 0 || o.MaxConns < 0 || o.IdleTimeout < 0 || o.AuthRecheck < 0 {
		errs = append(errs, errors.New("syslog: negative limit"))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.UDPAddr == "" {
		o.UDPAddr = DefaultAddr
	}
	if o.TCPAddr == "" {
		o.TCPAddr = DefaultAddr
	}
	if o.TLSAddr == "" {
		o.TLSAddr = Off
	}
	if o.Source == "" {
		o.Source = "syslog"
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = 64 << 10
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 1000
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 50 * time.Millisecond
	}
	if o.MaxConns == 0 {
		o.MaxConns = 1024
	}
	if o.AuthRecheck == 0 {
		o.AuthRecheck = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Receiver serves syslog on its listeners. It implements ingest.Listener.
type Receiver struct {
	opts  Options
	sink  ingest.Sink
	auth  ingest.Authenticator
	popts parse.SyslogOptions
	log   *slog.Logger

	udp      net.PacketConn
	tcp, tls net.Listener

	cred *ingest.Credential

	conns ingest.ConnSet

	warn warnLimiter
}

// New binds the configured listeners (so a busy port fails here, before
// Run) and checks the token. Call Run to serve, or Close to give up.
func New(ctx context.Context, sink ingest.Sink, auth ingest.Authenticator, opts Options) (*Receiver, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if sink == nil || auth == nil {
		return nil, errors.New("syslog: a sink and an authenticator are required")
	}
	opts = opts.withDefaults()
	r := &Receiver{
		opts: opts, sink: sink, auth: auth, log: opts.Logger,
		popts: parse.SyslogOptions{Location: opts.Location, Now: opts.Now, SkipMessage: opts.SkipMessage},
		cred:  &ingest.Credential{Auth: auth, Token: opts.Token, Recheck: opts.AuthRecheck, Now: opts.Now},
	}
	if _, err := r.currentPrincipal(ctx); err != nil {
		return nil, fmt.Errorf("syslog token: %w", err)
	}
	if err := r.listen(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Receiver) listen() error {
	var err error
	if r.opts.UDPAddr != Off {
		if r.udp, err = net.ListenPacket("udp", r.opts.UDPAddr); err != nil {
			return fmt.Errorf("syslog listen udp: %w", err)
		}
		if uc, ok := r.udp.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(4 << 20) // best effort: absorbs bursts; the kernel may cap it
		}
	}
	if r.opts.TCPAddr != Off {
		if r.tcp, err = net.Listen("tcp", r.opts.TCPAddr); err != nil {
			return fmt.Errorf("syslog listen tcp: %w", err)
		}
	}
	if r.opts.TLSAddr != Off {
		cfg, err := r.tlsConfig()
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", r.opts.TLSAddr)
		if err != nil {
			return fmt.Errorf("syslog listen tls: %w", err)
		}
		r.tls = tls.NewListener(ln, cfg)
	}
	return nil
}

func (r *Receiver) tlsConfig() (*tls.Config, error) {
	if r.opts.TLSConfig != nil {
		return r.opts.TLSConfig, nil
	}
	cert, err := tls.LoadX509KeyPair(r.opts.CertFile, r.opts.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("syslog tls: load certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if r.opts.ClientCAFile != "" {
		pem, err := os.ReadFile(r.opts.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("syslog tls: read client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("syslog tls: no certificate in %s", r.opts.ClientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Name implements ingest.Listener.
func (r *Receiver) Name() string { return "syslog" }

// UDPAddr, TCPAddr and TLSAddr return the bound addresses (nil when off).
func (r *Receiver) UDPAddr() net.Addr {
	if r.udp == nil {
		return nil
	}
	return r.udp.LocalAddr()
}

// TCPAddr returns the bound TCP address, nil when off.
func (r *Receiver) TCPAddr() net.Addr { return lnAddr(r.tcp) }

// TLSAddr returns the bound TLS address, nil when off.
func (r *Receiver) TLSAddr() net.Addr { return lnAddr(r.tls) }

func lnAddr(ln net.Listener) net.Addr {
	if ln == nil {
		return nil
	}
	return ln.Addr()
}

// Close closes the listeners; use it when Run is not called.
func (r *Receiver) Close() error {
	var errs []error
	if r.udp != nil {
		errs = append(errs, r.udp.Close())
	}
	for _, ln := range []net.Listener{r.tcp, r.tls} {
		if ln != nil {
			errs = append(errs, ln.Close())
		}
	}
	return errors.Join(errs...)
}

// Run serves until ctx is cancelled, then closes the listeners and the
// connections and returns once every pending batch was appended or
// refused.
func (r *Receiver) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if r.udp != nil {
		wg.Go(func() { r.serveUDP(ctx) })
	}
	r.conns.Max = r.opts.MaxConns
	r.conns.OnAcceptError = func(err error) { r.log.Warn("syslog accept", "err", err) }
	r.conns.OnRefuse = func(c net.Conn) {
		r.warn.note(r.log, "syslog connection refused: too many connections", c.RemoteAddr().String())
	}
	for _, ln := range []net.Listener{r.tcp, r.tls} {
		if ln != nil {
			wg.Go(func() { r.conns.Serve(ln, func(c net.Conn) { r.serveConn(ctx, c) }) })
		}
	}
	r.log.Info("syslog listening", "udp", r.UDPAddr(), "tcp", r.TCPAddr(), "tls", r.TLSAddr())
	<-ctx.Done()
	_ = r.Close() // errors here only repeat that the sockets are closing
	// Closing a connection wakes its reader, which flushes what it decoded.
	r.conns.Shutdown()
	wg.Wait()
	return nil
}

// currentPrincipal returns the principal of the token, checking it again
// every AuthRecheck.
func (r *Receiver) currentPrincipal(ctx context.Context) (ingest.Principal, error) {
	return r.cred.Principal(ctx)
}
