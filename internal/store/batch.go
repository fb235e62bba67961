package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/mamori/mamori/internal/event"
)

// A WAL record's payload is one batch of events:
//
//	uvarint count
//	per event: varint time, varint received, str raw, str source, str host,
//	           str category, str partition, uvarint nfields, nfields × (str name, str value)
//
// where str is uvarint length then bytes.

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendBatch appends the encoding of evs to b.
func appendBatch(b []byte, evs []event.Event) []byte {
	b = binary.AppendUvarint(b, uint64(len(evs)))
	for i := range evs {
		e := &evs[i]
		b = binary.AppendVarint(b, e.Time)
		b = binary.AppendVarint(b, e.Received)
		b = appendStr(b, e.Raw)
		b = appendStr(b, e.Source)
		b = appendStr(b, e.Host)
		b = appendStr(b, e.Category)
		b = appendStr(b, e.Partition)
		b = binary.AppendUvarint(b, uint64(len(e.Fields)))
		for _, f := range e.Fields {
			b = appendStr(b, f.Name)
			b = appendStr(b, f.Value)
		}
	}
	return b
}

// uvarintLen is the length of x's uvarint encoding.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// varintLen is the length of x's varint (zig-zag) encoding.
func varintLen(x int64) int { return uvarintLen(uint64(x<<1) ^ uint64(x>>63)) }

func strLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

// batchSize is the exact length of appendBatch's encoding of evs with
// each event's partition replaced by parts[i].
func batchSize(evs []event.Event, parts []string) int {
	n := uvarintLen(uint64(len(evs)))
	for i := range evs {
		e := &evs[i]
		n += varintLen(e.Time) + varintLen(e.Received) + strLen(e.Raw) + strLen(e.Source) + strLen(e.Host) +
			strLen(e.Category) + strLen(parts[i]) + uvarintLen(uint64(len(e.Fields)))
		for j := range e.Fields {
			f := &e.Fields[j]
			n += len(f.Name) + len(f.Value) + 2
			if len(f.Name)|len(f.Value) >= 0x80 {
				n += uvarintLen(uint64(len(f.Name))) + uvarintLen(uint64(len(f.Value))) - 2
			}
		}
	}
	return n
}

// encodeBatch returns appendBatch's encoding of evs, each event's
// partition replaced by parts[i], and the offset of each event's encoding
// in it (for decodeEventAt). size is batchSize(evs, parts).
func encodeBatch(evs []event.Event, parts []string, size int) ([]byte, []uint32) {
	b := make([]byte, 0, size)
	offs := make([]uint32, len(evs))
	b = binary.AppendUvarint(b, uint64(len(evs)))
	for i := range evs {
		e := &evs[i]
		offs[i] = uint32(len(b))
		b = binary.AppendVarint(b, e.Time)
		b = binary.AppendVarint(b, e.Received)
		b = appendStr(b, e.Raw)
		b = appendStr(b, e.Source)
		b = appendStr(b, e.Host)
		b = appendStr(b, e.Category)
		b = appendStr(b, parts[i])
		b = binary.AppendUvarint(b, uint64(len(e.Fields)))
		for _, f := range e.Fields {
			b = appendStr(b, f.Name)
			b = appendStr(b, f.Value)
		}
	}
	return b, offs
}

var errShort = errors.New("truncated data")

// reader decodes from a string, so decoded strings share its memory.
type reader struct {
	s   string
	off int
	err error
}

func (r *reader) uvarint() uint64 {
	if off := r.off; r.err == nil && off < len(r.s) && r.s[off] < 0x80 {
		r.off++
		return uint64(r.s[off]) // Fast path: one byte (most lengths and counts).
	}
	return r.uvarintSlow()
}

func (r *reader) uvarintSlow() uint64 {
	if r.err != nil {
		return 0
	}
	// r.off in a local: times take nine bytes, raw texts two.
	p, off := r.s, r.off
	var x uint64
	var sh uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if off >= len(p) {
			r.off, r.err = off, errShort
			return 0
		}
		c := p[off]
		off++
		if c < 0x80 {
			r.off = off
			if i == binary.MaxVarintLen64-1 && c > 1 {
				r.err = errors.New("varint overflow")
				return 0
			}
			return x | uint64(c)<<sh
		}
		x |= uint64(c&0x7f) << sh
		sh += 7
	}
	r.off = off
	r.err = errors.New("varint overflow")
	return 0
}

