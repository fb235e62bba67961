package parse

import (
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// Tests of the word-at-a-time helpers the CEF parser uses (byteMask,
// eqBits, digitMask, isIPv4Fast, epochDigits) against plain references.

func TestByteMasks(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			for round := 0; round < 8; round++ {
				var b [8]byte
				for i := range b {
					b[i] = byte(rnd.Intn(256))
				}
				b[pos] = byte(c)
				w := load64(string(b[:]), 0)
				var wantEq, wantDigit, wantBits uint64
				for i, x := range b {
					if x == '=' {
						wantEq |= 0x80 << (8 * i)
						wantBits |= 1 << i
					}
					if isDigit(x) {
						wantDigit |= 0x80 << (8 * i)
					}
				}
				if got := byteMask(w, '='); got != wantEq {
					t.Fatalf("byteMask(%q, '=') = %x, want %x", b, got, wantEq)
				}
				if got, want := spaceMask(w), byteMask(w, ' '); got != want {
					t.Fatalf("spaceMask(%q) = %x, want %x", b, got, want)
				}
				if got := eqBits(w); got != wantBits {
					t.Fatalf("eqBits(%q) = %08b, want %08b", b, got, wantBits)
				}
				if got := digitMask(w); got != wantDigit {
					t.Fatalf("digitMask(%q) = %x, want %x", b, got, wantDigit)
				}
			}
		}
	}
}

func TestEqBitsTail(t *testing.T) {
	s := strings.Repeat("a=bc=d==", 10)
	for i := 0; i < len(s); i++ {
		for n := i; n <= len(s) && n < i+64; n++ {
			var want uint64
			for k := i; k < n; k++ {
				if s[k] == '=' {
					want |= 1 << (k - i)
				}
			}
			if got := eqBitsTail(s[:n], i); got != want {
				t.Fatalf("eqBitsTail(%q, %d) = %b, want %b", s[:n], i, got, want)
			}
		}
	}
}

// refIPv4 is the plain form of isIPv4Fast's test.
func refIPv4(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || !allDigits(p) || (len(p) > 1 && p[0] == '0') {
			return false
		}
		if n, _ := strconv.Atoi(p); n > 255 {
			return false
		}
	}
	return true
}

func checkIPv4Fast(t testing.TB, v string) {
	t.Helper()
	ok, sure := isIPv4Fast(v)
	want := refIPv4(v)
	if ok != want || (ok && !sure) || (sure && !ok) {
		t.Fatalf("isIPv4Fast(%q) = %v, %v, want %v", v, ok, sure, want)
	}
}

func TestIsIPv4Fast(t *testing.T) {
	parts := []string{"", "0", "1", "9", "00", "01", "10", "99", "100", "109", "199", "200", "249", "250", "255",
		"256", "259", "260", "299", "300", "999", "1000", "0255", "a", "1a", "-1", " 1", "2.5"}
	var b strings.Builder
	for _, p0 := range parts {
		for _, p1 := range parts {
			for _, p2 := range []string{"0", "255", "01", "256", "12", ""} {
				for _, p3 := range parts {
					b.Reset()
					b.WriteString(p0 + "." + p1 + "." + p2 + "." + p3)
					checkIPv4Fast(t, b.String())
					checkIPv4Fast(t, b.String()+".")
					checkIPv4Fast(t, b.String()+".1")
				}
			}
		}
	}
	// Every string of the alphabet "0125.x" up to 15 bytes, sampled.
	rnd := rand.New(rand.NewSource(2))
	const alpha = "0125.x9"
	buf := make([]byte, 16)
	for n := 0; n < 400000; n++ {
		l := rnd.Intn(17)
		for i := 0; i < l; i++ {
			buf[i] = alpha[rnd.Intn(len(alpha))]
		}
		checkIPv4Fast(t, string(buf[:l]))
	}
}

// refEpochDigits is the plain form of epochDigits.
func refEpochDigits(v string) (int64, bool) {
	if len(v) < 9 || len(v) > 18 || !allDigits(v) {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

func checkEpochDigits(t testing.TB, v string) {
	t.Helper()
	got, ok := epochDigits(v)
	want, wok := refEpochDigits(v)
	if ok != wok || (ok && got != want) {
		t.Fatalf("epochDigits(%q) = %d, %v, want %d, %v", v, got, ok, want, wok)
	}
}

func TestEpochDigits(t *testing.T) {
	rnd := rand.New(rand.NewSource(3))
	buf := make([]byte, 20)
	for n := 0; n < 200000; n++ {
		l := rnd.Intn(21)
		for i := 0; i < l; i++ {
			buf[i] = '0' + byte(rnd.Intn(10))
		}
		if l > 0 && rnd.Intn(3) == 0 {
			// One byte that is not a digit (or is a neighbour of one).
			buf[rnd.Intn(l)] = "/:a \x00\xff.09"[rnd.Intn(9)]
		}
		checkEpochDigits(t, string(buf[:l]))
	}
	for _, v := range []string{"1516548673164", "000000000", "999999999999999999", "1234567890123456", "12345678901234567"} {
		checkEpochDigits(t, v)
	}
}

func FuzzEpochDigits(f *testing.F) {
	for _, s := range []string{"1516548673164", "151654867316a", "123456789", "12345678901234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		checkEpochDigits(t, v)
		checkIPv4Fast(t, v)
	})
}

func TestCEFIndex(t *testing.T) {
	rnd := rand.New(rand.NewSource(4))
	const alpha = "CEF:xC"
	buf := make([]byte, 40)
	for n := 0; n < 100000; n++ {
		l := rnd.Intn(len(buf) + 1)
		for i := 0; i < l; i++ {
			buf[i] = alpha[rnd.Intn(len(alpha))]
		}
		if got, want := cefIndex(string(buf[:l])), strings.Index(string(buf[:l]), "CEF:"); got != want {
			t.Fatalf("cefIndex(%q) = %d, want %d", buf[:l], got, want)
		}
	}
}
