package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestDecodeLinesSizedList decodes bodies whose line lengths mislead the
// size estimate (long lines first, then short ones: the sized slice
// overflows into chunks; short lines first: it has slack), through every
// kind of reader: in memory (Len known), a plain stream (unknown), an
// HTTP body with its Content-Length, a wrong Content-Length, and a zstd
// body (unknown). Every reader must give the same events, in order.
func TestDecodeLinesSizedList(t *testing.T) {
	line := func(i, pad int) string {
		return fmt.Sprintf(`{"_msg":"line %d %s","n":"%d"}`, i, strings.Repeat("x", pad), i) + "\n"
	}
	bodies := map[string]string{}
	build := func(name string, n int, pad func(i int) int) {
		var b strings.Builder
		for i := 0; i < n; i++ {
			if i%97 == 5 {
				b.WriteString("\n") // blank lines are skipped
			}
			if i%101 == 7 {
				b.WriteString("plain text line\n")
			}
			b.WriteString(line(i, pad(i)))
		}
		bodies[name] = b.String()
	}
	build("uniform", 5000, func(int) int { return 40 })
	build("long first", 5000, func(i int) int {
		if i < 100 {
			return 400
		}
		return 2
	})
	build("short first", 3000, func(i int) int {
		if i < 100 {
			return 0
		}
		return 300
	})
	build("tiny", 10, func(int) int { return 1 })
	build("first chunk exactly", firstChunk, func(int) int { return 10 })
	build("many short", 40000, func(int) int { return 0 }) // past maxSized
	bodies["empty"] = ""
	bodies["no final newline"] = strings.TrimSuffix(bodies["tiny"], "\n")

	opts := LineOptions{Now: func() int64 { return 1 }}
	zenc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zenc.Close()
	httpBody := func(t *testing.T, data []byte, length int64, encoding string) io.ReadCloser {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Body = io.NopCloser(bytes.NewReader(data))
		r.ContentLength = length
		if encoding != "" {
			r.Header.Set("Content-Encoding", encoding)
		}
		b, err := OpenBody(httptest.NewRecorder(), r, BodyLimits{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			data := []byte(body)
			want, wantRes, err := DecodeLines(struct{ io.Reader }{bytes.NewReader(data)}, opts) // unsized
			if err != nil {
				t.Fatal(err)
			}
			readers := map[string]func() io.Reader{
				"bytes.Reader":          func() io.Reader { return bytes.NewReader(data) },
				"strings.Reader":        func() io.Reader { return strings.NewReader(body) },
				"bytes.Buffer":          func() io.Reader { return bytes.NewBuffer(bytes.Clone(data)) },
				"http":                  func() io.Reader { return httpBody(t, data, int64(len(data)), "") },
				"http length unknown":   func() io.Reader { return httpBody(t, data, -1, "") },
				"http length too big":   func() io.Reader { return httpBody(t, data, min(int64(len(data))*50+1000, 60<<20), "") },
				"http length too small": func() io.Reader { return httpBody(t, data, int64(len(data))/3, "") },
				"http zstd":             func() io.Reader { return httpBody(t, zenc.EncodeAll(data, nil), -1, "zstd") },
			}
			for rname, open := range readers {
				rd := open()
				got, res, err := DecodeLines(rd, opts)
				if c, ok := rd.(io.Closer); ok {
					c.Close()
				}
				if err != nil {
					t.Fatalf("%s: %v", rname, err)
				}
				if res.Accepted != wantRes.Accepted || len(got) != len(want) || len(got) != res.Accepted {
					t.Fatalf("%s: %d events (accepted %d), want %d", rname, len(got), res.Accepted, len(want))
				}
				for i := range want {
					if !eventsEqual(got[i], want[i]) {
						t.Fatalf("%s: event %d = %+v, want %+v", rname, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// TestEventListEstimate checks the sized slice: one allocation with at
// most an eighth (plus a few events) of slack when the estimate holds, a
// fallback to chunks when it falls short, and no estimate past maxSized.
func TestEventListEstimate(t *testing.T) {
	fill := func(size int64, lens []int) *eventList {
		l := &eventList{size: size}
		for _, n := range lens {
			l.read += int64(n)
			l.next().Raw = fmt.Sprint(n)
		}
		return l
	}
	same := func(n, length int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = length
		}
		return s
	}
	l := fill(4000*100, same(4000, 100))
	if !l.sized || len(l.chunks) != 0 || len(l.cur) != 4000 || cap(l.cur) > 4000+4000/8+16+firstChunk {
		t.Errorf("exact estimate: sized %v, %d chunks, len %d cap %d", l.sized, len(l.chunks), len(l.cur), cap(l.cur))
	}
	l = fill(3000*100, append(same(firstChunk, 1000), same(3000, 10)...))
	if len(l.chunks) == 0 || len(l.all()) != firstChunk+3000 {
		t.Errorf("underestimate: %d chunks, %d events", len(l.chunks), len(l.all()))
	}
	for i, ev := range l.all() {
		if want := map[bool]string{true: "1000", false: "10"}[i < firstChunk]; ev.Raw != want {
			t.Fatalf("underestimate: event %d = %q, want %q", i, ev.Raw, want)
		}
	}
	l = fill(1<<30, same(firstChunk+1, 10))
	if l.sized || cap(l.cur) > 4096 {
		t.Errorf("an announced size of 1 GiB of short lines allocated %d events at once", cap(l.cur))
	}
	if got := (&eventList{size: -1}).all(); got != nil {
		t.Errorf("empty list = %v", got)
	}
}

// TestDecodeLinesBudgetGrants checks the budget charged in grants: the
// charge covers every line, comes back whole with Release, and a budget
// too small for the body still stops it with ErrOverloaded.
func TestDecodeLinesBudgetGrants(t *testing.T) {
	body := strings.Repeat(`{"_msg":"a line of some length","n":"1"}`+"\n", 5000)
	perLine := int64(len(`{"_msg":"a line of some length","n":"1"}`)) + 256
	b := NewBudget(256 << 20)
	evs, res, err := DecodeLines(strings.NewReader(body), LineOptions{Budget: b, Now: func() int64 { return 1 }})
	if err != nil || len(evs) != 5000 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	if res.Charged < 5000*perLine || res.Charged > 5000*perLine+budgetGrant || b.Used() != res.Charged {
		t.Errorf("charged %d (budget used %d), want %d plus at most one grant", res.Charged, b.Used(), 5000*perLine)
	}
	b.Release(res.Charged)
	if b.Used() != 0 {
		t.Errorf("used %d after release", b.Used())
	}
	// Room for about half the body: overloaded, and nothing kept.
	b = NewBudget(1 << 20)
	b.TryAcquire(1<<20 - 2500*perLine)
	_, res, err = DecodeLines(strings.NewReader(body), LineOptions{Budget: b, Now: func() int64 { return 1 }})
	if !errors.Is(err, ErrOverloaded) || res.Charged != 0 || b.Used() != 1<<20-2500*perLine {
		t.Errorf("err %v, charged %d, used %d", err, res.Charged, b.Used())
	}
	// Just enough room: every line fits, with or without a grant.
	b = NewBudget(1 << 20)
	b.TryAcquire(1<<20 - 5000*perLine)
	_, res, err = DecodeLines(strings.NewReader(body), LineOptions{Budget: b, Now: func() int64 { return 1 }})
	if err != nil || res.Charged != 5000*perLine {
		t.Errorf("exact fit: err %v, charged %d, want %d", err, res.Charged, 5000*perLine)
	}
}
