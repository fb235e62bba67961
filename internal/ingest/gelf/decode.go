package gelf

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/parse"
)

// errInvalid is wrapped by payload errors.
var errInvalid = errors.New("invalid GELF message")

// decompress returns the JSON of a GELF payload: gzip (1f 8b), zlib (78 xx)
// or plain, at most max bytes once inflated.
func decompress(b []byte, max int) ([]byte, error) {
	var zr io.ReadCloser
	var err error
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		zr, err = gzip.NewReader(bytes.NewReader(b))
	case len(b) >= 2 && b[0] == 0x78 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0:
		zr, err = zlib.NewReader(bytes.NewReader(b))
	default:
		if len(b) > max {
			return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errInvalid, len(b), max)
		}
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: decompress: %w", errInvalid, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: decompress: %w", errInvalid, err)
	}
	if len(out) > max {
		return nil, fmt.Errorf("%w: more than %d bytes once decompressed", errInvalid, max)
	}
	return out, nil
}

var levelNames = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// decodeMessage turns a GELF JSON document into an event. A document that
// is not a JSON object is kept raw with a parse error (err is then set).
func decodeMessage(b []byte, received int64) (event.Event, error) {
	ev := event.Event{Received: received}
	fields, err := parse.FlattenJSON(b, nil)
	if err != nil {
		ev.Time, ev.Raw = received, string(b)
		ev.Fields = []event.Field{{Name: event.FieldParseError, Value: err.Error()}}
		return ev, fmt.Errorf("%w: %w", errInvalid, err)
	}
	out := fields[:0]
	var short, full string
	for _, f := range fields {
		switch f.Name {
		case "version":
		case "host":
			ev.Host = f.Value
		case "short_message":
			short = f.Value
		case "full_message":
			full = f.Value
		case "timestamp":
			if ns, ok := parse.ParseTimeValue(f.Value); ok {
				ev.Time = ns
			} else {
				out = append(out, f)
			}
		case "level":
			out = append(out, f)
			if len(f.Value) == 1 && f.Value[0] >= '0' && f.Value[0] <= '7' {
				out = append(out, event.Field{Name: "log.level", Value: levelNames[f.Value[0]-'0']})
			}
		default:
			name := f.Name
			if strings.HasPrefix(name, "_") {
				name = strings.TrimLeft(name, "_")
				if name == "" {
					continue
				}
			}
			out = append(out, event.Field{Name: name, Value: f.Value})
		}
	}
	ev.Fields = out
	switch {
	case short != "":
		ev.Raw = short
		if full != "" && full != short {
			ev.Fields = append(ev.Fields, event.Field{Name: "full_message", Value: full})
		}
	case full != "":
		ev.Raw = full
	default:
		ev.Raw = string(b)
		ev.Fields = append(ev.Fields, event.Field{Name: event.FieldParseError, Value: "GELF message without short_message"})
	}
	if ev.Time == 0 {
		ev.Time = received
	}
	return ev, nil
}

// Chunked GELF over UDP.
const (
	chunkMagic0, chunkMagic1 = 0x1e, 0x0f
	chunkHeader              = 12
	maxChunks                = 128
)

// assembler reassembles chunked messages. It is used by one goroutine.
type assembler struct {
	maxPending int           // messages being assembled
	maxBytes   int           // bytes held for all of them
	timeout    time.Duration // a message incomplete for longer is dropped
	pending    map[[8]byte]*partial
	bytes      int
}

type partial struct {
	first  time.Time
	count  int
	got    int
	chunks [][]byte
	size   int
}

// add takes one chunk datagram; it returns the whole payload when the last
// chunk arrived, or an error for a bad chunk. dropped counts messages given
// up (expired or evicted) during the call.
func (a *assembler) add(d []byte, now time.Time) (msg []byte, dropped int, err error) {
	if len(d) < chunkHeader+1 {
		return nil, 0, fmt.Errorf("%w: chunk of %d bytes", errInvalid, len(d))
	}
	var id [8]byte
	copy(id[:], d[2:10])
	seq, count := int(d[10]), int(d[11])
	if count == 0 || count > maxChunks || seq >= count {
		return nil, 0, fmt.Errorf("%w: chunk %d of %d", errInvalid, seq, count)
	}
	dropped = a.expire(now)
	if a.pending == nil {
		a.pending = make(map[[8]byte]*partial)
	}
	p := a.pending[id]
	if p == nil {
		if len(a.pending) >= a.maxPending {
			a.evictOldest()
			dropped++
		}
		p = &partial{first: now, count: count, chunks: make([][]byte, count)}
		a.pending[id] = p
	}
	if p.count != count {
		return nil, dropped, fmt.Errorf("%w: chunk count changed from %d to %d", errInvalid, p.count, count)
	}
	if p.chunks[seq] != nil {
		return nil, dropped, nil // a duplicate datagram
	}
	payload := bytes.Clone(d[chunkHeader:])
	for a.bytes+len(payload) > a.maxBytes && len(a.pending) > 1 {
		a.evictOldest()
		dropped++
		if a.pending[id] == nil {
			return nil, dropped, fmt.Errorf("%w: chunk buffer full", errInvalid)
		}
	}
	p.chunks[seq] = payload
	p.got++
	p.size += len(payload)
	a.bytes += len(payload)
	if p.got < p.count {
		return nil, dropped, nil
	}
	delete(a.pending, id)
	a.bytes -= p.size
	return bytes.Join(p.chunks, nil), dropped, nil
}

func (a *assembler) expire(now time.Time) int {
	n := 0
	for id, p := range a.pending {
		if now.Sub(p.first) > a.timeout {
			a.drop(id, p)
			n++
		}
	}
	return n
}

func (a *assembler) evictOldest() {
	var oldest [8]byte
	var op *partial
	for id, p := range a.pending {
		if op == nil || p.first.Before(op.first) {
			oldest, op = id, p
		}
	}
	if op != nil {
		a.drop(oldest, op)
	}
}

func (a *assembler) drop(id [8]byte, p *partial) {
	delete(a.pending, id)
	a.bytes -= p.size
}

func isChunk(d []byte) bool { return len(d) >= 2 && d[0] == chunkMagic0 && d[1] == chunkMagic1 }
