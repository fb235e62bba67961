package parse

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/event"
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
	for _, s := range []string{"2026-01-02T03:04:05Z x", "Mar  9 22:14:15 h", "[02/Jan/2026:15:04:05 -0700]", "1767225600 x", "2026-01-02 03:04:05,1+09:00", "2018-01-21T15:08:54.970-03:30", "2018-01-22T02:15:30.123456789123+0900 x", "2018-01-22 02:15:30.1-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		DetectTime(line)
		for i := 0; i < len(line) && i < 8; i++ {
			for _, opts := range []TimeOptions{{}, {Location: time.FixedZone("x", 3600)}} {
				ns, n, ok := parseISO(line, i, opts)
				wns, wn, wok := refParseISO(line, i, opts)
				if ns != wns || n != wn || ok != wok {
					t.Fatalf("parseISO(%q, %d) = %d, %d, %v, want %d, %d, %v", line, i, ns, n, ok, wns, wn, wok)
				}
			}
		}
		if got, gotOK := ParseTimeValue(line); true {
			want, wantOK := refParseTimeValue(line)
			if got != want || gotOK != wantOK {
				t.Fatalf("ParseTimeValue(%q) = %d, %v, want %d, %v", line, got, gotOK, want, wantOK)
			}
		}
		// The RFC 3339 fast path must agree with time.Parse when it accepts.
		if got, ok := parseRFC3339Fast(line); ok {
			if want, err := time.Parse(time.RFC3339Nano, line); err != nil || got != want.UnixNano() {
				t.Fatalf("parseRFC3339Fast(%q) = %d, time.Parse: %v %v", line, got, want.UnixNano(), err)
			}
		}
		for i := 0; i < len(line) && i < 40; i++ {
			DetectTime(line[i:]) // cut at every early offset
			DetectTime(line[:i])
		}
	})
}

// TestInferYearUTCFastPath checks the arithmetic UTC path against
// time.Date, including day overflow, leap days and the year boundary.
func TestInferYearUTCFastPath(t *testing.T) {
	slow := func(month time.Month, day, hh, mm, ss, nsec int, now time.Time) time.Time {
		tm := time.Date(now.Year(), month, day, hh, mm, ss, nsec, time.UTC)
		if tm.Sub(now) > 24*time.Hour {
			tm = time.Date(now.Year()-1, month, day, hh, mm, ss, nsec, time.UTC)
		}
		return tm
	}
	rng := rand.New(rand.NewPCG(1, 2))
	nows := []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC),
		time.Date(2000, 3, 1, 0, 0, 0, 5, time.UTC),
		time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC),
	}
	for range 2000 {
		nows = append(nows, time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC())
	}
	for _, now := range nows {
		opts := TimeOptions{Now: func() time.Time { return now }}
		for range 20 {
			month := time.Month(1 + rng.IntN(12))
			day, hh, mm, ss, nsec := 1+rng.IntN(31), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1e9)
			if rng.IntN(4) == 0 { // the day after now, at the boundary
				d := now.Add(24 * time.Hour)
				month, day, hh, mm, ss, nsec = d.Month(), d.Day(), d.Hour(), d.Minute(), d.Second(), d.Nanosecond()+rng.IntN(3)-1
				if nsec < 0 {
					nsec = 0
				}
			}
			got := InferYear(month, day, hh, mm, ss, nsec, opts)
			want := slow(month, day, hh, mm, ss, nsec, now)
			if !got.Equal(want) {
				t.Fatalf("InferYear(%v %d %02d:%02d:%02d.%09d, now %s) = %s, want %s", month, day, hh, mm, ss, nsec, now, got, want)
			}
			if ns := inferYearNanos(month, day, hh, mm, ss, nsec, opts); ns != want.UnixNano() {
				t.Fatalf("inferYearNanos(%v %d %02d:%02d:%02d.%09d, now %s) = %d, want %d", month, day, hh, mm, ss, nsec, now, ns, want.UnixNano())
			}
		}
	}
}

