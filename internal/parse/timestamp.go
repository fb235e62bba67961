package parse

import (
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// TimeOptions gives the context for timestamps that lack a zone or a year.
type TimeOptions struct {
	// Location is the zone of timestamps without one; nil means UTC.
	Location *time.Location
	// Now is the reference for year inference (a yearless time is put in
	// the latest year that does not make it more than a day in the future);
	// nil means the wall clock, read at most every coarseTick (100 ms).
	Now func() time.Time
}

func (o TimeOptions) loc() *time.Location {
	if o.Location == nil {
		return time.UTC
	}
	return o.Location
}

func (o TimeOptions) now() time.Time {
	if o.Now == nil {
		return coarseNow()
	}
	return o.Now()
}

// coarseTick bounds how stale coarseNow may be.
const coarseTick = 100 * time.Millisecond

// coarseClock is the wall clock in Unix nanoseconds as last read, or 0
// when it is older than coarseTick and must be read again.
var coarseClock atomic.Int64

// coarseNow returns the wall clock to within coarseTick (plus timer
// latency). Year inference needs the time only to the day, and time.Now
// costs ~0.1 µs on the VMs measured, more than the rest of a short
// syslog header: one read serves all lines for coarseTick. No goroutine
// runs while idle: the first read after expiry arms a one-shot timer that
// expires the value.
func coarseNow() time.Time { return time.Unix(0, coarseNanos()) }

// coarseNanos is coarseNow in Unix nanoseconds.
func coarseNanos() int64 {
	if ns := coarseClock.Load(); ns != 0 {
		// Fast path: a recent reading.
		return ns
	}
	ns := time.Now().UnixNano()
	if ns != 0 && coarseClock.CompareAndSwap(0, ns) {
		time.AfterFunc(coarseTick, expireCoarseClock)
	}
	return ns
}

func expireCoarseClock() { coarseClock.Store(0) }

// detectWindow is how far into a line DetectTime looks for a timestamp.
const detectWindow = 160

// ParseTimeValue parses a time value from a structured field: RFC 3339 and
// its common relatives (space instead of T, comma before the fraction, no
// zone meaning UTC, zone as +hhmm) and Unix epoch in s, ms, µs or ns,
// integer or with a fraction.
func ParseTimeValue(v string) (int64, bool) {
	// Fast path: an integer epoch of 9 to 18 digits (no overflow), as
	// event.ParseTime reads it.
	if n, ok := epochDigits(v); ok {
		return event.EpochToNanos(n), true
	}
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

// epochDigits reads v when it is 9 to 18 ASCII digits.
func epochDigits(v string) (int64, bool) {
	if len(v) < 9 || len(v) > 18 {
		return 0, false
	}
	if len(v) <= 16 {
		// Fast path: the last eight digits and the one to eight before
		// them (shifted up, '0' below), eight at a time.
		sh := 8 * uint(16-len(v))
		hi, ok1 := digits8(load64(v, 0)<<sh | 0x3030303030303030>>(64-sh))
		lo, ok2 := digits8(load64(v, len(v)-8))
		return int64(hi*1e8 + lo), ok1 && ok2
	}
	var n int64
	for i := 0; i < len(v); i++ {
		d := v[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + int64(d)
	}
	return n, true
}

// digits8 reads the eight bytes of w (the first in its low byte) as a
// decimal number, when all are ASCII digits.
func digits8(w uint64) (uint64, bool) {
	ok := digitMask(w) == 0x8080808080808080
	w -= 0x3030303030303030
	w = (w*10 + w>>8) & 0x00FF00FF00FF00FF    // pairs of digits
	w = (w*100 + w>>16) & 0x0000FFFF0000FFFF  // fours
	return (w*10000 + w>>32) & 0xFFFFFFFF, ok // eight
}

// DetectTime finds the timestamp of a plain-text line, looking near its
// start for RFC 3339 / ISO 8601, syslog "Jan _2 15:04:05", Apache
// "02/Jan/2006:15:04:05 -0700" and a leading Unix epoch. Yearless and
// zoneless times are read in UTC and the current year (see DetectTimeIn).
func DetectTime(line string) (int64, bool) { return DetectTimeIn(line, TimeOptions{}) }

// DetectTimeIn is DetectTime with an explicit zone and clock.
func DetectTimeIn(line string, opts TimeOptions) (int64, bool) {
	if ns, ok := leadingEpoch(line); ok {
		return ns, true
	}
	end := len(line)
	if end > detectWindow {
		end = detectWindow
	}
	for i := 0; i < end; i++ {
		c := line[i]
		if i > 0 && tsAlnum(line[i-1]) {
			continue
		}
		switch {
		case c >= '0' && c <= '9':
			if ns, _, ok := parseISO(line, i, opts); ok {
				return ns, true
			}
			if ns, ok := parseApache(line, i); ok {
				return ns, true
			}
		case c >= 'A' && c <= 'S':
			if ns, ok := parseSyslogStamp(line, i, opts); ok {
				return ns, true
			}
		}
	}
	return 0, false
}

func tsAlnum(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func tsDigit(c byte) bool { return c >= '0' && c <= '9' }

// num reads exactly n digits at s[i:].
// isoDigits reads the numbers of "YYYY-MM-DD?hh:mm:ss" at f[:19] (len(f)
// >= 19; the separators are the caller's to check); ok is false unless
// every one of those places holds a digit.
func isoDigits(f string) (year, month, day, hh, mm, ss int, ok bool) {
	_ = f[18]
	y1, ok0 := dig2(f[0], f[1])
	y2, ok1 := dig2(f[2], f[3])
	month, ok2 := dig2(f[5], f[6])
	day, ok3 := dig2(f[8], f[9])
	hh, ok4 := dig2(f[11], f[12])
	mm, ok5 := dig2(f[14], f[15])
	ss, ok6 := dig2(f[17], f[18])
	return y1*100 + y2, month, day, hh, mm, ss, ok0 && ok1 && ok2 && ok3 && ok4 && ok5 && ok6
}

// pow10 scales a fraction of n digits to nanoseconds (pow10[9-n]).
var pow10 = [10]int{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// dig2 reads two ASCII digits: the value and whether both were digits.
func dig2(a, b byte) (int, bool) {
	a -= '0' // bytes below '0' wrap around to more than 9
	b -= '0'
	return int(a)*10 + int(b), a <= 9 && b <= 9
}

func num(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for j := i; j < i+n; j++ {
		if !tsDigit(s[j]) {
			return 0, false
		}
		v = v*10 + int(s[j]-'0')
	}
	return v, true
}

// leadingEpoch accepts a line that starts with 10 (s) or 13 (ms) digits,
// optionally with a fraction, followed by the end or a non-alphanumeric.
func leadingEpoch(s string) (int64, bool) {
	n := 0
	for n < len(s) && n < 20 && tsDigit(s[n]) {
		n++
	}
	if n != 10 && n != 13 {
		return 0, false
	}
	end := n
	if end < len(s) && s[end] == '.' {
		end++
		for end < len(s) && tsDigit(s[end]) {
			end++
		}
	}
	if end < len(s) && tsAlnum(s[end]) {
		return 0, false
	}
	return event.ParseTime(s[:end])
}

// parseISO reads YYYY-MM-DD[T ]hh:mm:ss[.,frac][Z|±hh[:]mm] at s[i:], and
// returns the time and how many bytes it used.
func parseISO(s string, i int, opts TimeOptions) (int64, int, bool) {
	if i < 0 || i+19 > len(s) {
		return 0, 0, false
	}
	// Fast path: fixed positions in one bounds-checked slice.
	f := s[i : i+19]
	if f[4] != '-' || f[7] != '-' || (f[10] != 'T' && f[10] != ' ') || f[13] != ':' || f[16] != ':' {
		return 0, 0, false
	}
	// The time of day as one word; the date from isoDayCache when it holds
	// this line's date bytes (a log's lines mostly share their day).
	hh, mm, ss, ok := clock8(f, 11)
	if !ok || hh > 23 || mm > 59 || ss > 60 {
		return 0, 0, false
	}
	lo, hi := load64(f, 0), uint16(f[8])|uint16(f[9])<<8
	var mid int64 // utcSeconds of the date's midnight
	if c := isoDayCache.Load(); c != nil && c.lo == lo && c.hi == hi {
		mid = c.mid
	} else if mid, ok = newISODay(f, lo, hi); !ok {
		return 0, 0, false
	}
	p := i + 19
	nsec := 0
	if p < len(s) && (s[p] == '.' || s[p] == ',') && p+1 < len(s) && tsDigit(s[p+1]) {
		p++
		start := p
		var w, nd uint64 // the next eight bytes, their non-digits flagged
		if p+8 <= len(s) {
			w = load64(s, p)
			nd = ^digitMask(w) & 0x8080808080808080
		}
		if nd != 0 {
			// Fast path: one to seven digits (milli- or microseconds) read
			// as one word, with '0's put before them.
			n := bits.TrailingZeros64(nd) >> 3
			sh := 8 * uint(8-n)
			v, _ := digits8(w<<sh | 0x3030303030303030>>(64-sh))
			nsec = int(v) * pow10[9-n]
			p += n
		} else {
			for p < len(s) && p-start < 9 {
				d := s[p] - '0'
				if d > 9 {
					break
				}
				nsec = nsec*10 + int(d)
				p++
			}
			nsec *= pow10[9-(p-start)]
			for p < len(s) && tsDigit(s[p]) {
				p++ // digits past nanoseconds are dropped
			}
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
			zh, okh := 0, false
			if p+3 <= len(s) {
				zh, okh = dig2(s[p+1], s[p+2])
			}
			q := p + 3
			if q < len(s) && s[q] == ':' {
				q++
			}
			zm, okm := 0, false
			if q+2 <= len(s) {
				zm, okm = dig2(s[q], s[q+1])
			}
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
		// Fast path: a fixed offset is arithmetic (same carries as time.Date):
		// utcSeconds is the midnight plus the time of day.
		sec := mid + int64(hh)*3600 + int64(mm)*60 + int64(ss)
		return (sec-int64(off))*1e9 + int64(nsec), p - i, true
	}
	// Slow path: a zone with rules (daylight saving time).
	year, month, day, _, _, _, _ := isoDigits(f)
	t := time.Date(year, time.Month(month), day, hh, mm, ss, nsec, loc)
	return t.UnixNano(), p - i, true
}

// isoDay is isoDayCache's entry: the bytes "YYYY-MM-DD" of a timestamp
// (the first eight in lo, the last two in hi) and the Unix seconds of that
// date's UTC midnight.
type isoDay struct {
	lo  uint64
	hi  uint16
	mid int64
}

var isoDayCache atomic.Pointer[isoDay]

// newISODay checks the date "YYYY-MM-DD" at f[:10] (f as parseISO's, the
// separators checked) as parseISO does and returns utcSeconds of its
// midnight, also storing it in isoDayCache with its bytes lo and hi.
func newISODay(f string, lo uint64, hi uint16) (int64, bool) {
	year, month, day, _, _, _, ok := isoDigits(f)
	if !ok || month < 1 || month > 12 || day < 1 || day > 31 {
		return 0, false
	}
	mid := utcSeconds(year, time.Month(month), day, 0, 0, 0)
	isoDayCache.Store(&isoDay{lo: lo, hi: hi, mid: mid})
	return mid, true
}

// parseMonth reads an English month abbreviation ("Jan", exact case) at
// s[i:].
func parseMonth(s string, i int) (time.Month, bool) {
	if i+3 > len(s) {
		return 0, false
	}
	// Fast path: the three bytes as one integer, one switch (compiled to
	// a binary search) instead of up to twelve string compares.
	switch uint32(s[i])<<16 | uint32(s[i+1])<<8 | uint32(s[i+2]) {
	case 'J'<<16 | 'a'<<8 | 'n':
		return time.January, true
	case 'F'<<16 | 'e'<<8 | 'b':
		return time.February, true
	case 'M'<<16 | 'a'<<8 | 'r':
		return time.March, true
	case 'A'<<16 | 'p'<<8 | 'r':
		return time.April, true
	case 'M'<<16 | 'a'<<8 | 'y':
		return time.May, true
	case 'J'<<16 | 'u'<<8 | 'n':
		return time.June, true
	case 'J'<<16 | 'u'<<8 | 'l':
		return time.July, true
	case 'A'<<16 | 'u'<<8 | 'g':
		return time.August, true
	case 'S'<<16 | 'e'<<8 | 'p':
		return time.September, true
	case 'O'<<16 | 'c'<<8 | 't':
		return time.October, true
	case 'N'<<16 | 'o'<<8 | 'v':
		return time.November, true
	case 'D'<<16 | 'e'<<8 | 'c':
		return time.December, true
	}
	return 0, false
}

// parseSyslogStamp reads "Jan _2 15:04:05[.frac]" at s[i:], inferring the
// year so that the time is not more than a day in the future.
func parseSyslogStamp(s string, i int, opts TimeOptions) (int64, bool) {
	month, ok := parseMonth(s, i)
	if !ok || i+15 > len(s) || s[i+3] != ' ' {
		return 0, false
	}
	p := i + 4
	if s[p] == ' ' {
		p++
	}
	day := 0
	for p < len(s) && tsDigit(s[p]) && day < 100 {
		day = day*10 + int(s[p]-'0')
		p++
	}
	if day < 1 || day > 31 || p+9 > len(s) || s[p] != ' ' || s[p+3] != ':' || s[p+6] != ':' {
		return 0, false
	}
	hh, ok1 := num(s, p+1, 2)
	mm, ok2 := num(s, p+4, 2)
	ss, ok3 := num(s, p+7, 2)
	if !(ok1 && ok2 && ok3) || hh > 23 || mm > 59 || ss > 60 {
		return 0, false
	}
	p += 9
	nsec := 0
	if p+1 < len(s) && s[p] == '.' && tsDigit(s[p+1]) {
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
	return inferYearNanos(month, day, hh, mm, ss, nsec, opts), true
}

// InferYear builds a time from a yearless timestamp: the current year in
// opts' zone, or the year before when that would put it more than a day in
// the future (a December line read in January).
func InferYear(month time.Month, day, hh, mm, ss, nsec int, opts TimeOptions) time.Time {
	loc := opts.loc()
	if loc == time.UTC {
		// Fast path: UTC (the default) is plain arithmetic, without
		// time.Date's zone lookup and date normalization.
		return time.Unix(inferYearUTC(month, day, hh, mm, ss, nsec, opts), int64(nsec)).UTC()
	}
	now := opts.now().In(loc)
	t := time.Date(now.Year(), month, day, hh, mm, ss, nsec, loc)
	if t.Sub(now) > 24*time.Hour {
		t = time.Date(now.Year()-1, month, day, hh, mm, ss, nsec, loc)
	}
	return t
}

// inferYearNanos is InferYear(...).UnixNano().
func inferYearNanos(month time.Month, day, hh, mm, ss, nsec int, opts TimeOptions) int64 {
	if opts.Location == nil || opts.Location == time.UTC {
		return inferYearUTC(month, day, hh, mm, ss, nsec, opts)*1e9 + int64(nsec)
	}
	return InferYear(month, day, hh, mm, ss, nsec, opts).UnixNano()
}

// inferYearUTC is InferYear(...).Unix() in UTC, by arithmetic.
func inferYearUTC(month time.Month, day, hh, mm, ss, nsec int, opts TimeOptions) int64 {
	var now, nowNsec int64 // Unix seconds and nanoseconds
	if opts.Now == nil {
		// Fast path: the coarse clock, already in Unix nanoseconds.
		ns := coarseNanos()
		now, nowNsec = ns/1e9, ns%1e9
		if nowNsec < 0 {
			now, nowNsec = now-1, nowNsec+1e9
		}
	} else {
		t := opts.Now()
		now, nowNsec = t.Unix(), int64(t.Nanosecond())
	}
	y := utcYear(now)
	d := dayCache.Load()
	if d == nil || d.year != y || d.month != month || d.day != day {
		d = &daySpan{year: y, month: month, day: day,
			cur: utcSeconds(y, month, day, 0, 0, 0), prev: utcSeconds(y-1, month, day, 0, 0, 0)}
		dayCache.Store(d)
	}
	// utcSeconds is its day's midnight plus the time of day.
	tod := int64(hh)*3600 + int64(mm)*60 + int64(ss)
	sec := d.cur + tod
	if sec-now > 24*3600 || (sec-now == 24*3600 && int64(nsec) > nowNsec) {
		sec = d.prev + tod
	}
	return sec
}

// daySpan caches the midnights (Unix seconds) of a month and day in a year
// and in the year before, for inferYearUTC: the lines of a log mostly share
// their day.
type daySpan struct {
	year      int
	month     time.Month
	day       int
	cur, prev int64 // utcSeconds(year, month, day, 0, 0, 0) and of year-1
}

var dayCache atomic.Pointer[daySpan]

// stampUTC reads the common RFC 3164 timestamp "Mmm dd hh:mm:ss" (or
// "Mmm  d hh:mm:ss") at s[i:] followed by a space and no year, as
// syslogStamp does with the default TimeOptions (UTC, the coarse clock),
// and returns the time; it reports false for anything else, which the
// caller then reads the general way. A log's lines mostly share their
// month and day: the midnights of the last one seen are kept with its
// bytes (stampCache), so a line of the same day costs no month, day or
// year arithmetic.
func stampUTC(s string, i int) (int64, bool) {
	if i+16 > len(s) || s[i+15] != ' ' {
		return 0, false
	}
	hh, mm, ss, ok := clock8(s, i+7)
	if !ok || hh > 23 || mm > 59 || ss > 60 {
		return 0, false
	}
	if q := i + 16; q+4 <= len(s) && tsDigit(s[q]) && tsDigit(s[q+1]) && tsDigit(s[q+2]) && tsDigit(s[q+3]) && (q+4 == len(s) || s[q+4] == ' ') {
		return 0, false // "Mmm dd hh:mm:ss yyyy"
	}
	ns := coarseNanos()
	now := ns / 1e9
	if ns%1e9 < 0 {
		now--
	}
	key := load64(s, i) & 0x00FF_FFFF_FFFF_FFFF // "Mmm dd "
	c := stampCache.Load()
	if c == nil || c.key != key || now < c.from || now >= c.to {
		if c = newStampSpan(s, i, key, now); c == nil {
			return 0, false
		}
	}
	// As inferYearUTC: this year, or the year before for a time more than
	// a day ahead of now (no fraction here, so never just a day ahead).
	tod := int64(hh)*3600 + int64(mm)*60 + int64(ss)
	sec := c.cur + tod
	if sec-now > 24*3600 {
		sec = c.prev + tod
	}
	return sec * 1e9, true
}

// stampSpan is stampCache's entry: the bytes "Mmm dd " of a timestamp,
// the Unix seconds [from, to) of the UTC year of now they hold for, and
// the midnights (Unix seconds) of that month and day in the year and the
// year before.
type stampSpan struct {
	key       uint64
	from, to  int64
	cur, prev int64
}

var stampCache atomic.Pointer[stampSpan]

// newStampSpan checks the month and day at s[i:i+7] as syslogStamp does
// and returns their stampSpan for now (Unix seconds), also storing it in
// stampCache; nil when they are not a month and day.
func newStampSpan(s string, i int, key uint64, now int64) *stampSpan {
	month, ok := parseMonth(s, i)
	if !ok || s[i+3] != ' ' {
		return nil
	}
	p := i + 4
	if s[p] == ' ' {
		p++
	}
	day := 0
	for q := p; q < i+6; q++ {
		if !tsDigit(s[q]) {
			return nil
		}
		day = day*10 + int(s[q]-'0')
	}
	if s[i+6] != ' ' || day < 1 || day > 31 {
		return nil
	}
	y := utcYear(now)
	c := &stampSpan{key: key,
		from: utcSeconds(y, time.January, 1, 0, 0, 0), to: utcSeconds(y+1, time.January, 1, 0, 0, 0),
		cur: utcSeconds(y, month, day, 0, 0, 0), prev: utcSeconds(y-1, month, day, 0, 0, 0)}
	stampCache.Store(c)
	return c
}

// parseRFC3339Fast reads the common strict RFC 3339 form
// "2006-01-02T15:04:05[.frac](Z|+07:00)" with years 1900-2199 and plain
// ranges, and gives the same result as time.Parse(time.RFC3339Nano). It
// reports false for anything else, which then takes the general path.
func parseRFC3339Fast(s string) (int64, bool) {
	// Fast path: fixed positions, no time.Time.
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	// The time of day as one word; the date's midnight from
	// rfc3339DayCache when it holds this value's date bytes (the values of
	// a log mostly share their day), else checked and computed here.
	hh, mm, ss, ok := clock8(s, 11)
	if !ok || hh > 23 || mm > 59 || ss > 59 {
		return 0, false
	}
	lo, hi := load64(s, 0), uint16(s[8])|uint16(s[9])<<8
	var mid int64 // utcSeconds of the date's midnight
	if c := rfc3339DayCache.Load(); c != nil && c.lo == lo && c.hi == hi {
		mid = c.mid
	} else {
		year, month, day, _, _, _, ok := isoDigits(s)
		if !ok || year < 1900 || year > 2199 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) {
			return 0, false
		}
		mid = utcSeconds(year, time.Month(month), day, 0, 0, 0)
		rfc3339DayCache.Store(&isoDay{lo: lo, hi: hi, mid: mid})
	}
	i, nsec := 19, 0
	if s[i] == '.' {
		i++
		digits := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if digits == 9 {
				return 0, false
			}
			nsec = nsec*10 + int(s[i]-'0')
			digits++
			i++
		}
		if digits == 0 {
			return 0, false
		}
		for ; digits < 9; digits++ {
			nsec *= 10
		}
	}
	off := 0
	switch {
	case i == len(s)-1 && s[i] == 'Z':
	case i == len(s)-6 && (s[i] == '+' || s[i] == '-') && s[i+3] == ':':
		zh, okh := num(s, i+1, 2)
		zm, okm := num(s, i+4, 2)
		if !okh || !okm || zh > 23 || zm > 59 {
			return 0, false
		}
		off = (zh*60 + zm) * 60
		if s[i] == '-' {
			off = -off
		}
	default:
		return 0, false
	}
	// utcSeconds is the midnight plus the time of day (int64 arithmetic).
	sec := mid + int64(hh)*3600 + int64(mm)*60 + int64(ss) - int64(off)
	return sec*1e9 + int64(nsec), true
}

// rfc3339DayCache is parseRFC3339Fast's last date: its bytes and midnight,
// stored only after the date passed parseRFC3339Fast's own checks (year
// 1900-2199, a day of its month), which are stricter than parseISO's (so
// the two do not share isoDayCache).
var rfc3339DayCache atomic.Pointer[isoDay]

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// utcYear returns the UTC year of a Unix time. The year of the last call
// is cached, so the common case is two comparisons.
func utcYear(unix int64) int {
	c := yearCache.Load()
	if c != nil && unix >= c.start && unix < c.end {
		return c.year
	}
	y := time.Unix(unix, 0).UTC().Year()
	yearCache.Store(&yearSpan{year: y, start: utcSeconds(y, time.January, 1, 0, 0, 0), end: utcSeconds(y+1, time.January, 1, 0, 0, 0)})
	return y
}

type yearSpan struct {
	year       int
	start, end int64 // Unix seconds, [start, end)
}

var yearCache atomic.Pointer[yearSpan]

// utcSeconds is the Unix time of a UTC civil time; out-of-range days, hours,
// minutes and seconds carry over the way time.Date normalizes them.
func utcSeconds(year int, month time.Month, day, hh, mm, ss int) int64 {
	// Days from civil (H. Hinnant), with March as the first month.
	y := int64(year)
	m := int64(month)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := era*146097 + doe - 719468
	return days*86400 + int64(hh)*3600 + int64(mm)*60 + int64(ss)
}

// parseApache reads "02/Jan/2006:15:04:05 -0700" at s[i:].
func parseApache(s string, i int) (int64, bool) {
	if i+26 > len(s) || s[i+2] != '/' || s[i+6] != '/' || s[i+11] != ':' || s[i+14] != ':' || s[i+17] != ':' || s[i+20] != ' ' {
		return 0, false
	}
	day, ok1 := num(s, i, 2)
	month, ok2 := parseMonth(s, i+3)
	year, ok3 := num(s, i+7, 4)
	hh, ok4 := num(s, i+12, 2)
	mm, ok5 := num(s, i+15, 2)
	ss, ok6 := num(s, i+18, 2)
	zh, ok7 := num(s, i+22, 2)
	zm, ok8 := num(s, i+24, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) || (s[i+21] != '+' && s[i+21] != '-') {
		return 0, false
	}
	off := (zh*60 + zm) * 60
	if s[i+21] == '-' {
		off = -off
	}
	t := time.Date(year, month, day, hh, mm, ss, 0, time.FixedZone("", off))
	return t.UnixNano(), true
}

// ParseZone accepts an IANA zone name (Asia/Tokyo) or a fixed offset
// (+09:00), for sources whose timestamps carry no zone.
func ParseZone(s string) (*time.Location, error) {
	if len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':' {
		h, ok1 := num(s, 1, 2)
		m, ok2 := num(s, 4, 2)
		if ok1 && ok2 && h < 24 && m < 60 {
			off := (h*60 + m) * 60
			if s[0] == '-' {
				off = -off
			}
			return time.FixedZone(s, off), nil
		}
	}
	loc, err := time.LoadLocation(s)
	if err != nil || s == "" {
		return nil, fmt.Errorf("zone %q: want an IANA name like Asia/Tokyo or an offset like +09:00", s)
	}
	return loc, nil
}
