package query

import (
	"math"
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/event"
)

// kind is the type of a val. Event fields are text; expressions and
// aggregations produce numbers, booleans and times, which stay typed until
// a row is emitted.
type kind uint8

const (
	kUnset kind = iota // not set (an override slot that falls through)
	kNull              // missing field
	kStr
	kNum
	kBool
	kTime // n holds nothing; t holds Unix ns
)

// val is one typed value. It is passed by value and never allocates unless
// a string is built.
type val struct {
	k kind
	s string
	n float64
	t int64
}

var nullVal = val{k: kNull}

func strVal(s string) val  { return val{k: kStr, s: s} }
func numVal(n float64) val { return val{k: kNum, n: n} }
func timeVal(ns int64) val { return val{k: kTime, t: ns} }
func boolVal(b bool) val {
	if b {
		return val{k: kBool, n: 1}
	}
	return val{k: kBool}
}

func (v val) isNull() bool { return v.k <= kNull }

// num returns v as a number.
func (v val) num() (float64, bool) {
	switch v.k {
	case kNum, kBool:
		return v.n, true
	case kTime:
		return float64(v.t / 1e6), true // Sumo: times are epoch milliseconds
	case kStr:
		return parseNum(v.s)
	}
	return 0, false
}

// parseNum parses a decimal number; surrounding spaces are allowed.
func parseNum(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	// Fast path: plain integers.
	if len(s) < 19 {
		neg := false
		i := 0
		if s[0] == '-' || s[0] == '+' {
			neg = s[0] == '-'
			i = 1
		}
		if i < len(s) {
			n := int64(0)
			j := i
			for ; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
				n = n*10 + int64(s[j]-'0')
			}
			if j == len(s) {
				if neg {
					n = -n
				}
				return float64(n), true
			}
		}
	}
	// Slow path: fractions, exponents, spaces; reject non-numbers without
	// calling ParseFloat, whose errors allocate.
	s = strings.TrimSpace(s)
	if !looksNumeric(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// str returns v as text, the way it is emitted.
func (v val) str() string {
	switch v.k {
	case kStr:
		return v.s
	case kNum:
		return formatNum(v.n)
	case kBool:
		if v.n != 0 {
			return "true"
		}
		return "false"
	case kTime:
		return event.FormatTime(v.t)
	}
	return ""
}

func formatNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func (v val) truthy() bool {
	switch v.k {
	case kBool, kNum:
		return v.n != 0
	case kStr:
		return v.s != "" && v.s != "false" && v.s != "0"
	case kTime:
		return true
	}
	return false
}

// compareVals orders a and b: numerically when both are numbers, by time
// when both are times, else as text. Null sorts first. ok is false when
// either is null.
func compareVals(a, b val) (int, bool) {
	if a.isNull() || b.isNull() {
		switch {
		case a.isNull() && b.isNull():
			return 0, false
		case a.isNull():
			return -1, false
		}
		return 1, false
	}
	if a.k == kTime && b.k == kTime {
		return cmpInt(a.t, b.t), true
	}
	if x, ok := a.num(); ok {
		if y, ok := b.num(); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	}
	return strings.Compare(a.str(), b.str()), true
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equalVals is = of where: numbers compare as numbers, text exactly.
func equalVals(a, b val) bool {
	c, ok := compareVals(a, b)
	return ok && c == 0
}

// looksNumeric reports whether s has the shape [+-]digits[.digits][e[+-]digits].
func looksNumeric(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