// TestInferYearDayCache checks inferYearUTC's cached midnights: many
// times of one day in a row (cache hits, including times of day out of
// range that carry into the next day), then other days and years (misses),
// against utcSeconds itself.
func TestInferYearDayCache(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		now := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC()
		opts := TimeOptions{Now: func() time.Time { return now }}
		month, day := time.Month(1+rng.IntN(12)), 1+rng.IntN(31)
		if rng.IntN(3) == 0 { // today or tomorrow: the year-before branch
			d := now.Add(time.Duration(rng.IntN(2)) * 24 * time.Hour)
			month, day = d.Month(), d.Day()
		}
		for range 8 {
			hh, mm, ss, nsec := rng.IntN(30), rng.IntN(70), rng.IntN(61), rng.IntN(1e9)
			got := inferYearUTC(month, day, hh, mm, ss, nsec, opts)
			y := now.Year()
			want := utcSeconds(y, month, day, hh, mm, ss)
			if want-now.Unix() > 24*3600 || (want-now.Unix() == 24*3600 && int64(nsec) > int64(now.Nanosecond())) {
				want = utcSeconds(y-1, month, day, hh, mm, ss)
			}
			if got != want {
				t.Fatalf("inferYearUTC(%v %d %02d:%02d:%02d.%09d, now %s) = %d, want %d", month, day, hh, mm, ss, nsec, now, got, want)
			}
		}
	}
}

// TestParseRFC3339Fast compares the fast path with time.Parse on valid
// times and on mutations of them: when it accepts, it must agree.
func TestParseRFC3339Fast(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(s string) {
		t.Helper()
		// A cold call (rfc3339DayCache empty), then the same value with
		// its date cached, and after another date was cached: the cache
		// changes neither the answer nor whether there is one.
		rfc3339DayCache.Store(nil)
		got, ok := parseRFC3339Fast(s)
		want, err := time.Parse(time.RFC3339Nano, s)
		if ok && (err != nil || got != want.UnixNano()) {
			t.Fatalf("parseRFC3339Fast(%q) = %d, want %v %v", s, got, want.UnixNano(), err)
		}
		for _, other := range []string{s, "2026-11-25T10:00:00Z"} {
			rfc3339DayCache.Store(nil)
			parseRFC3339Fast(other)
			if got2, ok2 := parseRFC3339Fast(s); got2 != got || ok2 != ok {
				t.Fatalf("parseRFC3339Fast(%q) after %q = %d %v, cold %d %v", s, other, got2, ok2, got, ok)
			}
		}
	}
	for _, s := range []string{
		"2018-01-21T15:08:54.970Z", "2024-02-29T23:59:59+09:00", "2023-02-29T00:00:00Z", "2026-11-25T10:00:00-00:00",
		"2026-04-31T10:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T10:00:60Z", "2026-11-25T10:00:00.Z",
		"2026-11-25T10:00:00.1234567891Z", "2026-11-25T10:00:00+2400", "1900-01-01T00:00:00Z", "2199-12-31T23:59:59.999999999-23:59",
	} {
		check(s)
		if _, ok := parseRFC3339Fast(s); !ok && s == "2018-01-21T15:08:54.970Z" {
			t.Fatalf("parseRFC3339Fast(%q) took the slow path", s)
		}
	}
	const digits = "0123456789"
	for range 20000 {
		tm := time.Unix(rng.Int64N(7e9)-2e9, rng.Int64N(1e9)).In(time.FixedZone("", (rng.IntN(48)-24)*1800))
		b := []byte(tm.Format(time.RFC3339Nano))
		if rng.IntN(2) == 0 { // mutate one byte
			b[rng.IntN(len(b))] = "0123456789-:+.TZz "[rng.IntN(18)]
		}
		if rng.IntN(8) == 0 {
			b = append(b, digits[rng.IntN(10)])
		}
		check(string(b))
		// The same date with its time of day or zone changed (a cache hit).
		if len(b) > 19 {
			b[11+rng.IntN(len(b)-11)] = "0123456789-:+.TZz "[rng.IntN(18)]
			check(string(b))
		}
	}
}

// TestParseISOFixedOffset compares parseISO's arithmetic with time.Date
// for UTC and fixed offsets, including carries (day 31 in a short month,
// second 60) and years far from now.
func TestParseISOFixedOffset(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		year, month, day := rng.IntN(10000), 1+rng.IntN(12), 1+rng.IntN(31)
		hh, mm, ss, nsec := rng.IntN(24), rng.IntN(60), rng.IntN(61), rng.IntN(1e9)
		zh, zm, sign := rng.IntN(24), rng.IntN(60), 1-2*rng.IntN(2)
		s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09d%c%02d:%02d", year, month, day, hh, mm, ss, nsec, "+-"[(1-sign)/2], zh, zm)
		got, n, ok := parseISO(s, 0, TimeOptions{})
		want := time.Date(year, time.Month(month), day, hh, mm, ss, nsec, time.FixedZone("", sign*(zh*60+zm)*60)).UnixNano()
		if !ok || n != len(s) || got != want {
			t.Fatalf("parseISO(%q) = %d, %d, %v, want %d", s, got, n, ok, want)
		}
		s = s[:19] // no zone: read in opts' location (UTC)
		got, _, ok = parseISO(s, 0, TimeOptions{})
		if want := time.Date(year, time.Month(month), day, hh, mm, ss, 0, time.UTC).UnixNano(); !ok || got != want {
			t.Fatalf("parseISO(%q) = %d, %v, want %d", s, got, ok, want)
		}
	}
}

