package evtx

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// refUTF16 is the plain decoding appendUTF16 must match.
func refUTF16(b []byte) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	var out []byte
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return out
}

func checkUTF16(t *testing.T, b []byte) {
	t.Helper()
	want := refUTF16(b)
	if got := appendUTF16(nil, b); !bytes.Equal(got, want) {
		t.Fatalf("appendUTF16(% x) = %q, want %q", b, got, want)
	}
	if got := appendUTF16([]byte("pre"), b); !bytes.Equal(got, append([]byte("pre"), want...)) {
		t.Fatalf("appendUTF16 after a prefix (% x) = %q", b, got)
	}
}

func TestAppendUTF16(t *testing.T) {
	enc := func(s string, extra ...uint16) []byte {
		var b []byte
		for _, u := range append(utf16.Encode([]rune(s)), extra...) {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		return b
	}
	for _, b := range [][]byte{
		nil, {0}, {'a'}, enc("a"), enc("abc", 0, 0), enc("abcdefgh"), enc("abcdefghi\x00x"),
		enc("C:\\Windows\\System32\\cmd.exe"), enc("caf\u00e9 na\u00efve"), enc("abcd\u00e9fgh"),
		enc("emoji \U0001F600 end"), enc("lone", 0xd800), enc("lone", 0xdc00, 'x'), enc("pair", 0xd83d, 0xde00, 0),
		enc("\x7f\x80abc"), enc("abc")[:5],
	} {
		checkUTF16(t, b)
	}
	rng := rand.New(rand.NewSource(1))
	units := []uint16{0, 'a', 'Z', 0x7f, 0x80, 0xe9, 0x100, 0x4e2d, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfffd, 0xffff}
	for i := 0; i < 20000; i++ {
		var b []byte
		for j := rng.Intn(20); j > 0; j-- {
			if rng.Intn(3) > 0 {
				b = binary.LittleEndian.AppendUint16(b, uint16('a'+rng.Intn(26)))
			} else {
				b = binary.LittleEndian.AppendUint16(b, units[rng.Intn(len(units))])
			}
		}
		if rng.Intn(4) == 0 {
			b = append(b, byte(rng.Intn(256)))
		}
		checkUTF16(t, b)
	}
}

func FuzzAppendUTF16(f *testing.F) {
	f.Add([]byte("a\x00b\x00"))
	f.Add([]byte{0x3d, 0xd8, 0x00, 0xde, 'x', 0})
	f.Fuzz(func(t *testing.T, b []byte) { checkUTF16(t, b) })
}
