package logreduce

// Timestamps written with spaces (syslog "Jan  1 00:00:00", ctime "Wed Jul
// 27 10:59:53 2005") are one variable, not five. collapseDates replaces
// each such run of words by dateWord, which is how a clock time looks in
// canonical form (':' separates variables and is kept).

const dateWord = "<*>:<*>:<*>"

// collapseDates rewrites words in place and returns the shortened slice.
func collapseDates(words []string) []string {
	out := words[:0]
	for i := 0; i < len(words); i++ {
		// A date starts with a 3-letter weekday or month name.
		if len(words[i]) != 3 {
			out = append(out, words[i])
			continue
		}
		if n := dateRun(words[i:]); n > 0 {
			out = append(out, dateWord)
			i += n - 1
			continue
		}
		out = append(out, words[i])
	}
	return out
}

// dateRun returns how many words at the start of w form a timestamp:
// [weekday] month day clock [year]; 0 when they do not.
func dateRun(w []string) int {
	i := 0
	if i < len(w) && isNameOf(w[i], weekdays) {
		i++
	}
	if i+2 >= len(w) || !isNameOf(w[i], months) || !isDay(w[i+1]) || !isClock(w[i+2]) {
		return 0
	}
	i += 3
	if i < len(w) && isYear(w[i]) {
		i++
	}
	return i
}

var (
	months   = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
)

func isNameOf(w string, names []string) bool {
	if len(w) != 3 || w[0] < 'A' || w[0] > 'Z' {
		return false
	}
	for _, n := range names {
		if n == w {
			return true
		}
	}
	return false
}

func isDay(w string) bool {
	return (len(w) == 1 || len(w) == 2) && allDigits(w)
}

func isYear(w string) bool {
	return len(w) == 4 && allDigits(w)
}

// isClock reports H:MM:SS or HH:MM:SS with an optional fraction.
func isClock(w string) bool {
	if len(w) < 7 {
		return false
	}
	h := 1
	if charClass[w[1]]&clDigit != 0 {
		h = 2
	}
	if len(w) < h+6 || !allDigits(w[:h]) || w[h] != ':' || !allDigits(w[h+1:h+3]) || w[h+3] != ':' || !allDigits(w[h+4:h+6]) {
		return false
	}
	rest := w[h+6:]
	return rest == "" || ((rest[0] == '.' || rest[0] == ',') && len(rest) > 1 && allDigits(rest[1:]))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&clDigit == 0 {
			return false
		}
	}
	return s != ""
}