func TestParseMonth(t *testing.T) {
	for m := time.January; m <= time.December; m++ {
		if got, ok := parseMonth("x"+m.String()[:3]+" 1", 1); !ok || got != m {
			t.Errorf("parseMonth(%q) = %v, %v, want %v", m.String()[:3], got, ok, m)
		}
	}
	for _, bad := range []string{"jan", "JAN", "Jun."[:2], "Ja", "Xyz", "Deb", ""} {
		if got, ok := parseMonth(bad, 0); ok {
			t.Errorf("parseMonth(%q) = %v, want no month", bad, got)
		}
	}
}

// refParseTimeValue is ParseTimeValue without the epoch fast path.
func refParseTimeValue(v string) (int64, bool) {
	if ns, ok := parseRFC3339Fast(v); ok {
		return ns, true
	}
	if ns, ok := event.ParseTime(v); ok {
		return ns, true
	}
	if ns, n, ok := parseISO(v, 0, TimeOptions{}); ok && n == len(v) {
		return ns, true
	}
	return 0, false
}

func TestParseTimeValueEpoch(t *testing.T) {
	for _, v := range []string{"12345678", "123456789", "1516548073860", "000000000", "999999999999999999", "1000000000000000000",
		"9223372036854775807", "9223372036854775808", "1516548073.860", "15165480738 0", "+151654807386", "1516548073860x"} {
		got, gotOK := ParseTimeValue(v)
		want, wantOK := refParseTimeValue(v)
		if got != want || gotOK != wantOK {
			t.Errorf("ParseTimeValue(%q) = %d, %v, want %d, %v", v, got, gotOK, want, wantOK)
		}
	}
}

// TestCoarseNow: the default clock is the wall clock to within coarseTick,
// and year inference with it matches an explicit clock.
func TestCoarseNow(t *testing.T) {
	before := time.Now()
	got := coarseNow()
	after := time.Now()
	if got.Before(before.Add(-coarseTick-time.Second)) || got.After(after) {
		t.Fatalf("coarseNow() = %s, want within %s of [%s, %s]", got, coarseTick, before, after)
	}
	// A timestamp a week ago is put in the same year either way.
	d := before.UTC().Add(-7 * 24 * time.Hour)
	want := time.Date(d.Year(), d.Month(), d.Day(), d.Hour(), d.Minute(), d.Second(), 0, time.UTC)
	if ns := inferYearNanos(d.Month(), d.Day(), d.Hour(), d.Minute(), d.Second(), 0, TimeOptions{}); ns != want.UnixNano() {
		t.Fatalf("inferYearNanos(a week ago) = %s, want %s", time.Unix(0, ns).UTC(), want)
	}
	// The reading expires and is taken again (timers may be late on a
	// busy machine: allow seconds).
	for start := time.Now(); coarseNow().Before(after); time.Sleep(coarseTick) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("coarseNow() still %s after 5 s, want after %s", coarseNow(), after)
		}
	}
}

