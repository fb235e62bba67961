// Package token defines how text is cut into search tokens. The store indexes
// exactly these tokens (blooms, token dictionaries) and the query engine prunes
// with exactly these tokens, so the two must never disagree: a text that
// matches a term (see Match) always contains every token of PruneTokens(term).
//
// A word token is a maximal run of word bytes: ASCII letters, digits, '_' and
// every byte >= 0x80 (so UTF-8 text stays whole). ASCII letters are folded to
// lower case. Besides words, every dotted IPv4-shaped run (four runs of 1-3
// digits joined by single dots, at word boundaries) is also one token, so an
// IP needle is one rare token instead of four common ones.
//
// Tokens longer than MaxLen are not indexed and are not used for pruning.
package token

// MaxLen is the longest token that is indexed.
const MaxLen = 128

var wordByte [256]bool

func init() {
	for c := 0; c < 256; c++ {
		wordByte[c] = c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	}
}

// IsWordByte reports whether c belongs to word tokens.
func IsWordByte(c byte) bool { return wordByte[c] }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Each calls fn with every token of s, lower-cased. The slice passed to fn is
// only valid during the call. buf is scratch space (may be nil) and is
// returned for reuse. The same token may be passed more than once.
func Each(s string, buf []byte, fn func(tok []byte)) []byte {
	buf = buf[:0]
	// Positions of the last four word tokens, for IPv4 detection.
	var ds [4][2]int // start,end of recent digit tokens forming a chain
	n := 0           // length of the current dotted digit chain
	i := 0
	for i < len(s) {
		for i < len(s) && !wordByte[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		allDigits := true
		for i < len(s) && wordByte[s[i]] {
			if s[i] < '0' || s[i] > '9' {
				allDigits = false
			}
			i++
		}
		end := i
		if end-start <= MaxLen {
			buf = buf[:0]
			for j := start; j < end; j++ {
				buf = append(buf, lower(s[j]))
			}
			fn(buf)
		}
		// IPv4 chain tracking: digit tokens of length 1..3 separated by a single '.'.
		if allDigits && end-start <= 3 {
			if n > 0 && start-ds[(n-1)%4][1] == 1 && s[start-1] == '.' {
				ds[n%4] = [2]int{start, end}
				n++
			} else {
				ds[0] = [2]int{start, end}
				n = 1
			}
			if n >= 4 {
				first := ds[(n-4)%4][0]
				buf = append(buf[:0], s[first:end]...)
				fn(buf)
			}
		} else {
			n = 0
		}
	}
	return buf
}

// Tokens returns the distinct tokens of s, in order of first appearance.
func Tokens(s string) []string {
	var out []string
	seen := map[string]bool{}
	Each(s, nil, func(t []byte) {
		if !seen[string(t)] {
			seen[string(t)] = true
			out = append(out, string(t))
		}
	})
	return out
}

// PruneTokens returns tokens that every text matching the search term must
// contain. '*' and '?' in term are wildcards: tokens touching a wildcard may
// be partial in the text and are left out.
func PruneTokens(term string) []string {
	var out []string
	seen := map[string]bool{}
	start := 0
	for i := 0; i <= len(term); i++ {
		if i < len(term) && term[i] != '*' && term[i] != '?' {
			continue
		}
		piece := term[start:i]
		leftWild := start > 0
		rightWild := i < len(term)
		toks := pieceTokens(piece, leftWild, rightWild)
		for _, t := range toks {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
		start = i + 1
	}
	return out
}

// pieceTokens returns the tokens of piece, dropping a first (last) word token
// that touches the piece's start (end) when that side is next to a wildcard.
func pieceTokens(piece string, leftWild, rightWild bool) []string {
	var out []string
	Each(piece, nil, func(t []byte) {
		out = append(out, string(t))
	})
	if len(out) == 0 {
		return nil
	}
	// Each emits word tokens in order, with IPv4 tokens right after the word
	// that completes them. Recompute boundaries from the text to decide.
	if leftWild && len(piece) > 0 && wordByte[piece[0]] {
		out = dropContaining(out, piece, true)
	}
	if rightWild && len(piece) > 0 && wordByte[piece[len(piece)-1]] {
		out = dropContaining(out, piece, false)
	}
	return out
}

// dropContaining removes the tokens that include the first (atStart) or last
// word run of piece, since a wildcard next to it may extend it.
func dropContaining(toks []string, piece string, atStart bool) []string {
	var edge string
	if atStart {
		j := 0
		for j < len(piece) && wordByte[piece[j]] {
			j++
		}
		edge = lowerString(piece[:j])
	} else {
		j := len(piece)
		for j > 0 && wordByte[piece[j-1]] {
			j--
		}
		edge = lowerString(piece[j:])
	}
	out := toks[:0]
	for _, t := range toks {
		if atStart && len(t) >= len(edge) && t[:len(edge)] == edge {
			continue
		}
		if !atStart && len(t) >= len(edge) && t[len(t)-len(edge):] == edge {
			continue
		}
		out = append(out, t)
	}
	return out
}

func lowerString(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] = lower(b[i])
	}
	return string(b)
}

// Match reports whether text contains term, ignoring ASCII case, with the
// term's ends on word boundaries: an end of the term that is a word byte must
// not continue a word in text. So "fail" does not match "failed", while
// "203.0.113.77" matches "from 203.0.113.77:22". Term has no wildcards.
func Match(text, term string) bool {
	if term == "" {
		return true
	}
	n, m := len(text), len(term)
	if m > n {
		return false
	}
	first := lower(term[0])
	wantLeft := wordByte[term[0]]
	wantRight := wordByte[term[m-1]]
	for i := 0; i+m <= n; i++ {
		if lower(text[i]) != first {
			continue
		}
		if wantLeft && i > 0 && wordByte[text[i-1]] {
			continue
		}
		if wantRight && i+m < n && wordByte[text[i+m]] {
			continue
		}
		if EqualFold(text[i:i+m], term) {
			return true
		}
	}
	return false
}

// EqualFold reports whether a and b are equal ignoring ASCII case.
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}
