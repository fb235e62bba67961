package gelf

import (
	"bytes"
	"context"
	"errors"
	"net"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/ingest"
)

// drainTimeout bounds the last append of a connection during shutdown.
const drainTimeout = 5 * time.Second

// TODO(ingest): share the batching connection loop with package syslog
// once a third stream receiver needs it.

// batch collects the events of one socket or connection.
type batch struct {
	events []event.Event
	bytes  int
	first  time.Time
}

func (b *batch) add(ev event.Event, n int, now time.Time) {
	if len(b.events) == 0 {
		b.first = now
	}
	b.events = append(b.events, ev)
	b.bytes += n
}

// flush appends the batch, waiting while the sink is overloaded (which
// stops the reading and so pushes back on TCP senders).
func (r *Receiver) flush(ctx context.Context, b *batch) bool {
	if len(b.events) == 0 {
		return true
	}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
		defer cancel()
	}
	evs, n := b.events, b.bytes
	b.events, b.bytes = nil, 0
	p, err := r.currentPrincipal(ctx)
	source := r.opts.Source
	if p.Source != "" {
		source = p.Source
	}
	if err == nil {
		for i := range evs {
			evs[i].Source, evs[i].Category = source, r.opts.Category
		}
		err = ingest.AppendRetry(ctx, r.sink, evs)
	}
	if err != nil {
		r.opts.Metrics.Add("gelf", source, 0, len(evs), n)
		r.log.Warn("gelf batch refused", "events", len(evs), "err", err)
		return false
	}
	r.opts.Metrics.Add("gelf", source, len(evs), 0, n)
	return true
}

func (r *Receiver) deadline(b *batch) time.Time {
	if len(b.events) == 0 {
		return time.Time{}
	}
	return b.first.Add(r.opts.FlushInterval)
}

func (r *Receiver) serveUDP(ctx context.Context) {
	buf := make([]byte, 64<<10)
	asm := assembler{maxPending: 1024, maxBytes: 64 << 20, timeout: r.opts.ChunkTimeout}
	b := &batch{}
	defer r.flush(ctx, b)
	for {
		if err := r.udp.SetReadDeadline(r.deadline(b)); err != nil {
			return
		}
		n, _, err := r.udp.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				r.flush(ctx, b)
				continue
			}
			return // closed by Run
		}
		now := r.opts.Now()
		d := buf[:n]
		if isChunk(d) {
			msg, dropped, err := asm.add(d, now)
			if dropped > 0 {
				r.opts.Metrics.Add("gelf", r.opts.Source, 0, dropped, 0)
			}
			if err != nil {
				r.opts.Metrics.Add("gelf", r.opts.Source, 0, 1, n)
				continue
			}
			if msg == nil {
				continue
			}
			d = msg
		}
		r.addPayload(b, d, now)
		if len(b.events) >= r.opts.MaxBatch {
			r.flush(ctx, b)
		}
	}
}

// addPayload decompresses and decodes one message into the batch. A
// payload that does not decompress is counted as rejected.
func (r *Receiver) addPayload(b *batch, d []byte, now time.Time) {
	js, err := decompress(d, r.opts.MaxMessageBytes)
	if err != nil {
		r.opts.Metrics.Add("gelf", r.opts.Source, 0, 1, len(d))
		return
	}
	ev, _ := decodeMessage(js, now.UnixNano()) // a bad document is kept raw
	b.add(ev, len(js), now)
}

// serveConn reads NUL- or LF-terminated messages from one connection.
func (r *Receiver) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	max := r.opts.MaxMessageBytes
	buf := make([]byte, 0, max+1)
	b := &batch{}
	skipping := false // dropping the rest of an over-long message
	eof := false
	for {
		off := 0
		for {
			rest := buf[off:]
			i := bytes.IndexAny(rest, "\x00\n")
			if i < 0 {
				if len(rest) > max || (eof && len(rest) > 0) {
					if !skipping && !eof {
						r.opts.Metrics.Add("gelf", r.opts.Source, 0, 1, len(rest))
						skipping = true
					} else if eof && !skipping {
						r.addPayload(b, trim(rest), r.opts.Now())
					}
					off = len(buf)
				}
				break
			}
			msg := trim(rest[:i])
			off += i + 1
			if skipping {
				skipping = false
				continue
			}
			if len(msg) > 0 {
				r.addPayload(b, msg, r.opts.Now())
			}
			if len(b.events) >= r.opts.MaxBatch && !r.flush(ctx, b) {
				return
			}
		}
		buf = buf[:copy(buf, buf[off:])]
		if eof || ctx.Err() != nil {
			r.flush(ctx, b)
			return
		}
		if err := c.SetReadDeadline(r.deadline(b)); err != nil {
			r.flush(ctx, b)
			return
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			if !r.flush(ctx, b) {
				return
			}
		default:
			eof = true
		}
	}
}
