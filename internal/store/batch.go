package store

import (
	"encoding/binary"
	"errors"
	"fmt"

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

var errShort = errors.New("truncated data")

// reader decodes from a string, so decoded strings share its memory.
type reader struct {
	s   string
	off int
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if r.off >= len(r.s) {
			r.err = errShort
			return 0
		}
		c := r.s[r.off]
		r.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				r.err = errors.New("varint overflow")
				return 0
			}
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
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
	r := &reader{s: p}
	n := r.count(9)
	if r.err != nil {
		return nil, fmt.Errorf("decode batch: %w", r.err)
	}
	evs := make([]event.Event, n)
	var fields []event.Field
	for i := range evs {
		e := &evs[i]
		e.Time = r.varint()
		e.Received = r.varint()
		e.Raw = r.str()
		e.Source = r.str()
		e.Host = r.str()
		e.Category = r.str()
		e.Partition = r.str()
		nf := r.count(2)
		if r.err != nil {
			return nil, fmt.Errorf("decode batch: event %d: %w", i, r.err)
		}
		if len(fields)+nf > cap(fields) {
			fields = make([]event.Field, 0, max(nf, 8*(n-i)))
		}
		start := len(fields)
		for j := 0; j < nf; j++ {
			fields = append(fields, event.Field{Name: r.str(), Value: r.str()})
		}
		e.Fields = fields[start:len(fields):len(fields)]
		if r.err != nil {
			return nil, fmt.Errorf("decode batch: event %d: %w", i, r.err)
		}
	}
	if r.off != len(r.s) {
		return nil, fmt.Errorf("decode batch: %d trailing bytes", len(r.s)-r.off)
	}
	return evs, nil
}
