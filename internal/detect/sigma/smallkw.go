package sigma

import "strings"

// fewNeedles finds the needles of a keyword matcher that has only a few
// (a Windows alternative often has one or two keyword rules, whose needles
// must then be looked for in every value of every event of the
// alternative): each needle is found by searching for one of its bytes
// with strings.IndexByte (vectorised) and comparing the bytes around it,
// which is several times faster than the anchor matcher's byte-by-byte
// scan, and cheaper than a value cache lookup.
type fewNeedles struct {
	needles []string // lower-case, as in the anchor matcher
	at      []int    // per needle: the offset of the byte searched for
	// alt is, per needle, the upper-case form of the searched byte when it
	// is a letter (both forms are searched in text not lower-cased), else 0.
	alt []byte
}

// maxFewNeedles is the most needles a fewNeedles matcher takes.
const maxFewNeedles = 4

// byteRank orders bytes by how common they are in log values (lower is
// rarer, so searching for it finds fewer places to compare): punctuation
// other than path and word separators, then digits, then separators,
// then letters (which need two searches when text is not lower-cased).
func byteRank(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return 5
	case c == ' ':
		return 4
	case c == '\\' || c == '.':
		return 3
	case c == '-' || c == '_' || c == '/' || c == ':':
		return 2
	case c >= '0' && c <= '9':
		return 1
	}
	return 0
}

// newFewNeedles returns a matcher for needles (lower-case, ASCII, at least
// one byte), or nil when there are too many or one is not ASCII.
func newFewNeedles(needles []string) *fewNeedles {
	if len(needles) == 0 || len(needles) > maxFewNeedles {
		return nil
	}
	f := &fewNeedles{needles: needles, at: make([]int, len(needles)), alt: make([]byte, len(needles))}
	for i, n := range needles {
		if n == "" || !isASCII(n) {
			return nil
		}
		best := 0
		for j := 1; j < len(n); j++ {
			if byteRank(n[j]) < byteRank(n[best]) {
				best = j
			}
		}
		f.at[i] = best
		if c := n[best]; c >= 'a' && c <= 'z' {
			f.alt[i] = c - 'a' + 'A'
		}
	}
	return f
}

// scan appends the id of every needle found in text to dst; with fold,
// text is ASCII and not lower-cased (else it is lower-cased).
func (f *fewNeedles) scan(text string, fold bool, dst []int32) []int32 {
	for i, n := range f.needles {
		if len(n) > len(text) {
			continue
		}
		at := f.at[i]
		if f.find(text, n, at, n[at], fold) || fold && f.alt[i] != 0 && f.find(text, n, at, f.alt[i], fold) {
			dst = append(dst, int32(i))
		}
	}
	return dst
}

// find reports whether needle n occurs in text, searching for byte c (the
// needle's byte at offset at, in one of its cases).
func (f *fewNeedles) find(text, n string, at int, c byte, fold bool) bool {
	for from := at; from < len(text); {
		k := strings.IndexByte(text[from:], c)
		if k < 0 {
			return false
		}
		p := from + k
		from = p + 1
		begin := p - at
		if begin+len(n) > len(text) {
			return false // every later position ends further right
		}
		if w := text[begin : begin+len(n)]; fold && equalLowerASCII(w, n) || !fold && w == n {
			return true
		}
	}
	return false
}