// refParseISO is parseISO as it was before its fraction and offset fast
// paths.
func refParseISO(s string, i int, opts TimeOptions) (int64, int, bool) {
	if i < 0 || i+19 > len(s) {
		return 0, 0, false
	}
	// Fast path: fixed positions in one bounds-checked slice.
	f := s[i : i+19]
	if f[4] != '-' || f[7] != '-' || (f[10] != 'T' && f[10] != ' ') || f[13] != ':' || f[16] != ':' {
		return 0, 0, false
	}
	year, month, day, hh, mm, ss, ok := isoDigits(f)
	if !ok || month < 1 || month > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return 0, 0, false
	}
	p := i + 19
	nsec := 0
	if p < len(s) && (s[p] == '.' || s[p] == ',') && p+1 < len(s) && tsDigit(s[p+1]) {
		p++
		digits := 0
		for p < len(s) && tsDigit(s[p]) {
			if digits < 9 {
				nsec = nsec*10 + int(s[p]-'0')
				digits++
			}
			p++
		}
		for ; digits < 9; digits++ {
			nsec *= 10
		}
	}
	loc := opts.loc()
	off, fixed := 0, loc == time.UTC
	if p < len(s) {
		switch s[p] {
		case 'Z', 'z':
			off, fixed = 0, true
			p++
		case '+', '-':
			zh, okh := num(s, p+1, 2)
			q := p + 3
			if q < len(s) && s[q] == ':' {
				q++
			}
			zm, okm := num(s, q, 2)
			if okh && okm && zh < 24 && zm < 60 {
				off, fixed = (zh*60+zm)*60, true
				if s[p] == '-' {
					off = -off
				}
				p = q + 2
			}
		}
	}
	if fixed {
		// Fast path: a fixed offset is arithmetic (same carries as time.Date).
		return (utcSeconds(year, time.Month(month), day, hh, mm, ss)-int64(off))*1e9 + int64(nsec), p - i, true
	}
	// Slow path: a zone with rules (daylight saving time).
	t := time.Date(year, time.Month(month), day, hh, mm, ss, nsec, loc)
	return t.UnixNano(), p - i, true
}

// TestStampUTC compares stampUTC (syslogStamp's fast path with the default
// options) with syslogStamp's general path on the same clock reading, on
// valid and broken stamps, each read twice (a stampCache miss, then a hit):
// when it accepts, it must agree; and it must accept the common forms.
func TestStampUTC(t *testing.T) {
	accepted := 0
	check := func(s string) {
		t.Helper()
		for range 2 {
			for {
				ns := coarseNanos()
				got, ok := stampUTC(s, 0)
				if coarseNanos() != ns {
					continue // the clock moved: read again
				}
				now := time.Unix(0, ns)
				want, n, wok := syslogStamp(s, 0, SyslogOptions{Now: func() time.Time { return now }})
				if ok && (!wok || n != 15 || got != want) {
					t.Fatalf("stampUTC(%q) = %d %v, want %d %d %v", s, got, ok, want, n, wok)
				}
				if ok {
					accepted++
				}
				break
			}
		}
	}
	for _, s := range []string{"Jan 22 00:31:13 host", "Dec 31 23:59:60 h", "Feb  9 12:00:00 h"} {
		if _, ok := stampUTC(s, 0); !ok {
			t.Errorf("stampUTC(%q) refused a common form", s)
		}
	}
	months := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Foo", "jan", "JAN", "Ja "}
	days := []string{" 1", " 9", "01", "09", "10", "22", "29", "30", "31", "32", "00", " 0", "1 ", "x1", "  ", "3 "}
	tails := []string{"", " ", " host", " 2024", " 2024 host", " 20245", " 1.2.3.4", " 1999", ".123 host", "x", "\t"}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, m := range months {
		for _, d := range days {
			for _, tail := range tails {
				hh, mm, ss := rng.IntN(26), rng.IntN(62), rng.IntN(62)
				check(fmt.Sprintf("%s %s %02d:%02d:%02d%s", m, d, hh, mm, ss, tail))
			}
		}
	}
	// Every one-byte change of common stamps.
	bytes := []byte{0, ' ', '0', '1', '2', '3', '5', '9', ':', '.', 'J', 'a', 'n', 'x', 0xff}
	for _, base := range []string{"Jan 22 00:31:13 host", "Feb  9 23:59:59 h", "Dec 31 12:00:00 2025 h"} {
		for i := range len(base) {
			for _, c := range bytes {
				b := []byte(base)
				b[i] = c
				check(string(b))
			}
		}
		check(base[:15])
		check(base[:16])
	}
	if accepted == 0 {
		t.Fatal("stampUTC accepted nothing")
	}
}

// FuzzStampUTC compares stampUTC with syslogStamp's general path on the
// same clock reading.
func FuzzStampUTC(f *testing.F) {
	for _, s := range []string{"Jan 22 00:31:13 host", "Feb  9 23:59:60 h", "Dec 31 12:00:00 2025 h", "Mar 01 01:02:03.5 x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for {
			ns := coarseNanos()
			got, ok := stampUTC(s, 0)
			if coarseNanos() != ns {
				continue
			}
			now := time.Unix(0, ns)
			want, n, wok := syslogStamp(s, 0, SyslogOptions{Now: func() time.Time { return now }})
			if ok && (!wok || n != 15 || got != want) {
				t.Fatalf("stampUTC(%q) = %d %v, want %d %d %v", s, got, ok, want, n, wok)
			}
			return
		}
	})
}
