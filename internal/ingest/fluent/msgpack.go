package fluent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/mamori/mamori/internal/jsonstr"
	"math"
	"strconv"
)

// errShort means the buffer ends inside a value: read more and try again.
var errShort = errors.New("msgpack value cut short")

// errInvalid is wrapped by malformed input errors.
var errInvalid = errors.New("invalid forward message")

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 32

// Kinds of values.
const (
	kNil = iota
	kBool
	kInt
	kUint
	kFloat
	kStr
	kBin
	kArray
	kMap
	kExt
)

// value is a decoded msgpack value. Str and bin data point into the input;
// arrays and maps hold their elements (maps as key, value pairs).
type value struct {
	kind  int
	b     bool
	i     int64
	u     uint64
	f     float64
	data  []byte // str, bin, ext payload
	ext   int8
	elems []value
}

// decoder reads msgpack values from a buffer.
type decoder struct {
	b   []byte
	off int
}

func (d *decoder) need(n int) error {
	if n < 0 || len(d.b)-d.off < n {
		return errShort
	}
	return nil
}

func (d *decoder) take(n int) ([]byte, error) {
	if err := d.need(n); err != nil {
		return nil, err
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) uintN(n int) (uint64, error) {
	p, err := d.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// value decodes the next value.
func (d *decoder) value(depth int) (value, error) {
	if depth > maxDepth {
		return value{}, fmt.Errorf("%w: nested deeper than %d", errInvalid, maxDepth)
	}
	if err := d.need(1); err != nil {
		return value{}, err
	}
	c := d.b[d.off]
	d.off++
	switch {
	case c <= 0x7f:
		return value{kind: kUint, u: uint64(c)}, nil
	case c >= 0xe0:
		return value{kind: kInt, i: int64(int8(c))}, nil
	case c&0xf0 == 0x80:
		return d.container(kMap, int(c&0x0f), depth)
	case c&0xf0 == 0x90:
		return d.container(kArray, int(c&0x0f), depth)
	case c&0xe0 == 0xa0:
		p, err := d.take(int(c & 0x1f))
		return value{kind: kStr, data: p}, err
	}
	switch c {
	case 0xc0:
		return value{kind: kNil}, nil
	case 0xc2, 0xc3:
		return value{kind: kBool, b: c == 0xc3}, nil
	case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb:
		width := lenWidth(c)
		n, err := d.uintN(width)
		if err != nil {
			return value{}, err
		}
		p, err := d.take(int(min(n, math.MaxInt32)))
		kind := kStr
		if c <= 0xc6 {
			kind = kBin
		}
		return value{kind: kind, data: p}, err
	case 0xc7, 0xc8, 0xc9:
		n, err := d.uintN(lenWidth(c))
		if err != nil {
			return value{}, err
		}
		return d.extension(int(min(n, math.MaxInt32)))
	case 0xca:
		u, err := d.uintN(4)
		return value{kind: kFloat, f: float64(math.Float32frombits(uint32(u)))}, err
	case 0xcb:
		u, err := d.uintN(8)
		return value{kind: kFloat, f: math.Float64frombits(u)}, err
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err := d.uintN(1 << (c - 0xcc))
		return value{kind: kUint, u: u}, err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (c - 0xd0)
		u, err := d.uintN(n)
		shift := 64 - 8*n
		return value{kind: kInt, i: int64(u<<shift) >> shift}, err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return d.extension(1 << (c - 0xd4))
	case 0xdc, 0xdd, 0xde, 0xdf:
		n, err := d.uintN(lenWidth(c))
		if err != nil {
			return value{}, err
		}
		kind := kArray
		if c >= 0xde {
			kind = kMap
		}
		return d.container(kind, int(min(n, math.MaxInt32)), depth)
	}
	return value{}, fmt.Errorf("%w: unused msgpack type byte 0x%02x at offset %d", errInvalid, c, d.off-1)
}

// lenWidth is the size of the length of a str, bin, ext, array or map type.
func lenWidth(c byte) int {
	switch c {
	case 0xc4, 0xc7, 0xd9:
		return 1
	case 0xc5, 0xc8, 0xda, 0xdc, 0xde:
		return 2
	}
	return 4
}

func (d *decoder) extension(n int) (value, error) {
	t, err := d.take(1)
	if err != nil {
		return value{}, err
	}
	p, err := d.take(n)
	return value{kind: kExt, ext: int8(t[0]), data: p}, err
}

func (d *decoder) container(kind, n, depth int) (value, error) {
	count := n
	if kind == kMap {
		count = 2 * n
	}
	// Every element takes at least one byte: a count past the buffer
	// is either cut short or hostile; do not allocate for it.
	if err := d.need(count); err != nil {
		return value{}, err
	}
	v := value{kind: kind, elems: make([]value, 0, count)}
	for range count {
		el, err := d.value(depth + 1)
		if err != nil {
			return value{}, err
		}
		v.elems = append(v.elems, el)
	}
	return v, nil
}

// str returns the value as text when it is a string or binary.
func (v value) str() (string, bool) {
	if v.kind == kStr || v.kind == kBin {
		return string(v.data), true
	}
	return "", false
}

// eventTime returns Unix nanoseconds of a forward time: an integer or
// float of seconds, or EventTime (ext 0: uint32 seconds, uint32 nanoseconds).
func (v value) eventTime() (int64, bool) {
	switch v.kind {
	case kUint:
		return int64(v.u) * 1e9, v.u < 1<<33
	case kInt:
		return v.i * 1e9, v.i >= 0 && v.i < 1<<33
	case kFloat:
		return int64(v.f * 1e9), v.f >= 0 && v.f < 1<<33
	case kExt:
		if v.ext == 0 && len(v.data) == 8 {
			return int64(binary.BigEndian.Uint32(v.data))*1e9 + int64(binary.BigEndian.Uint32(v.data[4:])), true
		}
	}
	return 0, false
}

// appendText appends the value as text: strings as they are, numbers in
// decimal, arrays and maps as JSON.
func (v value) appendText(dst []byte) []byte {
	switch v.kind {
	case kNil:
		return dst
	case kStr, kBin:
		return append(dst, v.data...)
	}
	return v.appendJSON(dst)
}

func (v value) appendJSON(dst []byte) []byte {
	switch v.kind {
	case kNil:
		return append(dst, "null"...)
	case kBool:
		return strconv.AppendBool(dst, v.b)
	case kInt:
		return strconv.AppendInt(dst, v.i, 10)
	case kUint:
		return strconv.AppendUint(dst, v.u, 10)
	case kFloat:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return strconv.AppendQuote(dst, strconv.FormatFloat(v.f, 'g', -1, 64))
		}
		return strconv.AppendFloat(dst, v.f, 'g', -1, 64)
	case kStr, kBin:
		return appendJSONString(dst, string(v.data))
	case kExt:
		return appendJSONString(dst, "ext:"+strconv.Itoa(int(v.ext)))
	case kArray:
		dst = append(dst, '[')
		for i, el := range v.elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = el.appendJSON(dst)
		}
		return append(dst, ']')
	case kMap:
		dst = append(dst, '{')
		for i := 0; i+1 < len(v.elems); i += 2 {
			if i > 0 {
				dst = append(dst, ',')
			}
			k := v.elems[i].appendText(nil)
			dst = appendJSONString(dst, string(k))
			dst = append(dst, ':')
			dst = v.elems[i+1].appendJSON(dst)
		}
		return append(dst, '}')
	}
	return dst
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }
