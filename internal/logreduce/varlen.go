package logreduce

import (
	"slices"
	"strings"
)

// Variable-length merging. Clustering compares only messages with the same
// number of words, so one event whose variables sometimes span several
// words ("0 bytes sent" and "4552 bytes (4.44 KB) sent") lands in several
// clusters. compactLengths merges two clusters with the same first word
// when the longer one is the shorter one plus optional words: variables
// without letters, and units of measure.

// maxOptional bounds how many optional words one cluster may have more
// than another (lists of variables: "delete blk_1 blk_2 ...").
const maxOptional = 256

// maxLenBucket bounds the pairwise work per first word.
const maxLenBucket = 200

func (r *Reducer) compactLengths() bool {
	byFirst := map[string][]int32{}
	for ci, c := range r.clusters {
		if c.parent == 0 && c.user == 0 && !c.exact && c.count > 0 && len(c.words) >= 3 {
			byFirst[c.words[0]] = append(byFirst[c.words[0]], int32(ci))
		}
	}
	merged := false
	for _, b := range byFirst {
		if len(b) < 2 || len(b) > maxLenBucket {
			continue
		}
		slices.SortFunc(b, func(x, y int32) int {
			if d := r.clusters[y].count - r.clusters[x].count; d != 0 {
				return int(min(max(d, -1), 1))
			}
			return int(x - y)
		})
		for i, a := range b {
			if r.clusters[a].parent != 0 {
				continue
			}
			for _, c := range b[i+1:] {
				if r.clusters[c].parent != 0 {
					continue
				}
				if r.mergeOptional(a, c) {
					merged = true
				}
			}
		}
	}
	return merged
}

// mergeOptional folds cluster c into a when one is the other plus optional
// words.
func (r *Reducer) mergeOptional(a, c int32) bool {
	ca, cc := r.clusters[a], r.clusters[c]
	long, short := ca.words, cc.words
	aLonger := len(long) > len(short)
	if !aLonger {
		long, short = short, long
	}
	if len(long)-len(short) > maxOptional {
		return false
	}
	extra, ok := alignOptional(long, short)
	if !ok {
		return false
	}
	if aLonger {
		for _, i := range extra {
			ca.words[i] = Wildcard
			ca.wild[i] = true
		}
	}
	ca.count += cc.count
	ca.base += cc.base
	for _, e := range cc.examples {
		if len(ca.examples) < r.opts.MaxExamples {
			ca.examples = append(ca.examples, e)
		}
	}
	cc.count, cc.base = 0, 0
	cc.examples = nil
	cc.parent = a + 1
	return true
}

// alignOptional matches long against short left to right, skipping
// optional words on either side, and returns the positions of long's
// skipped words; ok is false when a word that is not optional is left
// unmatched.
func alignOptional(long, short []string) (extra []int, ok bool) {
	i, j := 0, 0
	for i < len(long) || j < len(short) {
		switch {
		case i < len(long) && j < len(short) && alignEq(long[i], short[j]):
			i++
			j++
		case i > 0 && i < len(long) && optionalWord(long[i]):
			extra = append(extra, i)
			i++
		case j > 0 && j < len(short) && optionalWord(short[j]):
			j++
		default:
			return nil, false
		}
	}
	return extra, true
}

func alignEq(a, b string) bool {
	if a == b {
		return true
	}
	if a == Wildcard {
		return optionalWord(b)
	}
	if b == Wildcard {
		return optionalWord(a)
	}
	return hasWildcard(a) && hasWildcard(b) && !hasLetter(a) && !hasLetter(b)
}

func hasLetter(w string) bool {
	for i := 0; i < len(w); i++ {
		if charClass[w[i]]&clLetter != 0 {
			return true
		}
	}
	return false
}

// optionalWord reports whether w may be missing from a message without it
// being another event: a variable without letters or a unit of measure.
func optionalWord(w string) bool {
	if hasWildcard(w) {
		return !hasLetter(w)
	}
	u := strings.ToLower(strings.Trim(w, "()[]{},;:."))
	switch u {
	case "b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "bytes",
		"ms", "us", "ns", "s", "sec", "secs", "seconds", "min", "mins", "minutes", "h", "hr", "hrs", "hours", "%":
		return true
	}
	return false
}
