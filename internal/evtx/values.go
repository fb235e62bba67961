package evtx

import (
	"encoding/binary"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// appendUTF16 appends the UTF-16LE text b as UTF-8, without trailing NULs.
func appendUTF16(dst, b []byte) []byte {
	n := len(b) / 2
	for n > 0 && b[2*n-2] == 0 && b[2*n-1] == 0 {
		n--
	}
	// Fast path: ASCII, four code units at a time.
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	out := dst[start:]
	i := 0
	for ; i+4 <= n; i += 4 {
		w := binary.LittleEndian.Uint64(b[2*i:])
		if w&0xff80ff80ff80ff80 != 0 {
			break
		}
		o := out[i : i+4 : i+4]
		o[0], o[1], o[2], o[3] = byte(w), byte(w>>16), byte(w>>32), byte(w>>48)
	}
	for ; i < n && b[2*i+1] == 0 && b[2*i] < 0x80; i++ {
		out[i] = b[2*i]
	}
	if i == n {
		return dst
	}
	dst = dst[:start+i]
	// Slow path: UTF-16 with surrogates, decoded as utf16.Decode does.
	// Units before i are ASCII, so no surrogate pair is split.
	for ; i < n; i++ {
		r := rune(binary.LittleEndian.Uint16(b[2*i:]))
		switch {
		case r < 0xd800 || r >= 0xe000:
		case r < 0xdc00 && i+1 < n:
			r2 := rune(binary.LittleEndian.Uint16(b[2*i+2:]))
			if r2 >= 0xdc00 && r2 < 0xe000 {
				r = utf16.DecodeRune(r, r2)
				i++
			} else {
				r = utf8.RuneError
			}
		default:
			r = utf8.RuneError
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

func utf16String(b []byte) string { return string(appendUTF16(nil, b)) }

// formatValue renders a substitution value as evtx_dump does. null is true
// for the null type and empty values.
func formatValue(typ byte, d []byte) (string, bool) {
	b, null := appendValue(nil, typ, d)
	return string(b), null
}

// appendValue appends the text of a substitution value (see formatValue).
func appendValue(dst []byte, typ byte, d []byte) ([]byte, bool) {
	if typ&0x80 != 0 {
		return append(dst, formatArray(typ&0x7f, d)...), len(d) == 0
	}
	if len(d) == 0 || typ == 0 {
		return dst, true
	}
	le := binary.LittleEndian
	switch typ {
	case 0x01:
		return appendUTF16(dst, d), false
	case 0x02:
		for len(d) > 0 && d[len(d)-1] == 0 {
			d = d[:len(d)-1]
		}
		return append(dst, d...), false
	case 0x03:
		return strconv.AppendInt(dst, int64(int8(d[0])), 10), false
	case 0x04:
		return strconv.AppendInt(dst, int64(d[0]), 10), false
	}
	if int(typ) < len(typeSize) && len(d) < typeSize[typ] {
		return appendHex(dst, d), false
	}
	switch typ {
	case 0x05:
		return strconv.AppendInt(dst, int64(int16(le.Uint16(d))), 10), false
	case 0x06:
		return strconv.AppendInt(dst, int64(le.Uint16(d)), 10), false
	case 0x07:
		return strconv.AppendInt(dst, int64(int32(le.Uint32(d))), 10), false
	case 0x08:
		return strconv.AppendUint(dst, uint64(le.Uint32(d)), 10), false
	case 0x09:
		return strconv.AppendInt(dst, int64(le.Uint64(d)), 10), false
	case 0x0a:
		return strconv.AppendUint(dst, le.Uint64(d), 10), false
	case 0x0b:
		return strconv.AppendFloat(dst, float64(float32frombits(le.Uint32(d))), 'g', -1, 32), false
	case 0x0c:
		return strconv.AppendFloat(dst, float64frombits(le.Uint64(d)), 'g', -1, 64), false
	case 0x0d:
		return strconv.AppendBool(dst, le.Uint32(d) != 0), false
	case 0x0f:
		return appendGUID(dst, d), false
	case 0x10:
		if len(d) == 4 {
			return strconv.AppendUint(append(dst, "0x"...), uint64(le.Uint32(d)), 16), false
		}
		if len(d) >= 8 {
			return strconv.AppendUint(append(dst, "0x"...), le.Uint64(d), 16), false
		}
	case 0x11:
		return appendTime(dst, filetimeNanos(le.Uint64(d))), false
	case 0x12:
		t := time.Date(int(le.Uint16(d)), time.Month(le.Uint16(d[2:])), int(le.Uint16(d[6:])),
			int(le.Uint16(d[8:])), int(le.Uint16(d[10:])), int(le.Uint16(d[12:])), int(le.Uint16(d[14:]))*1e6, time.UTC)
		return appendTime(dst, t.UnixNano()), false
	case 0x13:
		return appendSID(dst, d), false
	case 0x14:
		return strconv.AppendUint(append(dst, "0x"...), uint64(le.Uint32(d)), 16), false
	case 0x15:
		return strconv.AppendUint(append(dst, "0x"...), le.Uint64(d), 16), false
	}
	return appendHex(dst, d), false
}

// typeSize is the byte size of the fixed-size value types (0: variable).
var typeSize = [...]int{0x03: 1, 0x04: 1, 0x05: 2, 0x06: 2, 0x07: 4, 0x08: 4, 0x09: 8, 0x0a: 8, 0x0b: 4, 0x0c: 8,
	0x0d: 4, 0x0f: 16, 0x11: 8, 0x12: 16, 0x14: 4, 0x15: 8}

func appendTime(dst []byte, ns int64) []byte {
	return time.Unix(0, ns).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z")
}

const hexDigits = "0123456789ABCDEF"

func appendHex(dst, d []byte) []byte {
	for _, c := range d {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

func appendGUID(dst, d []byte) []byte {
	for i, idx := range [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15} {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[d[idx]>>4], hexDigits[d[idx]&0xf])
	}
	return dst
}

func appendSID(dst, d []byte) []byte {
	if len(d) < 8 {
		return appendHex(dst, d)
	}
	n := int(d[1])
	var auth uint64
	for _, c := range d[2:8] {
		auth = auth<<8 | uint64(c)
	}
	dst = append(dst, "S-"...)
	dst = strconv.AppendInt(dst, int64(d[0]), 10)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, auth, 10)
	for i := 0; i < n && 8+4*i+4 <= len(d); i++ {
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(d[8+4*i:])), 10)
	}
	return dst
}

// formatArray renders an array value as JSON array text.
func formatArray(typ byte, d []byte) string {
	var items []string
	if typ == 0x01 {
		// NUL-terminated UTF-16 strings.
		start := 0
		for i := 0; i+1 < len(d); i += 2 {
			if d[i] == 0 && d[i+1] == 0 {
				items = append(items, utf16String(d[start:i]))
				start = i + 2
			}
		}
		if start < len(d)-1 {
			items = append(items, utf16String(d[start:]))
		}
	} else {
		size := 0
		if int(typ) < len(typeSize) {
			size = typeSize[typ]
		}
		if typ == 0x10 {
			size = 8
		}
		if size == 0 {
			return string(appendHex(nil, d))
		}
		for i := 0; i+size <= len(d); i += size {
			v, _ := formatValue(typ, d[i:i+size])
			items = append(items, v)
		}
	}
	b := []byte{'['}
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, it)
	}
	return string(append(b, ']'))
}
