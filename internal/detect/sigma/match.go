package sigma

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/mamori/mamori/internal/event"
)

// toLower lower-cases s, returning s itself when nothing changes.
func toLower(s string) string {
	// Fast path: ASCII only, already lower case.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			// Slow path: Unicode case mapping.
			return strings.ToLower(s)
		}
		if c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 0x80 {
					return strings.ToLower(s)
				}
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// appendLower appends the lower-case form of s to dst.
func appendLower(dst []byte, s string) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(s))[:n+len(s)]
	d := dst[n : n+len(s)]
	// Fast path: ASCII only, written in place.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			// Slow path: Unicode case mapping of the rest.
			return appendLowerRunes(dst[:n+i], s[i:])
		}
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		d[i] = c
	}
	return dst
}

// appendLowerRunes appends strings.ToLower(s) to dst rune by rune, without
// strings.Map's builder: ASCII bytes as in appendLower, other runes
// through unicode.ToLower, and each invalid byte as U+FFFD (as
// strings.Map writes it). Mostly-ASCII text (a JSON line with a few
// accented letters) costs about what appendLower costs.
func appendLowerRunes(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c-'A' < 26 {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	return dst
}

// bytesView returns a string sharing b's memory. The caller must not modify
// b while the string is in use; the engine only uses such strings during one
// Match call, on a buffer that only grows during that call.
func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b)) // #nosec G103 -- zero-copy view; callers never modify b while the string is in use (documented on the function)
}

// value returns the original value of a slot and whether the event has it.
func (st *state) value(slot int32) (string, bool) {
	if slot < 0 || st.setGen[slot] != st.gen {
		return "", false
	}
	return st.vals[slot], true
}

// lower returns the lower-cased value of a set slot.
func (st *state) lower(slot int32) string {
	return st.lowerField(st.slotField[slot])
}

// lowerField returns the lower-cased value of event field j, computing it
// once per event: most events only need the values some needle or rule
// names, so the rest are never lowered.
func (st *state) lowerField(j int32) string {
	if st.lowGen[j] == st.gen {
		return st.fieldLows[j]
	}
	st.lowGen[j] = st.gen
	v := st.fieldValue(j)
	// Fast path: ASCII without upper case needs no copy.
	i := 0
	for i < len(v) && v[i] < 0x80 && v[i]-'A' >= 26 {
		i++
	}
	if i == len(v) {
		st.fieldLows[j] = v
		return v
	}
	// Slow path: copy into the event's buffer, reserved in load so that
	// earlier views stay in one array (they stay valid anyway: a string
	// keeps its array alive).
	start := len(st.lowbuf)
	st.lowbuf = appendLower(st.lowbuf, v)
	st.fieldLows[j] = bytesView(st.lowbuf[start:])
	return st.fieldLows[j]
}

// fieldValue returns the value of event field j (then of the extra values).
func (st *state) fieldValue(j int32) string {
	if n := int32(len(st.ev.Fields)); j < n {
		return st.ev.Fields[j].Value
	} else {
		return st.extra[j-n]
	}
}

// lowerAll lower-cases every field value and the raw text of the event once
// (keyword searches scan these).
func (st *state) lowerAll() {
	if st.lowsReady {
		return
	}
	st.lowsReady = true
	for j := range st.fieldSlot {
		st.lowerField(int32(j))
	}
	st.lowerRaw()
}

// lowerRaw returns the lower-cased raw text of the event, computing it
// once per event (the prefilter's keyword scan of a non-ASCII raw text
// needs only this, not every field's).
func (st *state) lowerRaw() string {
	if !st.rawReady {
		st.rawReady = true
		start := len(st.lowbuf)
		st.lowbuf = appendLower(st.lowbuf, st.ev.Raw)
		st.rawLow = bytesView(st.lowbuf[start:])
	}
	return st.rawLow
}

// match tests one value. low is called only when a case-insensitive
// comparison needs the lower-cased value.
func (m *matcher) match(st *state, slot int32, v string, present bool) bool {
	switch m.op {
	case opNull:
		return !present || v == ""
	case opExists:
		return present == m.want
	}
	if !present {
		return false
	}
	switch m.op {
	case opAny:
		return true
	case opRegex:
		if len(m.x.glob) > 0 {
			text := v
			if !m.cased {
				text = st.lowerOf(slot, v)
			}
			for _, l := range m.x.glob {
				if !strings.Contains(text, l) {
					return false
				}
			}
		}
		if m.x.run != nil && !m.x.run.in(v) {
			return false
		}
		if m.x.seq != nil && !m.x.seq.in(v) {
			return false
		}
		return m.x.re.MatchString(v)
	case opCIDR:
		addr, err := netip.ParseAddr(strings.TrimSpace(v))
		return err == nil && m.x.pfx.Contains(addr.Unmap())
	case opGT, opGTE, opLT, opLTE:
		return compareNum(m.op, v, m.num)
	case opTime:
		return matchTimePart(m.sub, v, int(m.num))
	case opFieldRef:
		other, ok := st.value(m.ref)
		if !ok {
			return false
		}
		a, b := v, other
		if !m.cased {
			a, b = st.lowerOf(slot, v), st.lower(m.ref)
		}
		return strOp(m.sub, a, b)
	}
	if m.nid > 0 && slot >= 0 && st.scanned {
		// Fast path: the prefilter saw every occurrence of this literal
		// (opContains) or looked the whole value up (opEq).
		if st.keyGen[m.nid-1] != st.gen {
			return false
		}
	}
	s := v
	if !m.cased {
		s = st.lowerOf(slot, v)
	}
	switch m.op {
	case opEq:
		return s == m.lit(st.lits)
	case opPrefix:
		return strings.HasPrefix(s, m.lit(st.lits))
	case opSuffix:
		return strings.HasSuffix(s, m.lit(st.lits))
	case opContains:
		return strings.Contains(s, m.lit(st.lits))
	case opGlob:
		return globParts(m.x.glob, s)
	}
	return false
}

