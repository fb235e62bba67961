package fluent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
)

// DefaultAddr is where the listener binds by default.
const DefaultAddr = "127.0.0.1:24224"

// Options configures a Receiver. The zero value listens on 127.0.0.1:24224.
type Options struct {
	// Addr is the TCP listen address; default DefaultAddr.
	Addr string
	// Token is the credential of the listener, checked with the
	// Authenticator at start and every 30s.
	Token string
	// SharedKey, when set, requires the forward protocol's shared-key
	// handshake (Fluentd/Fluent Bit "shared_key"; user authentication is
	// not supported): senders without the key are refused.
	SharedKey string
	// ServerHostname is the name given in the handshake; default
	// os.Hostname. It must differ from the senders' names.
	ServerHostname string
	// Source is the source of the events; default "fluent". A
	// source-bound token overrides it.
	Source string
	// Category is the category of the events.
	Category string
	// MaxMessageBytes bounds one forward message (a Fluentd chunk), on the
	// wire and once decompressed; default 32 MiB.
	MaxMessageBytes int
	// MaxConns bounds concurrent connections; default 1024.
	MaxConns int
	// Metrics receives the counts (receiver "fluent"); nil discards them.
	Metrics *ingest.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Receiver serves the Fluent Forward protocol. It implements ingest.Listener.
type Receiver struct {
	opts Options
	sink ingest.Sink
	auth ingest.Authenticator
	log  *slog.Logger
	ln   net.Listener

	cred *ingest.Credential

	conns ingest.ConnSet
}

// New binds the listener and checks the token; call Run to serve.
func New(ctx context.Context, sink ingest.Sink, auth ingest.Authenticator, opts Options) (*Receiver, error) {
	if sink == nil || auth == nil {
		return nil, errors.New("fluent: a sink and an authenticator are required")
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.Source == "" {
		opts.Source = "fluent"
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 32 << 20
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 1024
	}
	if opts.ServerHostname == "" {
		opts.ServerHostname, _ = os.Hostname() // best effort: only a label in the handshake
		if opts.ServerHostname == "" {
			opts.ServerHostname = "mamori"
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Receiver{opts: opts, sink: sink, auth: auth, log: opts.Logger,
		cred: &ingest.Credential{Auth: auth, Token: opts.Token, Now: opts.Now}}
	if _, err := r.currentPrincipal(ctx); err != nil {
		return nil, fmt.Errorf("fluent token: %w", err)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fluent listen: %w", err)
	}
	r.ln = ln
	return r, nil
}

// Name implements ingest.Listener.
func (r *Receiver) Name() string { return "fluent" }

// Addr returns the bound address.
func (r *Receiver) Addr() net.Addr { return r.ln.Addr() }

// Close closes the listener; use it when Run is not called.
func (r *Receiver) Close() error { return r.ln.Close() }

// Run serves until ctx is cancelled, then closes the listener and the
// connections and returns after the in-flight messages were appended and
// acknowledged, or refused.
func (r *Receiver) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	r.conns.Max = r.opts.MaxConns
	// A read deadline stops reading but lets pending acknowledgements out.
	r.conns.Stop = func(c net.Conn) { _ = c.SetReadDeadline(time.Now()) }
	wg.Go(func() { r.conns.Serve(r.ln, func(c net.Conn) { r.serveConn(ctx, c) }) })
	<-ctx.Done()
	_ = r.ln.Close() // errors here only repeat that the socket is closing
	r.conns.Shutdown()
	wg.Wait()
	return nil
}

func (r *Receiver) currentPrincipal(ctx context.Context) (ingest.Principal, error) {
	return r.cred.Principal(ctx)
}

// serveConn reads messages; after each read it appends every complete
// message's events in one batch, then writes the acknowledgements.
func (r *Receiver) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	buf := make([]byte, 0, 64<<10)
	if r.opts.SharedKey != "" {
		rest, err := r.handshake(c)
		if err != nil {
			r.opts.Metrics.Add("fluent", r.opts.Source, 0, 1, 0)
			r.log.Warn("fluent handshake refused", "remote_addr", c.RemoteAddr().String(), "err", err)
			return
		}
		buf = append(buf, rest...)
		if len(buf) > 0 {
			off, ok := r.process(ctx, c, buf)
			buf = buf[:copy(buf, buf[off:])]
			if !ok {
				return
			}
		}
	}
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= r.opts.MaxMessageBytes {
				r.opts.Metrics.Add("fluent", r.opts.Source, 0, 1, len(buf))
				r.log.Warn("fluent message over the limit: connection closed", "remote_addr", c.RemoteAddr().String(), "limit", r.opts.MaxMessageBytes)
				return
			}
			buf = append(make([]byte, 0, min(2*cap(buf), r.opts.MaxMessageBytes)), buf...)
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		off, ok := r.process(ctx, c, buf)
		buf = buf[:copy(buf, buf[off:])]
		if !ok || err != nil || ctx.Err() != nil {
			return
		}
	}
}

// process decodes the complete messages at the start of buf, appends their
// events and acknowledges them. It returns how many bytes it used and
// false when the connection must be closed.
func (r *Receiver) process(ctx context.Context, c net.Conn, buf []byte) (int, bool) {
	var events []event.Event
	var acks []string
	d := decoder{b: buf}
	off, ok := 0, true
	received := r.opts.Now().UnixNano()
	for d.off < len(buf) {
		v, err := d.value(0)
		if errors.Is(err, errShort) {
			break
		}
		var evs []event.Event
		var chunk string
		if err == nil {
			evs, chunk, err = decodeMessage(v, received, r.opts.MaxMessageBytes)
		}
		if err != nil {
			// A msgpack stream cannot be resynchronised: keep what came
			// before, and close the connection so the sender resends.
			r.opts.Metrics.Add("fluent", r.opts.Source, 0, 1, len(buf)-off)
			r.log.Warn("fluent malformed message: connection closed", "remote_addr", c.RemoteAddr().String(), "err", err)
			ok = false
			break
		}
		events = append(events, evs...)
		if chunk != "" {
			acks = append(acks, chunk)
		}
		off = d.off
	}
	if len(events) == 0 {
		return off, ok && r.ack(c, acks)
	}
	if !r.flush(ctx, events, off) {
		return off, false
	}
	return off, ok && r.ack(c, acks)
}

// flush appends events, waiting while the sink is overloaded.
func (r *Receiver) flush(ctx context.Context, events []event.Event, n int) bool {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
	}
	p, err := r.currentPrincipal(ctx)
	source := r.opts.Source
	if p.Source != "" {
		source = p.Source
	}
	if err == nil {
		for i := range events {
			events[i].Source, events[i].Category = source, r.opts.Category
		}
		err = ingest.AppendRetry(ctx, r.sink, events)
	}
	if err != nil {
		r.opts.Metrics.Add("fluent", source, 0, len(events), n)
		r.log.Warn("fluent batch refused", "events", len(events), "err", err)
		return false // no ack: the sender resends
	}
	r.opts.Metrics.Add("fluent", source, len(events), 0, n)
	return true
}

// ack writes {"ack": chunk} for every chunk.
func (r *Receiver) ack(c net.Conn, chunks []string) bool {
	if len(chunks) == 0 {
		return true
	}
	var out []byte
	for _, ch := range chunks {
		out = append(out, 0x81, 0xa3, 'a', 'c', 'k')
		out = appendMsgpackString(out, ch)
	}
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Write(out)
	return err == nil
}

func appendMsgpackString(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 256:
		b = append(b, 0xd9, byte(n))
	case n < 1<<16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}
