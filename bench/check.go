package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// verdict is the outcome of checking one answer.
type verdict struct {
	OK   bool   `json:"ok"`
	Want string `json:"want"`
	Got  string `json:"got"`
}

// checkAnswer compares the rows a server returned for query name with the
// reference answers.
func checkAnswer(name string, rows []row, e *expected) verdict {
	switch name {
	case "needle_term":
		return checkRows(rows, e.NeedleTerm, needleHash)
	case "needle_ip":
		return checkRows(rows, e.NeedleIP, needleIP)
	case "field_eq_needle":
		return checkRows(rows, e.FieldEqNeedle, needleIP)
	case "field_eq_count":
		return checkCount(rows, e.FieldEqCount)
	case "phrase_count":
		return checkCount(rows, e.PhraseCount)
	case "regex_count":
		return checkCount(rows, e.RegexCount)
	case "distinct_src_ip":
		return checkCount(rows, e.DistinctSrcIP)
	case "count_by_host":
		return checkGroups(rows, "host", e.ByHost, nil)
	case "count_by_1m":
		return checkGroups(rows, "_timeslice", e.ByMinute, minuteKey)
	case "top_users":
		return checkTop(rows, "user", e.ByUser, topN)
	case "ssh_bruteforce_top":
		return checkTop(rows, "src_ip", e.SSHFailBySrc, topN)
	case "host_tail_100":
		return checkTail(rows, e.TailTimes, tailHost)
	}
	return verdict{Want: "a known query", Got: "unknown query " + name}
}

// checkRows wants exactly n rows, each holding text in some value.
func checkRows(rows []row, n int64, text string) verdict {
	v := verdict{Want: fmt.Sprintf("%d rows containing %s", n, text)}
	missing := 0
	for _, r := range rows {
		if !rowContains(r, text) {
			missing++
		}
	}
	v.Got = fmt.Sprintf("%d rows", len(rows))
	if missing > 0 {
		v.Got += fmt.Sprintf(", %d without %s", missing, text)
	}
	v.OK = int64(len(rows)) == n && missing == 0
	return v
}

// checkCount wants one row with one aggregate equal to n.
func checkCount(rows []row, n int64) verdict {
	v := verdict{Want: fmt.Sprintf("1 row, count %d", n)}
	if len(rows) != 1 {
		v.Got = fmt.Sprintf("%d rows", len(rows))
		return v
	}
	c, ok := aggValue(rows[0], "")
	if !ok {
		v.Got = "no numeric aggregate in " + compact(rows[0])
		return v
	}
	v.Got = fmt.Sprintf("1 row, count %d", c)
	v.OK = c == n
	return v
}

// checkGroups wants one row per group of want, with its exact count.
// norm, when set, maps a returned group value to the key of want.
func checkGroups(rows []row, field string, want map[string]int64, norm func(any) (string, bool)) verdict {
	var total int64
	for _, c := range want {
		total += c
	}
	v := verdict{Want: fmt.Sprintf("%d rows, total %d", len(want), total)}
	var gotTotal int64
	var bad []string
	seen := map[string]bool{}
	for _, r := range rows {
		key, ok := groupKey(r, field, norm)
		c, cok := aggValue(r, field)
		if !ok || !cok {
			bad = append(bad, "unreadable row "+compact(r))
			continue
		}
		gotTotal += c
		if seen[key] {
			bad = append(bad, "duplicate "+key)
		}
		seen[key] = true
		if w, found := want[key]; !found || w != c {
			bad = append(bad, fmt.Sprintf("%s=%d (want %d)", key, c, w))
		}
	}
	v.Got = fmt.Sprintf("%d rows, total %d", len(rows), gotTotal)
	if len(bad) > 0 {
		v.Got += fmt.Sprintf(", %d wrong: %s", len(bad), firstN(bad, 3))
	}
	v.OK = len(rows) == len(want) && len(bad) == 0 && gotTotal == total
	return v
}

