package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
	"github.com/mamori/mamori/internal/parse"
)

// drainTimeout bounds the last append of a connection during shutdown.
const drainTimeout = 5 * time.Second

// handshakeTimeout bounds a TLS handshake.
const handshakeTimeout = 10 * time.Second

// fieldSourceAddress is the address the message came from (the relay or
// the sender), kept beside the host the message names.
const fieldSourceAddress = "log.source.address"

// batch collects the events of one connection or socket.
type batch struct {
	r      *Receiver
	remote string // sender IP, the default host
	events []event.Event
	bytes  int
	first  time.Time // arrival of events[0]
}

func (b *batch) add(msg []byte, truncated bool, now time.Time) {
	if len(b.events) == 0 {
		b.first = now
		b.events = make([]event.Event, 0, min(b.r.opts.MaxBatch, 64))
	}
	b.events = append(b.events, b.r.decode(msg, truncated, b.remote, now))
	b.bytes += len(msg)
}

func (b *batch) full() bool { return len(b.events) >= b.r.opts.MaxBatch }

// due returns when the batch must be flushed; zero when it is empty.
func (b *batch) due() time.Time {
	if len(b.events) == 0 {
		return time.Time{}
	}
	return b.first.Add(b.r.opts.FlushInterval)
}

// flush appends the batch, waiting while the sink is overloaded. It
// returns false when the events were refused (bad token, sink failure).
func (b *batch) flush(ctx context.Context) bool {
	if len(b.events) == 0 {
		return true
	}
	evs, n := b.events, b.bytes
	b.events, b.bytes = nil, 0 // the sink may keep evs
	r := b.r
	source := r.opts.Source
	p, err := r.currentPrincipal(ctx)
	if err == nil {
		if p.Source != "" {
			source = p.Source
			for i := range evs {
				evs[i].Source = source
			}
		}
		err = ingest.AppendRetry(ctx, r.sink, evs)
	}
	if err != nil {
		r.opts.Metrics.Add("syslog", source, 0, len(evs), n)
		r.warn.note(r.log, "syslog batch refused", b.remote, "events", len(evs), "err", err)
		return false
	}
	r.opts.Metrics.Add("syslog", source, len(evs), 0, n)
	return true
}

// decode turns one message into an event. A message that does not parse
// is kept raw with a parse error.
func (r *Receiver) decode(msg []byte, truncated bool, remote string, now time.Time) event.Event {
	ns := now.UnixNano()
	ev := event.Event{Received: ns, Source: r.opts.Source, Category: r.opts.Category}
	if err := parse.ParseSyslog(msg, &ev, r.popts); err != nil {
		ev.Raw = string(msg)
		ev.Fields = append(ev.Fields, event.Field{Name: event.FieldParseError, Value: err.Error()})
	}
	if ev.Time == 0 {
		ev.Time = ns
	}
	if ev.Host == "" {
		ev.Host = remote
	}
	ev.Fields = append(ev.Fields, event.Field{Name: fieldSourceAddress, Value: remote})
	if truncated {
		ev.Fields = append(ev.Fields, event.Field{Name: "syslog.truncated", Value: "true"})
	}
	return ev
}

// serveConn reads one TCP or TLS connection until it ends or ctx is done.
func (r *Receiver) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	remote := hostOf(c.RemoteAddr())
	if tc, ok := c.(*tls.Conn); ok {
		// Bound the handshake, so silent clients cannot hold connections.
		hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			r.warn.note(r.log, "syslog tls handshake failed", remote, "err", err)
			return
		}
	}
	fr := framer{max: r.opts.MaxMessageBytes}
	buf := make([]byte, 0, max(fr.minBuffer(), 64<<10))
	b := &batch{r: r, remote: remote}
	eof := false
	for {
		off := 0
		for {
			n, msg, truncated, err := fr.next(buf[off:], eof)
			if n == 0 && msg == nil && err == nil {
				break
			}
			off += n
			now := r.opts.Now()
			if err != nil {
				r.opts.Metrics.Add("syslog", r.opts.Source, 0, 1, n)
				r.warn.note(r.log, "syslog malformed frame", remote, "err", err)
			}
			if msg != nil {
				b.add(msg, truncated, now)
			}
			if b.full() && !r.flushConn(ctx, b) {
				return
			}
		}
		buf = buf[:copy(buf, buf[off:])]
		if eof || ctx.Err() != nil {
			r.flushConn(ctx, b)
			return
		}
		if err := c.SetReadDeadline(r.readDeadline(b)); err != nil {
			r.flushConn(ctx, b)
			return
		}
		k, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			if len(b.events) == 0 {
				return // idle
			}
			if !r.flushConn(ctx, b) {
				return
			}
		default:
			eof = true // io.EOF, a reset, or Run closed it: decode what we have
		}
	}
}

// flushConn flushes b; during shutdown it still tries for drainTimeout.
func (r *Receiver) flushConn(ctx context.Context, b *batch) bool {
	if ctx.Err() != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
		defer cancel()
		return b.flush(dctx)
	}
	return b.flush(ctx)
}

func (r *Receiver) readDeadline(b *batch) time.Time {
	if d := b.due(); !d.IsZero() {
		return d
	}
	if r.opts.IdleTimeout > 0 {
		return r.opts.Now().Add(r.opts.IdleTimeout)
	}
	return time.Time{}
}

// serveUDP reads datagrams, one message each, until the socket is closed.
func (r *Receiver) serveUDP(ctx context.Context) {
	buf := make([]byte, 64<<10)
	// One batch per sender keeps the default host right; the map is
	// bounded by flushing everything when it grows.
	batches := make(map[string]*batch)
	flushAll := func() {
		for k, b := range batches {
			r.flushConn(ctx, b)
			delete(batches, k)
		}
	}
	defer flushAll()
	for {
		var deadline time.Time
		for _, b := range batches {
			if d := b.due(); !d.IsZero() && (deadline.IsZero() || d.Before(deadline)) {
				deadline = d
			}
		}
		if err := r.udp.SetReadDeadline(deadline); err != nil {
			return
		}
		n, addr, err := r.udp.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				flushAll()
				continue
			}
			return // closed by Run
		}
		msg := trimDatagram(buf[:n])
		if len(msg) > r.opts.MaxMessageBytes {
			msg = msg[:r.opts.MaxMessageBytes]
		}
		if len(msg) == 0 {
			continue
		}
		host := hostOf(addr)
		b := batches[host]
		if b == nil {
			if len(batches) >= 256 {
				flushAll()
			}
			b = &batch{r: r, remote: host}
			batches[host] = b
		}
		b.add(msg, n > r.opts.MaxMessageBytes, r.opts.Now())
		if b.full() {
			r.flushConn(ctx, b)
		}
	}
}

func trimDatagram(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == 0 || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func hostOf(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.String()
	case *net.UDPAddr:
		return a.IP.String()
	case nil:
		return ""
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// warnLimiter logs a warning at most once per interval and counts the
// ones it held back, so a flood of bad input cannot flood the log.
type warnLimiter struct {
	mu      sync.Mutex // guards last and dropped
	last    time.Time
	dropped int
}

func (w *warnLimiter) note(log *slog.Logger, msg, remote string, args ...any) {
	w.mu.Lock()
	now := time.Now()
	if now.Sub(w.last) < 10*time.Second {
		w.dropped++
		w.mu.Unlock()
		return
	}
	held := w.dropped
	w.last, w.dropped = now, 0
	w.mu.Unlock()
	log.Warn(msg, append([]any{"remote_addr", remote, "similar_suppressed", held}, args...)...)
}
