package pb

import (
	"errors"
	"fmt"
	"math"
)

// Wire types.
const (
	Varint  = 0
	Fixed64 = 1
	Bytes   = 2
	Fixed32 = 5
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed protobuf")

// Field is one field of a message. Val holds varints and the bits of
// fixed32/fixed64 values; Data holds length-delimited values.
type Field struct {
	Num  int
	Type int
	Val  uint64
	Data []byte
	// Cut is set on a length-delimited field whose length runs past the
	// end of the message: Data is the part that is there, and Next
	// returns false after it with Err set.
	Cut bool
}

// Reader iterates over the fields of one message.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a Reader over the message b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Err returns the error that stopped Next, or nil at a clean end.
func (r *Reader) Err() error { return r.err }

// Next reads the next field. It returns false at the end of the message or
// at an error (see Err). Groups (wire types 3 and 4) are rejected.
func (r *Reader) Next() (Field, bool) {
	if r.err != nil || r.off >= len(r.b) {
		return Field{}, false
	}
	key, ok := r.varint()
	if !ok {
		return Field{}, false
	}
	f := Field{Num: int(key >> 3), Type: int(key & 7)}
	if key>>3 == 0 || key>>3 > math.MaxInt32 {
		r.fail("bad field number %d", key>>3)
		return Field{}, false
	}
	switch f.Type {
	case Varint:
		if f.Val, ok = r.varint(); !ok {
			return Field{}, false
		}
	case Fixed64:
		if len(r.b)-r.off < 8 {
			r.fail("fixed64 field %d cut short", f.Num)
			return Field{}, false
		}
		for i := 7; i >= 0; i-- {
			f.Val = f.Val<<8 | uint64(r.b[r.off+i])
		}
		r.off += 8
	case Fixed32:
		if len(r.b)-r.off < 4 {
			r.fail("fixed32 field %d cut short", f.Num)
			return Field{}, false
		}
		for i := 3; i >= 0; i-- {
			f.Val = f.Val<<8 | uint64(r.b[r.off+i])
		}
		r.off += 4
	case Bytes:
		n, ok := r.varint()
		if !ok {
			return Field{}, false
		}
		if n > uint64(len(r.b)-r.off) {
			// Hand out what is there, so a caller can salvage the start
			// of a message cut short; Err reports the cut.
			r.fail("field %d: length %d past the end (%d bytes left)", f.Num, n, len(r.b)-r.off)
			f.Data, f.Cut = r.b[r.off:], true
			r.off = len(r.b)
			return f, true
		}
		f.Data = r.b[r.off : r.off+int(n)]
		r.off += int(n)
	default:
		r.fail("field %d: unsupported wire type %d", f.Num, f.Type)
		return Field{}, false
	}
	return f, true
}

func (r *Reader) fail(format string, args ...any) {
	r.err = fmt.Errorf("%w at byte %d: %s", ErrMalformed, r.off, fmt.Sprintf(format, args...))
}

func (r *Reader) varint() (uint64, bool) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.off >= len(r.b) {
			r.fail("varint cut short")
			return 0, false
		}
		c := r.b[r.off]
		r.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, true
		}
	}
	r.fail("varint too long")
	return 0, false
}

// Double returns a fixed64 field as a float64.
func (f Field) Double() float64 { return math.Float64frombits(f.Val) }

// Int64 returns a varint field as int64 (two's complement, not zigzag).
func (f Field) Int64() int64 { return int64(f.Val) }

// AppendVarint appends v as a varint (for tests and encoders).
func AppendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// AppendBytes appends a length-delimited field.
func AppendBytes(b []byte, num int, data []byte) []byte {
	b = AppendVarint(b, uint64(num)<<3|Bytes)
	b = AppendVarint(b, uint64(len(data)))
	return append(b, data...)
}

// AppendVarintField appends a varint field.
func AppendVarintField(b []byte, num int, v uint64) []byte {
	b = AppendVarint(b, uint64(num)<<3|Varint)
	return AppendVarint(b, v)
}

// AppendFixed64 appends a fixed64 field.
func AppendFixed64(b []byte, num int, v uint64) []byte {
	b = AppendVarint(b, uint64(num)<<3|Fixed64)
	for i := 0; i < 8; i++ {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}