// checkTop wants the n largest groups in descending order. Ties make the
// values ambiguous, so each row must carry its true count and the counts
// must be the n largest; the first value is shown for the reader.
func checkTop(rows []row, field string, all map[string]int64, n int) verdict {
	want := top(all, n)
	v := verdict{Want: fmt.Sprintf("%d rows", len(want))}
	if len(want) > 0 {
		v.Want += fmt.Sprintf(", first %s (%d)", want[0].Value, want[0].Count)
	}
	var bad []string
	first := ""
	for i, r := range rows {
		key, ok := groupKey(r, field, nil)
		c, cok := aggValue(r, field)
		switch {
		case !ok || !cok:
			bad = append(bad, "unreadable row "+compact(r))
		case all[key] != c:
			bad = append(bad, fmt.Sprintf("%s=%d (true count %d)", key, c, all[key]))
		case i < len(want) && c != want[i].Count:
			bad = append(bad, fmt.Sprintf("row %d: %s=%d, want count %d", i+1, key, c, want[i].Count))
		}
		if i == 0 {
			first = fmt.Sprintf(", first %s (%d)", key, c)
		}
	}
	v.Got = fmt.Sprintf("%d rows%s", len(rows), first)
	if len(bad) > 0 {
		v.Got += fmt.Sprintf(", %d wrong: %s", len(bad), firstN(bad, 3))
	}
	v.OK = len(rows) == len(want) && len(bad) == 0
	return v
}

// checkTail wants the newest events of host, newest first. Times are
// checked when the rows carry _time.
func checkTail(rows []row, times []int64, host string) verdict {
	v := checkRows(rows, int64(len(times)), host)
	v.Want = fmt.Sprintf("%d newest rows of %s", len(times), host)
	if !v.OK {
		return v
	}
	for i, r := range rows {
		raw, ok := r["_time"]
		if !ok {
			v.Got += " (no _time, order not checked)"
			return v
		}
		ts, ok := parseTime(raw)
		if !ok || ts != times[i] {
			v.OK = false
			v.Got += fmt.Sprintf(", row %d _time %v, want %s", i+1, raw, time.Unix(0, times[i]).UTC().Format(time.RFC3339Nano))
			return v
		}
	}
	v.Got += ", newest first"
	return v
}

// aggKeys are the names an aggregate column may have, in order of preference.
var aggKeys = []string{"_count", "_count_distinct", "count", "count_distinct"}

// aggValue finds the aggregate of a row: a known aggregate column, else the
// only numeric column other than the group field and _time.
func aggValue(r row, groupField string) (int64, bool) {
	for _, k := range aggKeys {
		if v, ok := r[k]; ok {
			return toInt(v)
		}
	}
	var found int64
	n := 0
	for k, v := range r {
		if k == groupField || k == "_time" {
			continue
		}
		if x, ok := toInt(v); ok {
			found = x
			n++
		}
	}
	return found, n == 1
}

// toInt reads an integral JSON number, or a string holding one.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, true
		}
		f, err := x.Float64()
		if err != nil || f != math.Trunc(f) {
			return 0, false
		}
		return int64(f), true
	case float64:
		return int64(x), x == math.Trunc(x)
	case string:
		i, err := strconv.ParseInt(strings.ReplaceAll(x, ",", ""), 10, 64)
		return i, err == nil
	}
	return 0, false
}

func groupKey(r row, field string, norm func(any) (string, bool)) (string, bool) {
	v, ok := r[field]
	if !ok {
		return "", false
	}
	if norm != nil {
		return norm(v)
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return fmt.Sprint(v), true
}

// minuteKey maps a timeslice value (RFC 3339 text, or Unix seconds,
// milliseconds or nanoseconds) to the key of expected.ByMinute.
func minuteKey(v any) (string, bool) {
	ns, ok := parseTime(v)
	if !ok {
		return "", false
	}
	return strconv.FormatInt(ns/1e9/60*60, 10), true
}

// parseTime reads a time as RFC 3339 text or a Unix number whose unit is
// guessed from its size; it returns Unix nanoseconds.
func parseTime(v any) (int64, bool) {
	var n int64
	switch x := v.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.UnixNano(), true
		}
		i, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, false
		}
		n = i
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			return 0, false
		}
		n = i
	default:
		return 0, false
	}
	switch {
	case n > 1e17: // nanoseconds
		return n, true
	case n > 1e14: // microseconds
		return n * 1e3, true
	case n > 1e11: // milliseconds
		return n * 1e6, true
	}
	return n * 1e9, true
}

// rowContains reports whether any value of r (nested values included)
// contains text, ignoring case.
func rowContains(r row, text string) bool {
	return valueContains(map[string]any(r), strings.ToLower(text))
}

func valueContains(v any, lower string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(strings.ToLower(x), lower)
	case map[string]any:
		for _, y := range x {
			if valueContains(y, lower) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(x, func(y any) bool { return valueContains(y, lower) })
	}
	return false
}

func compact(r row) string {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Sprint(map[string]any(r))
	}
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

func firstN(s []string, n int) string {
	if len(s) > n {
		return strings.Join(s[:n], "; ") + fmt.Sprintf("; and %d more", len(s)-n)
	}
	return strings.Join(s, "; ")
}
