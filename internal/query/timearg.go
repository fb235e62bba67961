package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/event"
)

// ParseTimeArg parses a from/to argument: "now", a relative time ("-15m",
// "-24h", "-7d", "-1w", "now-1h"), RFC 3339, or a Unix epoch in seconds,
// milliseconds, microseconds or nanoseconds. It returns Unix ns.
func ParseTimeArg(s string, now time.Time) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("parse time: empty")
	}
	ls := strings.ToLower(s)
	if ls == "now" {
		return now.UnixNano(), nil
	}
	rel := ls
	if strings.HasPrefix(rel, "now") {
		rel = rel[3:]
	}
	if rel != "" && (rel[0] == '-' || rel[0] == '+') && len(rel) > 1 && !allDigits(rel[1:]) {
		d, err := parseSpan(rel[1:])
		if err != nil {
			return 0, fmt.Errorf("parse time %q: %w", s, err)
		}
		if rel[0] == '-' {
			d = -d
		}
		return now.Add(d).UnixNano(), nil
	}
	if allDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse time %q: %w", s, err)
		}
		return event.EpochToNanos(n), nil
	}
	if ns, ok := event.ParseTime(s); ok {
		return ns, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UnixNano(), nil
		}
	}
	return 0, fmt.Errorf("parse time %q: want RFC 3339, a relative time like -15m or -7d, now, or a Unix epoch", s)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func timeFromNs(ns int64) time.Time { return time.Unix(0, ns).UTC() }