func (r *reader) varint() int64 {
	u := r.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// count reads a count that must not exceed the bytes left divided by
// minSize, so corrupt input cannot make us allocate without bound.
func (r *reader) count(minSize int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64((len(r.s)-r.off)/max(minSize, 1)) {
		r.err = fmt.Errorf("count %d larger than the data", n)
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	if off := r.off; r.err == nil && off < len(r.s) {
		if n := int(r.s[off]); n < 0x80 && n < len(r.s)-off {
			r.off = off + 1 + n // Fast path: a length of one byte.
			return r.s[off+1 : r.off]
		}
	}
	return r.strSlow()
}

func (r *reader) strSlow() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.s)-r.off) {
		r.err = errShort
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

func (r *reader) bytes(n int) string {
	if r.err != nil {
		return ""
	}
	if n < 0 || n > len(r.s)-r.off {
		r.err = errShort
		return ""
	}
	s := r.s[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) u32() uint32 {
	s := r.bytes(4)
	if r.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint32([]byte(s))
}

// decodeBatch decodes a batch; the events' strings share p's memory.
func decodeBatch(p string) ([]event.Event, error) {
	evs, _, err := decodeBatchAt(p, false)
	return evs, err
}

// decodeBatchAt is decodeBatch that also returns the offset of each
// event's encoding in p (for decodeEventAt) when offsets is set.
func decodeBatchAt(p string, offsets bool) ([]event.Event, []uint32, error) {
	r := &reader{s: p}
	n := r.count(9)
	if r.err != nil {
		return nil, nil, fmt.Errorf("decode batch: %w", r.err)
	}
	evs := make([]event.Event, n)
	var offs []uint32
	if offsets {
		offs = make([]uint32, n)
	}
	var fields []event.Field
	for i := range evs {
		if offsets {
			offs[i] = uint32(r.off)
		}
		e := &evs[i]
		var nf int
		if nf = r.eventHead(e); r.err != nil {
			return nil, nil, fmt.Errorf("decode batch: event %d: %w", i, r.err)
		}
		if len(fields)+nf > cap(fields) {
			fields = make([]event.Field, 0, max(nf, 8*(n-i)))
		}
		start := len(fields)
		fields = r.fields(fields, nf)
		e.Fields = fields[start:len(fields):len(fields)]
		if r.err != nil {
			return nil, nil, fmt.Errorf("decode batch: event %d: %w", i, r.err)
		}
	}
	if r.off != len(r.s) {
		return nil, nil, fmt.Errorf("decode batch: %d trailing bytes", len(r.s)-r.off)
	}
	return evs, offs, nil
}

// eventHead decodes an event up to its field count, which it returns.
func (r *reader) eventHead(e *event.Event) int {
	e.Time = r.varint()
	e.Received = r.varint()
	e.Raw = r.str()
	e.Source = r.str()
	e.Host = r.str()
	e.Category = r.str()
	e.Partition = r.str()
	return r.count(2)
}

// fields appends nf decoded fields to dst.
func (r *reader) fields(dst []event.Field, nf int) []event.Field {
	p, off := r.s, r.off
	for j := 0; j < nf; j++ {
		// Fast path: a name and a value of one-byte lengths.
		if r.err == nil && off < len(p) {
			if n := int(p[off]); n < 0x80 && n < len(p)-off-1 {
				v := off + 1 + n
				if m := int(p[v]); m < 0x80 && m < len(p)-v {
					dst = append(dst, event.Field{Name: p[off+1 : v], Value: p[v+1 : v+1+m]})
					off = v + 1 + m
					continue
				}
			}
		}
		r.off = off
		dst = append(dst, event.Field{Name: r.str(), Value: r.str()})
		off = r.off
	}
	r.off = off
	return dst
}

// decodeEventAt decodes the event whose encoding starts at off in the
// batch p (an offset from encodeBatch or decodeBatchAt), appending its
// fields to fields; the event's Fields and strings share the memory of
// fields and p.
func decodeEventAt(p string, off uint32, e *event.Event, fields []event.Field) ([]event.Field, error) {
	if int(off) > len(p) {
		return fields, fmt.Errorf("decode event at %d: %w", off, errShort)
	}
	r := &reader{s: p, off: int(off)}
	nf := r.eventHead(e)
	start := len(fields)
	fields = r.fields(fields, nf)
	e.Fields = fields[start:len(fields):len(fields)]
	if r.err != nil {
		return fields, fmt.Errorf("decode event at %d: %w", off, r.err)
	}
	return fields, nil
}
