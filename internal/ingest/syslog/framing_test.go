package syslog

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// frameAll runs the framer over in, read in chunks of at most chunk bytes,
// the way serveConn does, and describes every result: "msg", "msg+" when
// truncated, "!err" for an error.
func frameAll(in []byte, maxMsg, chunk int) []string {
	fr := framer{max: maxMsg}
	buf := make([]byte, 0, fr.minBuffer())
	var out []string
	eof := false
	for {
		off := 0
		for {
			n, msg, truncated, err := fr.next(buf[off:], eof)
			if n == 0 && msg == nil && err == nil {
				break
			}
			if n < 0 || off+n > len(buf) {
				panic(fmt.Sprintf("BUG: next consumed %d of %d", n, len(buf)-off))
			}
			off += n
			if err != nil {
				if err.Error() == "" {
					panic("BUG: empty error")
				}
				out = append(out, "!err")
			}
			if msg != nil {
				s := string(msg)
				if truncated {
					s += "+"
				}
				out = append(out, s)
			}
		}
		buf = buf[:copy(buf, buf[off:])]
		if eof {
			if len(buf) != 0 {
				panic(fmt.Sprintf("BUG: %d bytes left at EOF", len(buf)))
			}
			return out
		}
		k := min(chunk, cap(buf)-len(buf), len(in))
		buf = append(buf, in[:k]...)
		in = in[k:]
		if len(in) == 0 {
			eof = true
		}
	}
}

func TestFramer(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		for _, chunk := range []int{1, 3, 1 << 20} {
			got := frameAll([]byte(in), 16, chunk)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("frames(%q, chunk %d) (-want +got):\n%s", in, chunk, diff)
			}
		}
	}
	// Delimited.
	f("<13>a\n<13>b\n", "<13>a", "<13>b")
	f("<13>a\r\n<13>b", "<13>a", "<13>b")
	f("<13>a\x00<13>b\x00", "<13>a", "<13>b")
	f("plain line\n\n\nnext", "plain line", "next")
	f("123 not a count\n", "123 not a count")
	f("0123456789abcdefXYZ\nok\n", "0123456789abcdef+", "ok")
	f("0123456789abcdef\nok", "0123456789abcdef", "ok")
	// Octet counting, with and without newlines around frames.
	f("5 <1>ab3 <2>", "<1>ab", "<2>")
	f("6 <1>ab\n4 <2>x\n", "<1>ab", "<2>x")
	f("5 <1>ab\n3 <2>\n", "<1>ab", "<2>")
	// A frame in a counted stream without a count is read as a line.
	f("5 <1>ab<2>no count\n3 <3>", "<1>ab", "<2>no count", "<3>")
	// Malformed: zero count, cut short, too long.
	f("5 <1>ab0 3 <2>", "<1>ab", "!err", "<2>")
	f("5 <1>ab9 <2>cut", "<1>ab", "!err", "<2>cut+")
	f("20 <1>0123456789abcdefg3 <2>", "<1>0123456789abc+", "<2>")
}

func FuzzFramer(f *testing.F) {
	for _, s := range []string{
		"<13>a\n<13>b\n", "5 <1>ab3 <2>", "6 <1>ab\n4 <2>x\n", "20 <1>0123456789abcdefg3 <2>",
		"5 <1>ab0 3 <2>", "0123456789abcdefXYZ\nok\n", "1234567890 <x", "9 <1>\x00\r\n",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		whole := frameAll(in, 16, 1<<20)
		cut := frameAll(in, 16, int(chunk)%32+1)
		if diff := cmp.Diff(whole, cut); diff != "" {
			t.Fatalf("frames(%q) depend on read sizes (-whole +chunked):\n%s", in, diff)
		}
		// Every byte is accounted for: no message is longer than the limit.
		for _, m := range whole {
			if len(strings.TrimSuffix(m, "+")) > 16 {
				t.Fatalf("frame %q over the limit", m)
			}
		}
	})
}