// lowerOf returns the lower-cased v: through the slot cache when v is a
// slot value, else the keyword search's current value (st.kwLow).
func (st *state) lowerOf(slot int32, v string) string {
	if slot >= 0 {
		return st.lower(slot)
	}
	return st.kwLow
}

func strOp(op uint8, s, lit string) bool {
	switch op {
	case opPrefix:
		return strings.HasPrefix(s, lit)
	case opSuffix:
		return strings.HasSuffix(s, lit)
	case opContains:
		return strings.Contains(s, lit)
	}
	return s == lit
}

func parseNum(v string) (float64, bool) {
	v = strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f, true
	}
	if n, err := strconv.ParseInt(v, 0, 64); err == nil {
		return float64(n), true
	}
	return 0, false
}

func compareNum(op uint8, v string, want float64) bool {
	f, ok := parseNum(v)
	if !ok {
		return false
	}
	switch op {
	case opGT:
		return f > want
	case opGTE:
		return f >= want
	case opLT:
		return f < want
	}
	return f <= want
}

func matchTimePart(part uint8, v string, want int) bool {
	ns, ok := event.ParseTime(v)
	if !ok {
		t, err := time.Parse("2006-01-02 15:04:05.999999999", v)
		if err != nil {
			return false
		}
		ns = t.UnixNano()
	}
	t := time.Unix(0, ns).UTC()
	var got int
	switch part {
	case 0:
		got = t.Minute()
	case 1:
		got = t.Hour()
	case 2:
		got = t.Day()
	case 3:
		_, got = t.ISOWeek()
	case 4:
		got = int(t.Month())
	default:
		got = t.Year()
	}
	return got == want
}

// globParts matches s against segments that were separated by '*'. In a
// segment the byte 0 stands for '?' (one character).
func globParts(segs []string, s string) bool {
	if len(segs) == 1 {
		end, ok := segAt(segs[0], s, 0)
		return ok && end == len(s)
	}
	end, ok := segAt(segs[0], s, 0)
	if !ok {
		return false
	}
	pos := end
	for _, seg := range segs[1 : len(segs)-1] {
		if pos, ok = findSeg(seg, s, pos); !ok {
			return false
		}
	}
	last := segs[len(segs)-1]
	if strings.IndexByte(last, 0) < 0 {
		// No '?': the last segment is the text's suffix of its length.
		return len(s)-len(last) >= pos && strings.HasSuffix(s, last)
	}
	for i := len(s); i >= pos; i-- {
		if e, ok := segAt(last, s, i); ok && e == len(s) {
			return true
		}
	}
	return false
}

// findSeg returns the end of the first match of seg in s that starts at
// pos or later. A match starts with seg's literal bytes before its first
// '?', so only where strings.Index finds them (vectorised) is seg tried;
// a seg that starts with '?' is tried at every position.
func findSeg(seg, s string, pos int) (int, bool) {
	lit := seg
	if k := strings.IndexByte(seg, 0); k >= 0 {
		lit = seg[:k]
	}
	if lit == "" {
		for i := pos; i <= len(s); i++ {
			if e, ok := segAt(seg, s, i); ok {
				return e, true
			}
		}
		return 0, false
	}
	for i := pos; i < len(s); i++ {
		k := strings.Index(s[i:], lit)
		if k < 0 {
			return 0, false
		}
		i += k
		if e, ok := segAt(seg, s, i); ok {
			return e, true
		}
	}
	return 0, false
}

// segAt matches seg at s[i:], returning the end offset.
func segAt(seg, s string, i int) (int, bool) {
	for j := 0; j < len(seg); j++ {
		if i >= len(s) {
			return 0, false
		}
		if seg[j] == 0 {
			// '?' is one character, which may be several bytes.
			if s[i] < utf8.RuneSelf {
				i++
			} else {
				_, n := utf8.DecodeRuneInString(s[i:])
				i += n
			}
			continue
		}
		if s[i] != seg[j] {
			return 0, false
		}
		i++
	}
	return i, true
}
