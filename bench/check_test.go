package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// rows decodes NDJSON test rows the way readRows does.
func rows(t *testing.T, lines ...string) []row {
	t.Helper()
	res, err := readRows(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatalf("readRows: %v", err)
	}
	return res.rows
}

func TestCheckAnswer(t *testing.T) {
	e := &expected{
		NeedleTerm: 2, FieldEqCount: 19339, DistinctSrcIP: 3,
		ByHost:       map[string]int64{"a": 2, "b": 1},
		ByMinute:     map[string]int64{"1767225600": 2, "1767225660": 1},
		ByUser:       map[string]int64{"-": 5, "x": 3, "y": 3, "z": 1},
		SSHFailBySrc: map[string]int64{"1.2.3.4": 4},
		TailTimes:    []int64{1767225660000000000, 1767225600000000000},
	}
	hash := needleHash
	f := func(name string, ok bool, lines ...string) {
		t.Helper()
		v := checkAnswer(name, rows(t, lines...), e)
		if v.OK != ok {
			t.Fatalf("checkAnswer(%s, %q) = %+v, want ok %v", name, lines, v, ok)
		}
		if v.Want == "" || v.Got == "" {
			t.Fatalf("checkAnswer(%s): empty description %+v", name, v)
		}
	}
	// Rows holding the needle anywhere, in any case.
	f("needle_term", true, `{"_raw":"x `+hash+` y"}`, `{"sha256":"`+strings.ToUpper(hash)+`"}`)
	f("needle_term", false, `{"_raw":"x `+hash+`"}`)
	f("needle_term", false, `{"_raw":"x `+hash+`"}`, `{"_raw":"nothing"}`)
	f("needle_term", true, `{"_raw":"`+hash+`"}`, `{"nested":{"list":["`+hash+`"]}}`)
	// Counts: number, string, float, another name.
	f("field_eq_count", true, `{"_count":19339}`)
	f("field_eq_count", true, `{"_count":"19339"}`)
	f("field_eq_count", true, `{"_count":19339.0}`)
	f("field_eq_count", true, `{"n":19339}`)
	f("field_eq_count", false, `{"_count":19338}`)
	f("field_eq_count", false, `{"_count":19339}`, `{"_count":1}`)
	f("field_eq_count", false, `{"a":1,"b":2}`)
	f("field_eq_count", false)
	f("distinct_src_ip", true, `{"_count_distinct":3}`)
	// Groups.
	f("count_by_host", true, `{"host":"a","_count":2}`, `{"host":"b","_count":1}`)
	f("count_by_host", false, `{"host":"a","_count":2}`)
	f("count_by_host", false, `{"host":"a","_count":2}`, `{"host":"b","_count":2}`)
	f("count_by_host", false, `{"host":"a","_count":2}`, `{"host":"a","_count":1}`)
	f("count_by_host", false, `{"host":"a","_count":2}`, `{"_count":1}`)
	// Timeslices as RFC 3339, Unix ms, Unix s.
	f("count_by_1m", true, `{"_timeslice":"2026-01-01T00:00:00Z","_count":2}`, `{"_timeslice":"2026-01-01T00:01:00Z","_count":1}`)
	f("count_by_1m", true, `{"_timeslice":1767225600000,"_count":2}`, `{"_timeslice":1767225660000,"_count":1}`)
	f("count_by_1m", true, `{"_timeslice":"1767225600","_count":2}`, `{"_timeslice":1767225660,"_count":1}`)
	f("count_by_1m", false, `{"_timeslice":"2026-01-01T00:00:00Z","_count":3}`)
	f("count_by_1m", false, `{"_timeslice":"yesterday","_count":2}`, `{"_timeslice":1767225660,"_count":1}`)
	// Top lists: ties (x, y) may come in either order; n = 10 > groups.
	f("top_users", true, `{"user":"-","_count":5}`, `{"user":"y","_count":3}`, `{"user":"x","_count":3}`, `{"user":"z","_count":1}`)
	f("top_users", false, `{"user":"-","_count":5}`, `{"user":"x","_count":3}`, `{"user":"z","_count":1}`, `{"user":"y","_count":3}`)
	f("top_users", false, `{"user":"-","_count":5}`, `{"user":"x","_count":4}`, `{"user":"y","_count":3}`, `{"user":"z","_count":1}`)
	f("top_users", false, `{"user":"-","_count":5}`)
	f("ssh_bruteforce_top", true, `{"src_ip":"1.2.3.4","_count":4}`)
	// Tail: newest first when _time is present; order unchecked without it.
	f("host_tail_100", true, `{"_time":"2026-01-01T00:01:00Z","host":"`+tailHost+`"}`, `{"_time":"2026-01-01T00:00:00Z","host":"`+tailHost+`"}`)
	f("host_tail_100", false, `{"_time":"2026-01-01T00:00:00Z","host":"`+tailHost+`"}`, `{"_time":"2026-01-01T00:01:00Z","host":"`+tailHost+`"}`)
	f("host_tail_100", true, `{"host":"`+tailHost+`"}`, `{"_raw":"`+tailHost+` sshd"}`)
	f("host_tail_100", false, `{"host":"`+tailHost+`"}`, `{"host":"web-002"}`)
	f("no_such_query", false)
}

func TestToInt(t *testing.T) {
	f := func(v any, want int64, ok bool) {
		t.Helper()
		got, gotOK := toInt(v)
		if gotOK != ok || (ok && got != want) {
			t.Fatalf("toInt(%#v) = %d, %v, want %d, %v", v, got, gotOK, want, ok)
		}
	}
	f(json.Number("12"), 12, true)
	f(json.Number("12.0"), 12, true)
	f(json.Number("12.5"), 0, false)
	f("1,234", 1234, true)
	f("x", 0, false)
	f(3.0, 3, true)
	f(true, 0, false)
	f(nil, 0, false)
}

func TestParseTime(t *testing.T) {
	const want = 1767225600000000000
	for _, v := range []any{"2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00", json.Number("1767225600"),
		json.Number("1767225600000"), json.Number("1767225600000000"), json.Number("1767225600000000000"), "1767225600000"} {
		if got, ok := parseTime(v); !ok || got != want {
			t.Fatalf("parseTime(%#v) = %d, %v, want %d", v, got, ok, int64(want))
		}
	}
	for _, v := range []any{"", "noon", json.Number("1.5"), 3.0, nil} {
		if _, ok := parseTime(v); ok {
			t.Fatalf("parseTime(%#v) ok, want not", v)
		}
	}
}
