package parse

import (
	"testing"
	"time"
)

func TestDetectTime(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	opts := TimeOptions{Now: func() time.Time { return now }}
	f := func(line, want string) {
		t.Helper()
		got, ok := DetectTimeIn(line, opts)
		if want == "" {
			if ok {
				t.Errorf("DetectTime(%q) = %s, want none", line, time.Unix(0, got).UTC())
			}
			return
		}
		w, err := time.Parse(time.RFC3339Nano, want)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || got != w.UnixNano() {
			t.Errorf("DetectTime(%q) = %s, %v, want %s", line, time.Unix(0, got).UTC().Format(time.RFC3339Nano), ok, want)
		}
	}
	f("2026-01-02T03:04:05Z hello", "2026-01-02T03:04:05Z")
	f("2026-01-02 03:04:05,123 INFO x", "2026-01-02T03:04:05.123Z")
	f("[2026-01-02T03:04:05.5+09:00] x", "2026-01-01T18:04:05.5Z")
	f("<34>Mar  9 22:14:15 host sshd[1]: Failed", "2026-03-09T22:14:15Z")
	f("Dec 31 23:59:59 host x", "2025-12-31T23:59:59Z") // a December line read in March is last year's
	f(`127.0.0.1 - - [02/Jan/2026:15:04:05 -0700] "GET / HTTP/1.1" 200`, "2026-01-02T22:04:05Z")
	f("1767225600 event", "2026-01-01T00:00:00Z")
	f("1767225600123 event", "2026-01-01T00:00:00.123Z")
	f("no time here", "")
	f("12345 short number", "")
	f("2026-13-01T00:00:00Z bad month", "")
}

func TestParseTimeValue(t *testing.T) {
	f := func(v string, want int64, wantOK bool) {
		t.Helper()
		got, ok := ParseTimeValue(v)
		if ok != wantOK || (ok && got != want) {
			t.Errorf("ParseTimeValue(%q) = %d, %v, want %d, %v", v, got, ok, want, wantOK)
		}
	}
	f("2026-01-01T00:00:00Z", 1767225600000000000, true)
	f("2026-01-01 00:00:00", 1767225600000000000, true)
	f("2026-01-01T09:00:00+0900", 1767225600000000000, true)
	f("1767225600", 1767225600000000000, true)
	f("2026-01-01T00:00:00Z trailing", 0, false)
	f("", 0, false)
}

func FuzzDetectTime(f *testing.F) {
	for _, s := range []string{"2026-01-02T03:04:05Z x", "Mar  9 22:14:15 h", "[02/Jan/2026:15:04:05 -0700]", "1767225600 x", "2026-01-02 03:04:05,1+09:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		DetectTime(line)
		ParseTimeValue(line)
		for i := 0; i < len(line) && i < 40; i++ {
			DetectTime(line[i:]) // cut at every early offset
			DetectTime(line[:i])
		}
	})
}
